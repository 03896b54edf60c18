/**
 * The IPv4 header (RFC 791 §3.1): named offsets into the bytes, a checked parse that
 * returns a small readonly repr or the counter to drop under, and an emit that writes a
 * header in place. Read the diagram first; every offset below is a column of it.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |Type of Service|          Total Length         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Identification        |Flags|      Fragment Offset    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Source Address                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Destination Address                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Options                    |    Padding    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { internetChecksum } from "../checksum.ts";

/** A header without options: 5 words of 32 bits. */
export const IPV4_HEADER_LENGTH = 20;
/** RFC 791 §3.1: Total Length is 16 bits, so no datagram exceeds 65,535 octets. */
export const IPV4_MAX_DATAGRAM = 65535;

// Byte offsets, one per field of the diagram.
export const VERSION_IHL = 0;
export const TYPE_OF_SERVICE = 1;
export const TOTAL_LENGTH = 2;
export const IDENTIFICATION = 4;
export const FLAGS_FRAGMENT_OFFSET = 6;
export const TIME_TO_LIVE = 8;
export const PROTOCOL = 9;
export const HEADER_CHECKSUM = 10;
export const SOURCE_ADDRESS = 12;
export const DESTINATION_ADDRESS = 16;
export const OPTIONS = 20;

// Bits of the 16-bit Flags + Fragment Offset word.
/** Bit 0: reserved, must be zero. */
export const FLAG_RESERVED = 0x8000;
/** Bit 1: Don't Fragment. */
export const FLAG_DF = 0x4000;
/** Bit 2: More Fragments. */
export const FLAG_MF = 0x2000;
/** Fragment Offset, in units of 8 octets. */
export const FRAGMENT_OFFSET_MASK = 0x1fff;

/** RFC 1122 §3.2.1.7: a host's default TTL (Linux: 64). */
export const DEFAULT_TTL = 64;

/** The parsed header; payload bytes stay in the packet (`headerLength..totalLength`). */
export interface Ipv4Header {
  readonly headerLength: number;
  readonly typeOfService: number;
  readonly totalLength: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In octets (the field times 8). */
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly source: number;
  readonly destination: number;
}

/** The same fields, writable: what `parseIpv4Header` fills in. */
export type MutableIpv4Header = { -readonly [K in keyof Ipv4Header]: Ipv4Header[K] };

/** An all-zero header for `parseIpv4Header` to fill (one per IPv4 layer, reused). */
export function emptyIpv4Header(): MutableIpv4Header {
  return {
    headerLength: 0,
    typeOfService: 0,
    totalLength: 0,
    identification: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 0,
    protocol: 0,
    source: 0,
    destination: 0,
  };
}

/** Counter names a malformed header is dropped under (RFC 4293 ipSystemStats*). */
export type Ipv4HeaderDrop = "ipInHdrErrors" | "ipInTruncatedPkts";

/** The drop reason and a detail for the trace, when parsing fails. */
export interface Ipv4ParseFailure {
  readonly reason: Ipv4HeaderDrop;
  readonly detail: string;
}

// Big-endian field access on the bytes themselves: no DataView object per packet on the
// hot path (parse and emit run once per segment).
function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function be32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function put8(b: Uint8Array, at: number, value: number): void {
  b[at] = value;
}

function put16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

export function put32(b: Uint8Array, at: number, value: number): void {
  put16(b, at, value >>> 16);
  put16(b, at + 2, value);
}

/** A DataView over exactly these bytes (respecting the Uint8Array's own byteOffset). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function failure(reason: Ipv4HeaderDrop, detail: string): Ipv4ParseFailure {
  return { reason, detail };
}

/**
 * Checks and parses the header at the front of `packet` (which may carry link padding
 * after Total Length). Returns the header, or why it must be dropped. The fields are
 * written into `into` when given (the receive path passes one header it reuses for
 * every packet, valid until the next parse: no object per packet), else a new one.
 */
