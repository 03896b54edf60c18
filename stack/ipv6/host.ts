/**
 * What the IPv6 layer needs from the stack around it, and what it needs of ICMPv6: the
 * `Stack` provides all of it (a test provides stand-ins, tests/stack/ipv6/fixtures).
 */
import type { Offload, TransmitOffload } from "../offload.ts";
import type { Random } from "../random.ts";
import type { Stats } from "../stats.ts";
import type { Trace } from "../trace.ts";
import type { Ipv6Address } from "./address.ts";
import type { Ipv6Datagram } from "./datagram.ts";
import type { PathMtuLimits } from "./path_mtu.ts";
import type { Ipv6ReassemblyLimits } from "./reassembly.ts";

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
  /** The device MTU (bytes of IP packet); IPv6 needs at least 1280 (RFC 8200 §5). */
  readonly mtu: number;
  readonly offload?: Offload;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly transmit: (packet: Uint8Array, offload?: TransmitOffload) => void;
  readonly icmpv6: Icmpv6Errors;
  /**
   * The secret for flow labels (RFC 6437); absent, one is drawn from `random` when the
   * first TCP or UDP packet leaves.
   */
  readonly flowLabelKey?: number;
  /** The transports take both families through the same entry points. */
  readonly udp: { input(d: Ipv6Datagram, now: number): void };
  readonly tcp: { input(d: Ipv6Datagram, now: number): void };
}

export interface Ipv6Limits {
  reassembly?: Partial<Ipv6ReassemblyLimits>;
  pathMtu?: Partial<PathMtuLimits>;
}
