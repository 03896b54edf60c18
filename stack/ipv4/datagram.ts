/**
 * What IPv4 hands up to a transport (after validation and reassembly), and what ICMP
 * hands up when a peer reports an error about a packet we sent.
 */

import type { TransmitOffload } from "../offload.ts";
import { ReceivedDatagramBytes } from "../received_datagram.ts";
import type { Ipv4Header } from "./header.ts";

/** IP protocol numbers (IANA), as used in the IPv4 Protocol field (RFC 791 §3.1). */
export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export interface Ipv4Datagram {
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  readonly ttl: number;
  /** The IP header bytes as received (ICMP errors quote it). */
  readonly header: Uint8Array;
  /** The transport bytes: a view into the received packet, valid only during input. */
  readonly payload: Uint8Array;
  /** True when the destination was a broadcast or multicast address, not ours alone. */
  readonly broadcast: boolean;
  /**
   * The device vouches for the transport checksum (TCP, UDP): the packet was made on this
   * host and never crossed a wire (a TUN packet the kernel marked NEEDS_CSUM or
   * DATA_VALID, see `device/offload.ts`), so the transport need not sum it again. Absent
   * or false: verify it.
   */
  readonly checksumValid?: boolean;
}

/**
 * The datagram IPv4 input hands up, as one object the IPv4 layer fills for every packet
 * instead of a new one each time. Like the bytes it points into, it is valid only during
 * the transport's input; a transport that kept it would see the next packet. `header`
 * and `payload` are views made when first asked for: TCP reads its bytes straight from
 * `packet` at `transportStart` (no view per segment), and only ICMP errors quote the
 * header.
 */
export class ReceivedDatagram extends ReceivedDatagramBytes implements Ipv4Datagram {
  source = 0;
  destination = 0;

  /** Points at the next packet: `datagram` is its bytes up to Total Length. */
  fill(header: Ipv4Header, datagram: Uint8Array, broadcast: boolean, checksumValid: boolean): this {
    this.source = header.source;
    this.destination = header.destination;
    this.protocol = header.protocol;
    this.ttl = header.ttl;
    this.pointAt(datagram, header.headerLength);
    this.broadcast = broadcast;
    this.checksumValid = checksumValid;
    return this;
  }
}

/** Fields an outgoing packet's IPv4 header needs; the rest have defaults. */
export interface Ipv4Send {
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  /** DF bit (RFC 791 §3.1); TCP sets it (RFC 1191 path MTU discovery). */
  readonly dontFragment?: boolean;
  /** Time to Live (RFC 791 §3.1); 64 when absent (IP_TTL). */
  readonly ttl?: number;
  /** The Type of Service octet, now DSCP and ECN (RFC 2474, RFC 3168); 0 when absent (IP_TOS). */
  readonly typeOfService?: number;
  /**
   * What the device finishes (`stack/offload.ts`). A DF packet with a `segmentSize`
   * may exceed the MTU when the device segments: it leaves as MTU-sized pieces.
   */
  readonly offload?: TransmitOffload;
  /**
   * IP options (options.ts), a whole number of words; the packet then has room for them
   * after the 20 fixed octets. A datagram that must be fragmented leaves without them.
   */
  readonly options?: Uint8Array;
}

/** A destination-unreachable or similar report, matched by ICMP to the transport. */
export interface IcmpErrorReport {
  /** Addresses and ports of the packet *we* sent, as quoted back to us. */
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** The quoted transport bytes (at least 8): TCP checks the sequence number in them. */
  readonly quoted: Uint8Array;
  readonly error: "ECONNREFUSED" | "EHOSTUNREACH" | "ENETUNREACH" | "EMSGSIZE";
  /** For "fragmentation needed" (RFC 1191): the next-hop MTU, else 0. */
  readonly nextHopMtu: number;
  /**
   * The ICMP message's type and code (RFC 792): 3 destination unreachable, 11 time
   * exceeded, 12 parameter problem. Lets a transport tell soft errors from hard ones
   * (RFC 1122 §4.2.3.9). Optional so that hand-made reports need not set them.
   */
  readonly icmpType?: number;
  readonly icmpCode?: number;
}