export function parseIpv4Header(
  packet: Uint8Array,
  into: MutableIpv4Header = emptyIpv4Header(),
): Ipv4Header | Ipv4ParseFailure {
  if (packet.length < IPV4_HEADER_LENGTH) return failure("ipInTruncatedPkts", "shorter than 20");
  const versionIhl = packet[VERSION_IHL]!;
  if (versionIhl >>> 4 !== 4) return failure("ipInHdrErrors", "version not 4");
  // RFC 791 §3.1: IHL is in 32-bit words; "the minimum value for a correct header is 5".
  const headerLength = (versionIhl & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) return failure("ipInHdrErrors", "IHL below 5");
  const totalLength = be16(packet, TOTAL_LENGTH);
  if (totalLength < headerLength) return failure("ipInHdrErrors", "total length below IHL");
  // Longer than received is a truncated packet; shorter is link padding, trimmed later.
  if (totalLength > packet.length) return failure("ipInTruncatedPkts", "total length > bytes");
  // RFC 1122 §3.2.1.2: a host MUST verify the header checksum and silently discard on failure.
  if (internetChecksum(packet, 0, 0, headerLength) !== 0) {
    return failure("ipInHdrErrors", "bad header checksum");
  }
  if (headerLength > IPV4_HEADER_LENGTH) {
    const optionsProblem = checkOptions(packet.subarray(OPTIONS, headerLength));
    if (optionsProblem !== undefined) return failure("ipInHdrErrors", optionsProblem);
  }
  const flagsOffset = be16(packet, FLAGS_FRAGMENT_OFFSET);
  const moreFragments = (flagsOffset & FLAG_MF) !== 0;
  const fragmentOffset = (flagsOffset & FRAGMENT_OFFSET_MASK) * 8;
  const dataLength = totalLength - headerLength;
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 data octets (and some).
  if (moreFragments && (dataLength === 0 || dataLength % 8 !== 0)) {
    return failure("ipInHdrErrors", "non-final fragment not a multiple of 8");
  }
  if (fragmentOffset + dataLength + headerLength > IPV4_MAX_DATAGRAM) {
    return failure("ipInHdrErrors", "fragment ends beyond 65535");
  }
  // The reserved flag (RFC 791: "must be zero") is ignored, as Linux does: be liberal.
  into.headerLength = headerLength;
  into.typeOfService = packet[TYPE_OF_SERVICE]!;
  into.totalLength = totalLength;
  into.identification = be16(packet, IDENTIFICATION);
  into.dontFragment = (flagsOffset & FLAG_DF) !== 0;
  into.moreFragments = moreFragments;
  into.fragmentOffset = fragmentOffset;
  into.ttl = packet[TIME_TO_LIVE]!;
  into.protocol = packet[PROTOCOL]!;
  into.source = be32(packet, SOURCE_ADDRESS);
  into.destination = be32(packet, DESTINATION_ADDRESS);
  return into;
}

export function isParseFailure(result: Ipv4Header | Ipv4ParseFailure): result is Ipv4ParseFailure {
  return "reason" in result;
}

/**
 * RFC 791 §3.1 "Options": a safe walk over the option list. Two single-octet options
 * (0 End of Option List, 1 No Operation); every other option is type, length (counting
 * both), data. A length below 2 or running past the header makes the list malformed.
 * Returns what is wrong, or undefined. Options are checked here and passed up inside
 * `Ipv4Datagram.header` (RFC 1122 §3.2.1.8: "MUST be passed to the transport layer");
 * ICMP returns Record Route and Timestamp in its replies (options.ts). Source routes are
 * not reversed for replies (RFC 1122 §3.2.1.8 asks it of a host; Linux does it).
 */
export function checkOptions(options: Uint8Array): string | undefined {
  let i = 0;
  while (i < options.length) {
    const type = options[i]!;
    if (type === 0) return undefined; // End of Option List: the rest is padding.
    if (type === 1) {
      i += 1;
      continue;
    }
    if (i + 1 >= options.length) return "option length missing";
    const length = options[i + 1]!;
    if (length < 2) return "option length below 2";
    if (i + length > options.length) return "option runs past the header";
    i += length;
  }
  return undefined;
}

/** The fields `emitIpv4Header` writes. */
export interface Ipv4HeaderFields {
  readonly totalLength: number;
  readonly identification: number;
  readonly dontFragment?: boolean;
  readonly moreFragments?: boolean;
  /** In octets; must be a multiple of 8. */
  readonly fragmentOffset?: number;
  readonly ttl?: number;
  readonly typeOfService?: number;
  readonly protocol: number;
  readonly source: number;
  readonly destination: number;
  /**
   * Option octets after the fixed header, a whole number of words (only replies that
   * return Record Route or Timestamp have any: options.ts). The packet leaves room.
   */
  readonly options?: Uint8Array | undefined;
}

/**
 * Writes the header (with its checksum) at the front of `buffer`, in place: 20 bytes,
 * and the options after them if there are any.
 */
export function emitIpv4Header(buffer: Uint8Array, fields: Ipv4HeaderFields): void {
  const options = fields.options;
  const headerLength = IPV4_HEADER_LENGTH + (options?.length ?? 0);
  put8(buffer, VERSION_IHL, 0x40 | (headerLength >>> 2)); // Version 4, IHL in words.
  put8(buffer, TYPE_OF_SERVICE, fields.typeOfService ?? 0);
  put16(buffer, TOTAL_LENGTH, fields.totalLength);
  put16(buffer, IDENTIFICATION, fields.identification);
  let flagsOffset = ((fields.fragmentOffset ?? 0) / 8) & FRAGMENT_OFFSET_MASK;
  if (fields.dontFragment) flagsOffset |= FLAG_DF;
  if (fields.moreFragments) flagsOffset |= FLAG_MF;
  put16(buffer, FLAGS_FRAGMENT_OFFSET, flagsOffset);
  put8(buffer, TIME_TO_LIVE, fields.ttl ?? DEFAULT_TTL);
  put8(buffer, PROTOCOL, fields.protocol);
  put16(buffer, HEADER_CHECKSUM, 0);
  put32(buffer, SOURCE_ADDRESS, fields.source >>> 0);
  put32(buffer, DESTINATION_ADDRESS, fields.destination >>> 0);
  if (options !== undefined) buffer.set(options, OPTIONS);
  put16(buffer, HEADER_CHECKSUM, internetChecksum(buffer, 0, 0, headerLength));
}

/** Rewrites the checksum of a header (any IHL) after its fields were edited in place. */
export function refreshHeaderChecksum(header: Uint8Array): void {
  const view = viewOf(header);
  view.setUint16(HEADER_CHECKSUM, 0);
  view.setUint16(HEADER_CHECKSUM, internetChecksum(header));
}
