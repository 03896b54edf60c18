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

/** The same fields, writable: what `parseIpv6Header` fills in when given one. */
export type MutableIpv6Header = { -readonly [K in keyof Ipv6Header]: Ipv6Header[K] };

/** A header for `parseIpv6Header` to fill (one per IPv6 layer, reused). */
export function emptyIpv6Header(): MutableIpv6Header {
  const none = "::" as Ipv6Address;
  return {
    trafficClass: 0,
    flowLabel: 0,
    payloadLength: 0,
    nextHeader: 0,
    hopLimit: 0,
    source: none,
    destination: none,
  };
}

/**
 * Checks and reads the fixed header, into `into` when given (no object per packet).
 * Bytes past Payload Length are link padding and are the caller's to trim; fewer bytes
 * than it promises are a truncated packet.
 */
export function parseIpv6Header(
  packet: Uint8Array,
  into: MutableIpv6Header = emptyIpv6Header(),
): Ipv6Header | Ipv6ParseFailure {
  if (packet.length < IPV6_HEADER_LENGTH) {
    return { reason: "ipv6InTruncatedPkts", detail: `${packet.length} octets, under 40` };
  }
  const version = packet[VERSION_CLASS_LABEL]! >>> 4;
  if (version !== 6) return { reason: "ipv6InHdrErrors", detail: `version ${version}` };
  const payloadLength = (packet[PAYLOAD_LENGTH]! << 8) | packet[PAYLOAD_LENGTH + 1]!;
  const nextHeader = packet[NEXT_HEADER]!;
  if (payloadLength === 0 && nextHeader === 0) {
    // RFC 2675 §3: a zero Payload Length with a Jumbo Payload option; we take none.
    return { reason: "ipv6InHdrErrors", detail: "jumbogram (payload length 0)" };
  }
  if (IPV6_HEADER_LENGTH + payloadLength > packet.length) {
    return {
      reason: "ipv6InTruncatedPkts",
      detail: `payload length ${payloadLength} but ${packet.length - IPV6_HEADER_LENGTH} octets`,
    };
  }
  into.trafficClass = ((packet[0]! & 0x0f) << 4) | (packet[1]! >>> 4);
  into.flowLabel = ((packet[1]! & 0x0f) << 16) | (packet[2]! << 8) | packet[3]!;
  into.payloadLength = payloadLength;
  into.nextHeader = nextHeader;
  into.hopLimit = packet[HOP_LIMIT]!;
  into.source = readIpv6(packet, SOURCE_ADDRESS);
  into.destination = readIpv6(packet, DESTINATION_ADDRESS);
  return into;
}

/** The words of the source and destination of a packet, summed: `Ipv6Datagram.addressSum`. */
export function packetAddressSum(packet: Uint8Array): number {
  return addressWordsSum(packet, SOURCE_ADDRESS) + addressWordsSum(packet, DESTINATION_ADDRESS);
}

/** Writes a fixed header into the first 40 octets of `packet`. */
export function emitIpv6Header(packet: Uint8Array, header: Ipv6Header): void {
  // Byte by byte rather than through a DataView: this runs for every packet we send.
  const { trafficClass, flowLabel, payloadLength } = header;
  packet[VERSION_CLASS_LABEL] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  packet[1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  packet[2] = (flowLabel >>> 8) & 0xff;
  packet[3] = flowLabel & 0xff;
  packet[PAYLOAD_LENGTH] = payloadLength >>> 8;
  packet[PAYLOAD_LENGTH + 1] = payloadLength & 0xff;
  packet[NEXT_HEADER] = header.nextHeader;
  packet[HOP_LIMIT] = header.hopLimit;
  writeIpv6(header.source, packet, SOURCE_ADDRESS);
  writeIpv6(header.destination, packet, DESTINATION_ADDRESS);
}
