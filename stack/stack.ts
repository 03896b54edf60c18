/**
 * The stack: one dual-stack host's IPv4 and IPv6, ICMP and ICMPv6, UDP and TCP, with
 * no I/O of its own.
 *
 * Read this file first. Packets come in through `receive(packet, now)` and go out
 * through `transmit(packet)`, which the driver (`device/driver.ts`) points at a device.
 * Time comes in as `now`; `nextDeadline()` says when the stack next needs `poll(now)`.
 *
 *   device → receive → version 4: ipv4Input (ipv4/ipv4.ts) → icmp   / udp / tcp → sockets
 *                    → version 6: ipv6Input (ipv6/ipv6.ts) → icmpv6 / udp / tcp → sockets
 *   sockets → tcp / udp → networkFor(peer) (network.ts) → ipv4Output / ipv6Output → transmit
 *
 * There is one TCP and one UDP: each connection and endpoint reaches IPv4 or IPv6
 * through the `NetworkLayer` of its peer's family (network.ts).
 */

// Layers (filled in by their own files):
import type { Forwarder } from "./forwarding.ts";
import { Icmp } from "./icmp/icmp.ts";
import { Icmpv6 } from "./icmpv6/icmpv6.ts";
import { Ipv4 } from "./ipv4/ipv4.ts";
import { type Ipv6Address, UNSPECIFIED_IPV6 } from "./ipv6/address.ts";
import { Ipv6 } from "./ipv6/ipv6.ts";
import { type IpAddress, ipv4Network, ipv6Network, type NetworkLayer } from "./network.ts";
import { NO_OFFLOAD, type Offload, type TransmitOffload } from "./offload.ts";
import { type Entropy, type Random, randomFrom } from "./random.ts";
import { Stats } from "./stats.ts";
import { Tcp, type TcpConfig } from "./tcp/tcp.ts";
import { NO_TRACE, type Trace } from "./trace.ts";
import { Udp } from "./udp/udp.ts";

/**
 * How the stack is made. Entropy comes in as time does: `entropy`, or a seeded `random`
 * in tests; the type requires one of them.
 */
export type StackOptions = StackBaseOptions &
  ({ entropy: Entropy; random?: Random } | { random: Random; entropy?: Entropy });

interface StackBaseOptions {
  /** The stack's own address and the prefix length of its subnet. */
  address: number;
  prefixLength: number;
  /**
   * The stack's IPv6 address (e.g. fd00::2/64) and its prefix length; absent or :: for
   * a host with IPv6 off (every IPv6 packet is then not for us, dropped and counted).
   */
  address6?: Ipv6Address;
  prefixLength6?: number;
  /** The device MTU (bytes of IP packet, either family). */
  mtu: number;
  /**
   * Where secrets and seeds come from (`device/system_entropy.ts` in production), as
   * time comes in as `now`: the stack never reads the CSPRNG itself.
   */
  entropy?: Entropy;
  /** Seeded in tests so ISNs, ports and IP ids replay; drawn from `entropy` otherwise. */
  random?: Random;
  trace?: Trace;
  tcp?: Partial<TcpConfig>;
  /** What the device finishes for us (`Device.capabilities.offload`); none by default. */
  offload?: Offload;
  /** A gateway's hook for traffic to other addresses (forwarding.ts); none: a plain host. */
  forwarder?: Forwarder;
}

export class Stack {
  readonly address: number;
  readonly prefixLength: number;
  readonly address6: Ipv6Address;
  readonly prefixLength6: number;
  readonly mtu: number;
  readonly offload: Offload;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly ipv4: Ipv4;
  readonly ipv6: Ipv6;
  readonly icmp: Icmp;
  readonly icmpv6: Icmpv6;
  /** The two network layers as the transports see them (network.ts). */
  readonly inet: NetworkLayer;
  readonly inet6: NetworkLayer;
  readonly udp: Udp;
  readonly tcp: Tcp;
  readonly forwarder: Forwarder | undefined;
  /**
   * Where outgoing packets go; the driver sets it. The bytes are only valid during the
   * call. `offload` (only with `StackOptions.offload`) says what the device must finish.
   */
  transmit: (packet: Uint8Array, offload?: TransmitOffload) => void = () => {};

