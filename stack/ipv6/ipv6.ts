/**
 * The IPv6 layer of a host (RFC 8200). INTERFACE FIRST: this commit fixes the shape the
 * rest of the stack builds on; the behaviour follows.
 */
import type { Offload, TransmitOffload } from "../offload.ts";
import type { Random } from "../random.ts";
import type { Stats } from "../stats.ts";
import type { Trace } from "../trace.ts";
import { type Ipv6Address, UNSPECIFIED_IPV6 } from "./address.ts";
import type { Icmpv6ErrorReport, Ipv6Datagram, Ipv6Send } from "./datagram.ts";

export type { Icmpv6ErrorReport, Ipv6Datagram, Ipv6Send } from "./datagram.ts";
export { NextHeader } from "./datagram.ts";

/** RFC 8200 §3: the fixed header is 40 octets; transports leave this much headroom. */
export const IPV6_HEADER_LENGTH = 40;
/** RFC 8200 §5: every link carries 1280-octet packets. */
export const IPV6_MINIMUM_MTU = 1280;

/** What the ICMPv6 layer offers IPv6 and the transports (`icmpv6/icmpv6.ts` implements it). */
export interface Icmpv6Errors {
  input(d: Ipv6Datagram, now: number): void;
  /** RFC 4443 §3.1, codes in `Icmpv6UnreachableCode` (UDP sends 4, port unreachable). */
  sendDestinationUnreachable(d: Ipv6Datagram, code: number, now: number): void;
  /** RFC 4443 §3.3 (code 1: fragment reassembly time exceeded). */
  sendTimeExceeded(d: Ipv6Datagram, code: number, now: number): void;
  /** RFC 4443 §3.4: `pointer` is the offset of the problem in `d.packet`. */
  sendParameterProblem(d: Ipv6Datagram, code: number, pointer: number, now: number): void;
}

/** What the IPv6 layer needs from the stack around it (the `Stack` provides all of it). */
export interface Ipv6Host {
  /** Our unicast address (e.g. fd00::2) and its prefix length. */
  readonly address6: Ipv6Address;
  readonly prefixLength6: number;
  /** The device MTU (bytes of IP packet); IPv6 needs at least 1280. */
  readonly mtu: number;
  readonly offload?: Offload;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly transmit: (packet: Uint8Array, offload?: TransmitOffload) => void;
  readonly icmpv6: Icmpv6Errors;
  /** The transports take both families through the same entry points. */
  readonly udp: { input(d: Ipv6Datagram, now: number): void };
  readonly tcp: { input(d: Ipv6Datagram, now: number): void };
}

export class Ipv6 {
  constructor(private readonly host: Ipv6Host) {}

  /**
   * A packet from the link (its first nibble is 6). Never throws: whatever is wrong is
   * dropped and counted. `checksumValid`: the device vouches for the transport checksum.
   */
  input(packet: Uint8Array, now: number, checksumValid = false): void {
    void packet;
    void now;
    void checksumValid;
    this.host.stats.count("ipv6InReceives");
  }

  /**
   * Sends one datagram. `packet` starts with IPV6_HEADER_LENGTH bytes of headroom,
   * followed by the upper-layer bytes (checksum already in place, computed with
   * `ipv6PseudoHeaderSum(sourceFor(destination), destination, ...)`). Fragmented to the
   * path MTU unless `send.dontFragment`. The bytes are ours only during the call.
   */
  output(packet: Uint8Array, send: Ipv6Send): void {
    void packet;
    void send;
  }

  /** The source address for a packet to `destination` (we have one address). */
  sourceFor(destination: Ipv6Address): Ipv6Address {
    void destination;
    return this.host.address6 ?? UNSPECIFIED_IPV6;
  }

  /** RFC 8201: the largest packet that reaches `destination` unfragmented (≥ 1280). */
  pathMtu(destination: Ipv6Address, now?: number): number {
    void destination;
    void now;
    return Math.max(this.host.mtu, IPV6_MINIMUM_MTU);
  }

  /**
   * A Packet Too Big said `mtu` for `destination` (ICMPv6 calls this). Returns the path
   * MTU now in force (never below 1280, RFC 8201 §4).
   */
  lowerPathMtu(destination: Ipv6Address, mtu: number, now: number): number {
    void destination;
    void now;
    return Math.max(mtu, IPV6_MINIMUM_MTU);
  }

  /** Reassembly timeouts (and Time Exceeded for them); path MTU aging. */
  poll(now: number): void {
    void now;
  }

  nextDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }
}

/** For the transports: how the Icmpv6 layer hands them errors (as ICMP does for IPv4). */
export type Icmpv6ErrorSink = { icmpError(report: Icmpv6ErrorReport, now: number): void };
