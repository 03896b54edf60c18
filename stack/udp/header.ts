/**
 * The UDP header (RFC 768):
 *
 *     0      7 8     15 16    23 24    31
 *    +--------+--------+--------+--------+
 *    |     Source      |   Destination   |
 *    |      Port       |      Port       |
 *    +--------+--------+--------+--------+
 *    |                 |                 |
 *    |     Length      |    Checksum     |
 *    +--------+--------+--------+--------+
 *    |          data octets ...
 *    +---------------- ...
 *
 * Length counts header and data. The checksum covers a pseudo-header (source and
 * destination address, zero, protocol 17, UDP length), the header and the data; a
 * transmitted checksum of zero means "none computed".
 */
import { internetChecksum } from "../checksum.ts";
import { IpProtocol } from "../ipv4/datagram.ts";
import { viewOf } from "../ipv4/header.ts";
import { type IpAddress, pseudoHeaderSumOf } from "../network.ts";

export const UDP_HEADER_LENGTH = 8;

// Byte offsets.
export const SOURCE_PORT = 0;
export const DESTINATION_PORT = 2;
export const LENGTH = 4;
export const CHECKSUM = 6;

export interface UdpHeader {
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** Header plus data, as the Length field says. */
  readonly length: number;
  readonly checksum: number;
}

export interface UdpParseFailure {
  readonly reason: "udpInErrors" | "udpInCsumErrors";
  readonly detail: string;
}

/**
 * Parses and verifies the UDP header at the front of `segment` (the IP payload). The
 * data is `segment.subarray(UDP_HEADER_LENGTH, header.length)`: IP payload beyond
 * Length is ignored (as Linux trims it), a Length beyond the IP payload is an error.
 * `checksumValid`: the device vouched for the checksum (`Ipv4Datagram`); not verified.
 */
export function parseUdpHeader(
  segment: Uint8Array,
  source: IpAddress,
  destination: IpAddress,
  checksumValid = false,
): UdpHeader | UdpParseFailure {
  if (segment.length < UDP_HEADER_LENGTH)
    return { reason: "udpInErrors", detail: "shorter than 8" };
  const view = viewOf(segment);
  const length = view.getUint16(LENGTH);
  if (length < UDP_HEADER_LENGTH || length > segment.length) {
    return { reason: "udpInErrors", detail: "length field disagrees with IP payload" };
  }
  const checksum = view.getUint16(CHECKSUM);
  // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
  // no checksum"; RFC 1122 §4.1.3.4: "If a UDP datagram is received with a checksum that
  // is non-zero and invalid, UDP MUST silently discard the datagram."
  // RFC 8200 §8.1: over IPv6 the checksum is not optional: "IPv6 receivers must discard
  // UDP packets containing a zero checksum and should log the error."
  if (checksum === 0 && typeof source !== "number") {
    return { reason: "udpInErrors", detail: "zero checksum over IPv6" };
  }
  if (checksum !== 0 && !checksumValid) {
    const initial = pseudoHeaderSumOf(source, destination, IpProtocol.UDP, length);
    if (internetChecksum(segment, initial, 0, length) !== 0) {
      return { reason: "udpInCsumErrors", detail: "bad checksum" };
    }
  }
  return {
    sourcePort: view.getUint16(SOURCE_PORT),
    destinationPort: view.getUint16(DESTINATION_PORT),
    length,
    checksum,
  };
}

export function isUdpParseFailure(result: UdpHeader | UdpParseFailure): result is UdpParseFailure {
  return "reason" in result;
}

/**
 * Writes the header at the front of `segment` (header + data, data already in place),
 * Length = segment.length, and the checksum over pseudo-header, header and data.
 */
export function emitUdpHeader(
  segment: Uint8Array,
  fields: {
    readonly sourcePort: number;
    readonly destinationPort: number;
    readonly source: IpAddress;
    readonly destination: IpAddress;
  },
): void {
  const view = viewOf(segment);
  view.setUint16(SOURCE_PORT, fields.sourcePort);
  view.setUint16(DESTINATION_PORT, fields.destinationPort);
  view.setUint16(LENGTH, segment.length);
  view.setUint16(CHECKSUM, 0);
  const initial = pseudoHeaderSumOf(
    fields.source,
    fields.destination,
    IpProtocol.UDP,
    segment.length,
  );
  const checksum = internetChecksum(segment, initial);
  // RFC 768: "If the computed checksum is zero, it is transmitted as all ones."
  view.setUint16(CHECKSUM, checksum === 0 ? 0xffff : checksum);
}