  constructor(options: StackOptions) {
    this.address = options.address >>> 0;
    this.prefixLength = options.prefixLength;
    this.address6 = options.address6 ?? UNSPECIFIED_IPV6;
    this.prefixLength6 = options.prefixLength6 ?? 64;
    this.mtu = options.mtu;
    this.offload = options.offload ?? NO_OFFLOAD;
    this.random = options.random ?? randomFrom(entropyOf(options));
    this.trace = options.trace ?? NO_TRACE;
    this.stats = new Stats(this.trace);
    this.forwarder = options.forwarder;
    this.ipv4 = new Ipv4(this);
    this.ipv6 = new Ipv6(this);
    this.inet = ipv4Network(this.ipv4, this);
    this.inet6 = ipv6Network(this.ipv6, this);
    this.icmp = new Icmp(this);
    this.icmpv6 = new Icmpv6(this);
    this.udp = new Udp(this);
    this.tcp = new Tcp(this, tcpConfigOf(options, this.random));
  }

  /**
   * A packet arrived from the device. Never throws: bad input is dropped and counted.
   * `checksumValid`: the device vouches for its TCP/UDP checksum (the kernel made the
   * packet on this host, `device/offload.ts`), so it is not summed again.
   */
  receive(packet: Uint8Array, now: number, checksumValid = false): void {
    // RFC 8200 §3 / RFC 791 §3.1: the first four bits are the Version. On a TUN there
    // is no link header to say which (the packet information is off), so this does.
    const version = packet.length > 0 ? packet[0]! >>> 4 : 0;
    // Anything not 6 goes to IPv4, which counts and drops what is not IPv4 either.
    if (version === 6) this.ipv6.input(packet, now, checksumValid);
    else this.ipv4.input(packet, now, checksumValid);
  }

  /** The network layer that reaches `address`: IPv4 for a number, IPv6 for text. */
  networkFor(address: IpAddress): NetworkLayer {
    return typeof address === "number" ? this.inet : this.inet6;
  }

  /**
   * The secret behind IPv6 flow labels (RFC 6437 §6.3), for the IPv6 layer's packets
   * that carry no label of their own: derived from TCP's ISN key (RFC 6528), so it draws
   * nothing from `random` (seeded tests replay) and is as secret as that key.
   */
  get flowLabelKey(): number {
    return this.tcp.isn.hash(0, 0, 0, 0, 0x666c6f77);
  }

  /** Whether IPv6 is on (the stack has an IPv6 address). */
  get hasIpv6(): boolean {
    return this.address6 !== UNSPECIFIED_IPV6;
  }

  /** Runs every timer that is due at `now` and sends whatever is owed. */
  poll(now: number): void {
    this.ipv4.poll(now);
    this.ipv6.poll(now);
    this.tcp.poll(now);
  }

  /** The earliest time at which `poll` has work to do; Infinity when idle. */
  nextDeadline(): number {
    return Math.min(this.ipv4.nextDeadline(), this.ipv6.nextDeadline(), this.tcp.nextDeadline());
  }
}

/**
 * TCP's config for this stack. The ISN key (RFC 6528 §3: a secret) comes from `entropy`
 * unless the stack was given an explicit, seeded `random`: a test that must replay
 * exactly, whose key is then drawn from it.
 */
function tcpConfigOf(options: StackOptions, random: Random): Partial<TcpConfig> {
  if (options.tcp?.isnKey !== undefined) return options.tcp;
  if (options.random === undefined) return { ...options.tcp, isnKey: entropyOf(options).bytes(8) };
  const key = new Uint8Array(8);
  const view = new DataView(key.buffer);
  view.setUint32(0, random.nextUint32());
  view.setUint32(4, random.nextUint32());
  return { ...options.tcp, isnKey: key };
}

function entropyOf(options: StackOptions): Entropy {
  if (options.entropy !== undefined) return options.entropy;
  throw new Error(
    "StackOptions needs `entropy` (device/system_entropy.ts) or a seeded `random`: the stack does not read the CSPRNG itself",
  );
}
