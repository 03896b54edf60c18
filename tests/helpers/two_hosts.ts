/**
 * Two whole stacks joined by a simulated link (`device/memory_link.ts`) on a
 * VirtualClock, each driven by `device/driver.ts`: after every batch of packets, every
 * timer and every `service()` the stack is polled and one timer re-armed at its next
 * deadline. Time moves only when the test advances the clock.
 *
 *   A 10.0.0.1 ── memory link (seeded faults) ── B 10.0.0.2
 *     fd00::1                                       fd00::2   (both dual-stack)
 *
 * The other two-host harnesses are built on this one and add a socket API:
 * `socket_hosts.ts` (A and B swapped: A is 10.0.0.2, as the sockets tests' fake stack)
 * and `tests/examples/two_hosts.ts` (for the sample programs).
 */

import { attachDriver, type Driver, type DriverOptions } from "../../device/driver.ts";
import type { FaultOptions } from "../../device/faults.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../../device/memory_link.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { parseIpv6 } from "../../stack/ipv6/address.ts";
import type { AddressFamily, IpAddress } from "../../stack/network.ts";
import { Random } from "../../stack/random.ts";
import { Stack, type StackOptions } from "../../stack/stack.ts";
import type { TcpConfig } from "../../stack/tcp/tcp.ts";

export const ADDRESS_A = parseIpv4("10.0.0.1")!;
export const ADDRESS_B = parseIpv4("10.0.0.2")!;
export const ADDRESS6_A = parseIpv6("fd00::1")!;
export const ADDRESS6_B = parseIpv6("fd00::2")!;

/** A's and B's addresses in `family`: a test over IPv6 is the IPv4 test with these. */
export function addressesOf(family: AddressFamily): { a: IpAddress; b: IpAddress } {
  return family === "inet" ? { a: ADDRESS_A, b: ADDRESS_B } : { a: ADDRESS6_A, b: ADDRESS6_B };
}

export interface Host {
  readonly stack: Stack;
  readonly device: MemoryLinkEnd;
  /** Poll now and re-arm: call after a user call (what the socket layer's kick does). */
  service(): void;
}

/** A host of `twoHosts`: also its driver, whose `kick` a socket API takes. */
export interface DrivenHost extends Host {
  readonly driver: Driver;
}

export interface TwoHosts {
  readonly clock: VirtualClock;
  readonly a: Host;
  readonly b: Host;
}

export interface TwoDrivenHosts extends TwoHosts {
  readonly a: DrivenHost;
  readonly b: DrivenHost;
}

export interface TwoHostsOptions {
  seed?: number;
  faults?: FaultOptions;
  reverseFaults?: FaultOptions;
  mtu?: number;
  queueBytes?: number;
  tcpA?: Partial<TcpConfig>;
  tcpB?: Partial<TcpConfig>;
  /** Where the virtual clock starts. Default 1 000 000 ms. */
  startMs?: number;
  /**
   * Overrides of each host's `StackOptions` (address, random, trace). Defaults: A is
   * ADDRESS_A with `Random(2·seed + 1)`, B is ADDRESS_B with `Random(2·seed + 2)`.
   */
  stackA?: Partial<StackOptions>;
  stackB?: Partial<StackOptions>;
  /** The drivers' options. Default: a stack that throws fails the test (rethrown). */
  driver?: DriverOptions;
}

export function twoHosts(options: TwoHostsOptions = {}): TwoDrivenHosts {
  const clock = new VirtualClock(options.startMs ?? 1_000_000);
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
    address6: ADDRESS6_A,
    prefixLength6: 64,
    mtu,
    random: new Random(seed * 2 + 1),
    tcp: options.tcpA ?? {},
    ...options.stackA,
  });
  const stackB = new Stack({
    address: ADDRESS_B,
    prefixLength: 24,
    address6: ADDRESS6_B,
    prefixLength6: 64,
    mtu,
    random: new Random(seed * 2 + 2),
    tcp: options.tcpB ?? {},
    ...options.stackB,
  });
  const driverOptions = options.driver ?? { onError: rethrow };
  return {
    clock,
    a: drive(stackA, endA, clock, driverOptions),
    b: drive(stackB, endB, clock, driverOptions),
  };
}

function rethrow(error: unknown): never {
  throw error;
}

/** The real driver (`device/driver.ts`); `service` is its synchronous poll-and-re-arm. */
function drive(
  stack: Stack,
  device: MemoryLinkEnd,
  clock: VirtualClock,
  options: DriverOptions,
): DrivenHost {
  const driver = attachDriver(stack, device, clock, options);
  return { stack, device, driver, service: driver.service };
}
