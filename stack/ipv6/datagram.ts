/**
 * What IPv6 hands up to a transport (after the extension headers and reassembly), what
 * a transport hands down to send, and what ICMPv6 hands up when a peer reports an
 * error about a packet we sent. The shapes follow IPv4's (`ipv4/datagram.ts`) field for
 * field where the meaning is the same, so that one TCP and one UDP can take either:
 * the addresses are `Ipv6Address` strings instead of numbers, and `addressSum` makes
 * the checksum pseudo-header the same sum for both families (`ipv6/checksum.ts`).
 */
import type { TransmitOffload } from "../offload.ts";
import { ReceivedDatagramBytes } from "../received_datagram.ts";
import type { Ipv6Address } from "./address.ts";

/** Next Header values (IANA "Assigned Internet Protocol Numbers", RFC 8200 §4). */
export const NextHeader = {
  HOP_BY_HOP: 0,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ICMPV6: 58,
  /** RFC 8200 §4.7: no upper-layer header follows. */
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
} as const;

export interface Ipv6Datagram {
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
  /** The upper-layer protocol: the Next Header value that ended the chain (6, 17, 58). */
  readonly protocol: number;
  /** The Hop Limit (RFC 8200 §3), named as IPv4's TTL for the shared transports. */
  readonly ttl: number;
  /** The whole datagram from the fixed header on (ICMPv6 errors quote it). */
  readonly packet: Uint8Array;
  /** Where the upper-layer header starts in `packet` (40 + the extension headers). */
  readonly transportStart: number;
  /** The fixed header and the extension headers, `packet[0..transportStart)`. */
  readonly header: Uint8Array;
  /** The upper-layer bytes: a view into `packet`, valid only during input. */
  readonly payload: Uint8Array;
  /** True when the destination was a multicast group, not our address alone. */
  readonly broadcast: boolean;
  /** The device vouches for the transport checksum (as `Ipv4Datagram.checksumValid`). */
  readonly checksumValid?: boolean;
  /**
   * The source and destination summed as 16-bit words, unfolded: the pseudo-header sum
   * is `addressSum + protocol + length` (`ipv6/checksum.ts`), as for IPv4.
   */
  readonly addressSum: number;
}

/** Fields an outgoing packet's IPv6 header needs; the rest have defaults. */
export interface Ipv6Send {
  /** `::` (UNSPECIFIED_IPV6) for "our address" (`Ipv6.sourceFor`). */
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
  /** The upper-layer protocol (6, 17, 58), the header's Next Header. */
  readonly protocol: number;
  /** RFC 8200 §3; the default is 64 (Linux: net.ipv6.conf.*.hop_limit). */
  readonly hopLimit?: number;
  /** RFC 6437 (`flow_label.ts`); by default TCP and UDP flows are labelled, others not. */
  readonly flowLabel?: number;
  /** RFC 8200 §7 (DSCP and ECN); 0 by default. */
  readonly trafficClass?: number;
  /**
   * Never fragment this packet here: one larger than the path MTU is dropped and
   * counted (TCP sizes its segments to the path MTU instead, RFC 8201 §5.2).
   */
  readonly dontFragment?: boolean;
  /** What the device finishes (`stack/offload.ts`), as for IPv4. */
  readonly offload?: TransmitOffload;
}

/**
 * An ICMPv6 error about a packet we sent (RFC 4443 §3), matched by ICMPv6 to the
 * transport: the same fields as IPv4's `IcmpErrorReport`, with IPv6 addresses. A Packet
 * Too Big carries the path MTU now in force as `nextHopMtu` (RFC 8201 §4), so a
 * transport that already follows RFC 1191 reports follows this one too.
 */
export interface Icmpv6ErrorReport {
  /** Addresses and ports of the packet *we* sent, as quoted back to us. */
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
  readonly protocol: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** The quoted transport bytes (at least 8): TCP checks the sequence number in them. */
  readonly quoted: Uint8Array;
  readonly error: "ECONNREFUSED" | "EHOSTUNREACH" | "ENETUNREACH" | "EMSGSIZE" | "EACCES";
  /** Packet Too Big: the path MTU to the destination from now on (≥ 1280), else 0. */
  readonly nextHopMtu: number;
  /** The ICMPv6 type and code (RFC 4443 §2.1): 1, 2, 3, 4 and their codes. */
  readonly icmpType: number;
  readonly icmpCode: number;
}

/**
 * The datagram IPv6 input hands up, one object the layer fills for every packet (as
 * `ipv4/datagram.ts` `ReceivedDatagram`): valid only during the upper layer's input.
 * `header` and `payload` are views made when first asked for.
 */
export class ReceivedIpv6Datagram extends ReceivedDatagramBytes implements Ipv6Datagram {
  source = "::" as Ipv6Address;
  destination = "::" as Ipv6Address;
  addressSum = 0;

  /** Points at the next packet: `packet` is its bytes up to the Payload Length. */
  fill(
    fields: {
      readonly source: Ipv6Address;
      readonly destination: Ipv6Address;
      readonly hopLimit: number;
      readonly broadcast: boolean;
      readonly checksumValid: boolean;
      readonly addressSum: number;
    },
    packet: Uint8Array,
    upper: { readonly protocol: number; readonly offset: number },
  ): this {
    this.source = fields.source;
    this.destination = fields.destination;
    this.ttl = fields.hopLimit;
    this.broadcast = fields.broadcast;
    this.checksumValid = fields.checksumValid;
    this.addressSum = fields.addressSum;
    this.protocol = upper.protocol;
    this.pointAt(packet, upper.offset);
    return this;
  }
}
