/**
 * The ICMP message header (RFC 792). Every message starts with the same 8 octets; the
 * last 4 ("rest of header") depend on the type: identifier and sequence number for echo,
 * unused (or the next-hop MTU, RFC 1191 §4) for destination unreachable.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Identifier (echo)         |     Sequence Number (echo)    |
 *    |     unused (unreachable)      |     Next-Hop MTU (code 4)     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Data ... (echo data, or the offending IP header + 64 bits)
 *    +-+-+-+-+-
 *
 * The checksum covers the whole ICMP message, type through data (RFC 792).
 */
import { internetChecksum } from "../checksum.ts";
import { viewOf } from "../ipv4/header.ts";

export const ICMP_HEADER_LENGTH = 8;

// Byte offsets.
export const TYPE = 0;
export const CODE = 1;
export const CHECKSUM = 2;
export const IDENTIFIER = 4;
export const SEQUENCE_NUMBER = 6;
export const NEXT_HOP_MTU = 6;

/** RFC 792 message types. */
export const IcmpType = {
  ECHO_REPLY: 0,
  DESTINATION_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

/** RFC 792 destination unreachable codes (with RFC 1122 §3.2.2.1's additions). */
export const UnreachableCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAGMENTATION_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
} as const;

/** RFC 1122 §3.2.2: the error messages (as opposed to queries like echo). */
export function isIcmpError(type: number): boolean {
  return (
    type === IcmpType.DESTINATION_UNREACHABLE ||
    type === IcmpType.SOURCE_QUENCH ||
    type === IcmpType.REDIRECT ||
    type === IcmpType.TIME_EXCEEDED ||
    type === IcmpType.PARAMETER_PROBLEM
  );
}

export interface IcmpHeader {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** The 4 type-specific octets as one number; see `identifier`/`sequenceNumber`. */
  readonly restOfHeader: number;
}

export type IcmpHeaderDrop = "icmpInErrors" | "icmpInCsumErrors";

/** Parses and verifies an ICMP message; returns the header or the counter to drop under. */
export function parseIcmpHeader(message: Uint8Array): IcmpHeader | IcmpHeaderDrop {
  if (message.length < ICMP_HEADER_LENGTH) return "icmpInErrors";
  if (internetChecksum(message) !== 0) return "icmpInCsumErrors";
  const view = viewOf(message);
  return {
    type: view.getUint8(TYPE),
    code: view.getUint8(CODE),
    checksum: view.getUint16(CHECKSUM),
    restOfHeader: view.getUint32(IDENTIFIER),
  };
}

/** Echo's identifier (high half of the rest of the header). */
export function identifier(header: IcmpHeader): number {
  return header.restOfHeader >>> 16;
}

/** Echo's sequence number, or unreachable's next-hop MTU (low half). */
export function sequenceNumber(header: IcmpHeader): number {
  return header.restOfHeader & 0xffff;
}

/**
 * Writes type, code and rest of header at the front of `message` (the whole ICMP
 * message, data already in place after 8 octets) and then its checksum.
 */
export function emitIcmpHeader(
  message: Uint8Array,
  fields: { readonly type: number; readonly code: number; readonly restOfHeader: number },
): void {
  const view = viewOf(message);
  view.setUint8(TYPE, fields.type);
  view.setUint8(CODE, fields.code);
  view.setUint16(CHECKSUM, 0);
  view.setUint32(IDENTIFIER, fields.restOfHeader >>> 0);
  view.setUint16(CHECKSUM, internetChecksum(message));
}
