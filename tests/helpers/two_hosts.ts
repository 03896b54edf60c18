/**
 * Two whole stacks joined by a simulated link (`device/memory_link.ts`) on a
 * VirtualClock, each driven by `device/driver.ts`: after every batch of packets, every
 * timer and every `service()` the stack is polled and one timer re-armed at its next
 * deadline. Time moves only when the test advances the clock.
 *
 *   A 10.0.0.1 ── memory link (seeded faults) ── B 10.0.0.2
 */

import { attachDriver } from "../../device/driver.ts";
import type { FaultOptions } from "../../device/faults.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../../device/memory_link.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { VirtualClock } from "../../stack/clock.ts";
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

/**
 * The real driver (`device/driver.ts`); `service` is its synchronous poll-and-re-arm, and
 * a stack that throws fails the test instead of being logged.
 */
function drive(stack: Stack, device: MemoryLinkEnd, clock: VirtualClock): Host {
  const driver = attachDriver(stack, device, clock, {
    onError: (error) => {
      throw error;
    },
  });
  return { stack, device, service: driver.service };
}
