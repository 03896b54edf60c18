/**
 * `createHostPair(options)`: two hosts joined by a simulated link in memory
 * (device/memory_link.ts), on the wall clock: no TUN, no root, nothing leaves the
 * process. A test or a learner runs a whole client and server on our TCP, each with its
 * own stack, optionally over a lossy, reordering, slow link (device/faults.ts).
 *
 *   a 10.0.0.1 ── memory link (seeded faults) ── b 10.0.0.2
 *
 * @example
 * const [a, b] = createHostPair({ faults: { loss: 0.01, delayMs: 2 } });
 * b.net.createServer((s) => s.pipe(s)).listen(7);
 * const socket = a.net.connect(7, b.address);
 */
import { attachDriver } from "../device/driver.ts";
import type { FaultOptions } from "../device/faults.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../device/memory_link.ts";
import { RealClock } from "../device/real_clock.ts";
import { systemEntropy } from "../device/system_entropy.ts";
import { formatIpv4, parseCidr } from "../stack/address.ts";
import type { Clock } from "../stack/clock.ts";
import { parseIpv6 } from "../stack/ipv6/address.ts";
import { Random } from "../stack/random.ts";
import { Stack } from "../stack/stack.ts";
import type { TcpConfig } from "../stack/tcp/tcp.ts";
import { createFaces } from "./faces.ts";
import type { TcpHost } from "./host.ts";

export interface HostPairOptions {
  /** Host a's and b's addresses with the link's prefix (defaults 10.0.0.1/24, 10.0.0.2/24). */
  addressA?: string;
  addressB?: string;
  /** Their IPv6 addresses on a /64 (defaults fd00::1 and fd00::2: the pair is dual-stack). */
  address6A?: string;
  address6B?: string;
  mtu?: number;
  /** Faults on both directions (or a→b only when `reverseFaults` is given). */
  faults?: FaultOptions;
  reverseFaults?: FaultOptions;
  /** Seeds the link's faults and the stacks' ISNs and ports, so a run replays. */
  seed?: number;
  /** TCP settings of both stacks (buffer sizes, congestion control, ...). */
  tcp?: Partial<TcpConfig>;
  /**
   * The clock (default: the wall clock). A `VirtualClock` (stack/clock.ts) that the caller
   * advances makes a lossy transfer run in an instant and replay exactly.
   */
  clock?: Clock;
}

/** A host of a pair: a TcpHost that also says its address. */
export interface PairedHost extends TcpHost {
  readonly address: string;
  /** Its IPv6 address, e.g. "fd00::2". */
  readonly address6: string;
  readonly device: MemoryLinkEnd;
}

export function createHostPair(options: HostPairOptions = {}): [PairedHost, PairedHost] {
  const clock = options.clock ?? new RealClock();
  const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  // Seeded: ISNs, ports and ids replay; else drawn from the system's entropy, as a host's.
  const randomA = options.seed === undefined ? undefined : new Random(seed * 2 + 1);
  const randomB = options.seed === undefined ? undefined : new Random(seed * 2 + 2);
  const mtu = options.mtu ?? 1500;
  const [endA, endB] = createMemoryLink(clock, {
    seed,
    mtu,
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
    ...(options.reverseFaults !== undefined ? { reverseFaults: options.reverseFaults } : {}),
  });
  const a = pairedHost(endA, clock, {
    cidr: options.addressA ?? "10.0.0.1/24",
    address6: options.address6A ?? "fd00::1",
    mtu,
    random: randomA,
    tcp: options.tcp ?? {},
  });
  const b = pairedHost(endB, clock, {
    cidr: options.addressB ?? "10.0.0.2/24",
    address6: options.address6B ?? "fd00::2",
    mtu,
    random: randomB,
    tcp: options.tcp ?? {},
  });
  return [a, b];
}

function pairedHost(
  device: MemoryLinkEnd,
  clock: Clock,
  options: {
    cidr: string;
    address6: string;
    mtu: number;
    random: Random | undefined;
    tcp: Partial<TcpConfig>;
  },
): PairedHost {
  const cidr = parseCidr(options.cidr);
  if (cidr === undefined) {
    throw new TypeError(`${options.cidr} is not an IPv4 address with a prefix, like 10.0.0.1/24`);
  }
  const address6 = parseIpv6(options.address6);
  if (address6 === undefined) {
    throw new TypeError(`${options.address6} is not an IPv6 address, like fd00::1`);
  }
  const stack = new Stack({
    address: cidr.address,
    prefixLength: cidr.prefixLength,
    address6,
    mtu: options.mtu,
    ...(options.random === undefined ? { entropy: systemEntropy } : { random: options.random }),
    tcp: { ackPerBurst: true, ...options.tcp },
  });
  const driver = attachDriver(stack, device, clock);
  let closing: Promise<void> | undefined;
  return {
    ...createFaces(stack, clock, driver.kick),
    stack,
    clock,
    device,
    address: formatIpv4(cidr.address),
    address6,
    close: () => (closing ??= driver.close()),
  };
}
