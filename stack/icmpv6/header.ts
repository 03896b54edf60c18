/**
 * The ICMPv6 message header (RFC 4443 §2.1). Every message starts with the same 4
 * octets; the next 4 depend on the type (identifier and sequence number for echo, the
 * MTU for Packet Too Big, a pointer for Parameter Problem, unused for the others).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Identifier (echo) / MTU (packet too big) / Pointer (param.)  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Message Body (echo data, or as much of the invoking packet as fits)
 *
 * §2.3: unlike ICMP for IPv4, the checksum also covers the IPv6 pseudo-header (RFC 8200
 * §8.1) with Next Header 58, so a message cannot be checked without its addresses.
 */
import { internetChecksum } from "../checksum.ts";
import type { Ipv6Address } from "../ipv6/address.ts";
import { ipv6PseudoHeaderSum } from "../ipv6/checksum.ts";
import { NextHeader } from "../ipv6/datagram.ts";
import { viewOf } from "../ipv6/header.ts";

export const ICMPV6_HEADER_LENGTH = 8;

// Byte offsets.
export const TYPE = 0;
export const CODE = 1;
export const CHECKSUM = 2;
/** Echo's identifier and sequence number, Packet Too Big's MTU, Parameter Problem's pointer. */
export const REST_OF_HEADER = 4;

/** RFC 4443 §2.1 message types, with those of Neighbour Discovery (RFC 4861 §4) and MLD. */
export const Icmpv6Type = {
  DESTINATION_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  /** RFC 2710 §3 (MLDv1). */
  MULTICAST_LISTENER_QUERY: 130,
  MULTICAST_LISTENER_REPORT: 131,
  MULTICAST_LISTENER_DONE: 132,
  /** RFC 4861 §4.1-4.5. */
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
  /** RFC 3810 §5.2 (MLDv2). */
  MULTICAST_LISTENER_REPORT_V2: 143,
} as const;

/** RFC 4443 §3.1 Destination Unreachable codes. */
export const Icmpv6UnreachableCode = {
  NO_ROUTE: 0,
  ADMINISTRATIVELY_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDRESS_UNREACHABLE: 3,
  PORT_UNREACHABLE: 4,
  SOURCE_POLICY_FAILED: 5,
  REJECT_ROUTE: 6,
} as const;

/** RFC 4443 §3.3 Time Exceeded codes. */
export const TimeExceededCode = { HOP_LIMIT: 0, FRAGMENT_REASSEMBLY: 1 } as const;

/** RFC 4443 §2.1: "error messages have 0 in the high-order bit of their message Type". */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

export interface Icmpv6Header {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** The 4 type-specific octets as one unsigned number. */
  readonly restOfHeader: number;
}

export type Icmpv6HeaderDrop = "icmpv6InErrors" | "icmpv6InCsumErrors";

/**
 * Parses and verifies an ICMPv6 message; returns the header or the counter to drop
 * under. `addressSum` is the datagram's (`Ipv6Datagram.addressSum`); `checksumValid`
 * skips the sum when the device vouches for it.
 */
export function parseIcmpv6Header(
  message: Uint8Array,
  addressSum: number,
  checksumValid = false,
): Icmpv6Header | Icmpv6HeaderDrop {
  // §2.1: type, code, checksum; every message we act on has the 4 octets after them.
  if (message.length < ICMPV6_HEADER_LENGTH) return "icmpv6InErrors";
  const pseudo =
    addressSum + NextHeader.ICMPV6 + (message.length >>> 16) + (message.length & 0xffff);
  if (!checksumValid && internetChecksum(message, pseudo) !== 0) return "icmpv6InCsumErrors";
  const view = viewOf(message);
  return {
    type: view.getUint8(TYPE),
    code: view.getUint8(CODE),
    checksum: view.getUint16(CHECKSUM),
    restOfHeader: view.getUint32(REST_OF_HEADER),
  };
}

/**
 * Writes type, code and the rest of the header at the front of `message` (the whole
 * ICMPv6 message, body already in place), then the checksum with the pseudo-header of
 * `source` → `destination` (§2.3).
 */
export function emitIcmpv6Header(
  message: Uint8Array,
  fields: { readonly type: number; readonly code: number; readonly restOfHeader: number },
  addresses: { readonly source: Ipv6Address; readonly destination: Ipv6Address },
): void {
  const view = viewOf(message);
  view.setUint8(TYPE, fields.type);
  view.setUint8(CODE, fields.code);
  view.setUint16(CHECKSUM, 0);
  view.setUint32(REST_OF_HEADER, fields.restOfHeader >>> 0);
  const pseudo = ipv6PseudoHeaderSum(
    addresses.source,
    addresses.destination,
    NextHeader.ICMPV6,
    message.length,
  );
  view.setUint16(CHECKSUM, internetChecksum(message, pseudo));
}
