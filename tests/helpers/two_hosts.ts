/**
 * Two whole stacks joined by a simulated link (`device/memory_link.ts`) on a
 * VirtualClock, each driven by a small synchronous driver: after every batch of packets,
 * every timer and every `service()` the stack is polled and one timer re-armed at its
 * next deadline. Time moves only when the test advances the clock.
 *
 *   A 10.0.0.1 ── memory link (seeded faults) ── B 10.0.0.2
 */

import type { FaultOptions } from "../../device/faults.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../../device/memory_link.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { type Timer, VirtualClock } from "../../stack/clock.ts";
import { Random } from "../../stack/random.ts";
import { Stack } from "../../stack/stack.ts";
import type { TcpConfig } from "../../stack/tcp/tcp.ts";

export const ADDRESS_A = parseIpv4("10.0.0.1")!;
export const ADDRESS_B = parseIpv4("10.0.0.2")!;

export interface Host {
  readonly stack: Stack;
  readonly device: MemoryLinkEnd;
  /** Poll now and re-arm: call after a user call (what the socket layer's kick does). */
  service(): void;
}

export interface TwoHosts {
  readonly clock: VirtualClock;
  readonly a: Host;
  readonly b: Host;
}

export interface TwoHostsOptions {
  seed?: number;
  faults?: FaultOptions;
  reverseFaults?: FaultOptions;
  mtu?: number;
  queueBytes?: number;
  tcpA?: Partial<TcpConfig>;
  tcpB?: Partial<TcpConfig>;
}

export function twoHosts(options: TwoHostsOptions = {}): TwoHosts {
  const clock = new VirtualClock(1_000_000);
  const seed = options.seed ?? 1;
  const mtu = options.mtu ?? 1500;
  const [endA, endB] = createMemoryLink(clock, {
    seed,
    mtu,
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
    ...(options.reverseFaults !== undefined ? { reverseFaults: options.reverseFaults } : {}),
    ...(options.queueBytes !== undefined ? { queueBytes: options.queueBytes } : {}),
  });
  const stackA = new Stack({
    address: ADDRESS_A,
    prefixLength: 24,
    mtu,
    random: new Random(seed * 2 + 1),
    tcp: options.tcpA ?? {},
  });
  const stackB = new Stack({
    address: ADDRESS_B,
    prefixLength: 24,
    mtu,
    random: new Random(seed * 2 + 2),
    tcp: options.tcpB ?? {},
  });
  return { clock, a: drive(stackA, endA, clock), b: drive(stackB, endB, clock) };
}

/** A synchronous driver: the same poll/re-arm loop as device/driver.ts, without microtasks. */
function drive(stack: Stack, device: MemoryLinkEnd, clock: VirtualClock): Host {
  let timer: Timer | undefined;
  let armedAt = Number.POSITIVE_INFINITY;
  const service = () => {
    stack.poll(clock.now());
    const deadline = Math.max(stack.nextDeadline(), clock.now());
    if (deadline === armedAt) return;
    timer?.cancel();
    timer = undefined;
    armedAt = deadline;
    if (deadline === Number.POSITIVE_INFINITY) return;
    timer = clock.at(deadline, () => {
      timer = undefined;
      armedAt = Number.POSITIVE_INFINITY;
      service();
    });
  };
  stack.transmit = (packet) => device.send(packet);
  device.onReceive((packet) => stack.receive(packet, clock.now()), service);
  return { stack, device, service };
}
