/**
 * The IPv6 fixed header (RFC 8200 §3): named offsets, a checked parse that returns a
 * small repr or the counter to drop under, and an emit that writes the header in place.
 * Unlike IPv4's it has no checksum and no options: those moved to the transports'
 * pseudo-header (§8.1) and to extension headers (`extension_headers.ts`).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Traffic Class |           Flow Label                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    +                         Source Address                        +
 *    |                          (128 bits)                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    +                      Destination Address                      +
 *    |                          (128 bits)                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { type Ipv6Address, readIpv6, writeIpv6 } from "./address.ts";
import { addressWordsSum } from "./checksum.ts";

/** RFC 8200 §3: 40 octets. */
export const IPV6_HEADER_LENGTH = 40;
/** RFC 8200 §3: Payload Length is 16 bits (jumbograms, RFC 2675, are not supported). */
export const IPV6_MAX_PAYLOAD = 65535;
/** RFC 8200 §5: the minimum link MTU, which every path carries. */
export const IPV6_MINIMUM_MTU = 1280;
/** A host's default Hop Limit (RFC 8200 §3; Linux net.ipv6.conf.*.hop_limit = 64). */
export const DEFAULT_HOP_LIMIT = 64;

// Byte offsets, one per field of the diagram.
export const VERSION_CLASS_LABEL = 0;
export const PAYLOAD_LENGTH = 4;
export const NEXT_HEADER = 6;
export const HOP_LIMIT = 7;
export const SOURCE_ADDRESS = 8;
export const DESTINATION_ADDRESS = 24;

export interface Ipv6Header {
  readonly trafficClass: number;
  /** 20 bits (RFC 6437). */
  readonly flowLabel: number;
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
}

/** Why a header was refused: the counter (RFC 4293 names with the ipv6 prefix) and a detail. */
export interface Ipv6ParseFailure {
  readonly reason: "ipv6InHdrErrors" | "ipv6InTruncatedPkts";
  readonly detail: string;
}

export function isIpv6ParseFailure(x: Ipv6Header | Ipv6ParseFailure): x is Ipv6ParseFailure {
  return "reason" in x;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Checks and reads the fixed header. Bytes past Payload Length are link padding and
 * are the caller's to trim; fewer bytes than it promises are a truncated packet.
 */
export function parseIpv6Header(packet: Uint8Array): Ipv6Header | Ipv6ParseFailure {
  if (packet.length < IPV6_HEADER_LENGTH) {
    return { reason: "ipv6InTruncatedPkts", detail: `${packet.length} octets, under 40` };
  }
  const view = viewOf(packet);
  const first = view.getUint32(VERSION_CLASS_LABEL);
  if (first >>> 28 !== 6) return { reason: "ipv6InHdrErrors", detail: `version ${first >>> 28}` };
  const payloadLength = view.getUint16(PAYLOAD_LENGTH);
  if (payloadLength === 0 && view.getUint8(NEXT_HEADER) === 0) {
    // RFC 2675 §3: a zero Payload Length with a Jumbo Payload option; we take none.
    return { reason: "ipv6InHdrErrors", detail: "jumbogram (payload length 0)" };
  }
  if (IPV6_HEADER_LENGTH + payloadLength > packet.length) {
    return {
      reason: "ipv6InTruncatedPkts",
      detail: `payload length ${payloadLength} but ${packet.length - IPV6_HEADER_LENGTH} octets`,
    };
  }
  return {
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader: view.getUint8(NEXT_HEADER),
    hopLimit: view.getUint8(HOP_LIMIT),
    source: readIpv6(packet, SOURCE_ADDRESS),
    destination: readIpv6(packet, DESTINATION_ADDRESS),
  };
}

/** The words of the source and destination of a packet, summed: `Ipv6Datagram.addressSum`. */
export function packetAddressSum(packet: Uint8Array): number {
  return addressWordsSum(packet, SOURCE_ADDRESS) + addressWordsSum(packet, DESTINATION_ADDRESS);
}

/** Writes a fixed header into the first 40 octets of `packet`. */
export function emitIpv6Header(packet: Uint8Array, header: Ipv6Header): void {
  const view = viewOf(packet);
  view.setUint32(
    VERSION_CLASS_LABEL,
    ((6 << 28) | ((header.trafficClass & 0xff) << 20) | (header.flowLabel & 0xfffff)) >>> 0,
  );
  view.setUint16(PAYLOAD_LENGTH, header.payloadLength);
  view.setUint8(NEXT_HEADER, header.nextHeader);
  view.setUint8(HOP_LIMIT, header.hopLimit);
  writeIpv6(header.source, packet, SOURCE_ADDRESS);
  writeIpv6(header.destination, packet, DESTINATION_ADDRESS);
}
