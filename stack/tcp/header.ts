/**
 * The TCP header (RFC 9293 §3.1), a parsed form of it, and the writer.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        Sequence Number                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Acknowledgment Number                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Data |       |C|E|U|A|P|R|S|F|                               |
 *   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *   |       |       |R|E|G|K|H|T|N|N|                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Checksum            |         Urgent Pointer        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           [Options]                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                             Data                              :
 *
 * The checksum covers a pseudo header (source, destination, protocol 6, TCP length),
 * the header and the data (RFC 9293 §3.1 "Checksum").
 */
import { foldCarries, internetChecksum } from "../checksum.ts";
import { ReceivedDatagram } from "../ipv4/datagram.ts";
import { IPV4_HEADER_LENGTH } from "../ipv4/header.ts";
import { type IpAddress, type IpDatagram, pseudoHeaderSumOf } from "../network.ts";
import {
  emitOptions,
  NO_OPTIONS,
  optionsLength,
  parseOptions,
  ReusableOptions,
  type TcpOptions,
} from "./options.ts";

export const TCP_PROTOCOL = 6;
export const TCP_HEADER_LENGTH = 20;

// Byte offsets of the fields in the diagram above.
export const SOURCE_PORT = 0;
export const DESTINATION_PORT = 2;
export const SEQUENCE_NUMBER = 4;
export const ACKNOWLEDGMENT_NUMBER = 8;
export const DATA_OFFSET = 12;
export const FLAGS = 13;
export const WINDOW = 14;
export const CHECKSUM = 16;
export const URGENT_POINTER = 18;

/** Control bits (RFC 9293 §3.1; CWR and ECE from RFC 3168). */
export const Flag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** A received or to-be-sent segment, with the RFC's names (`seg.seq`, `seg.ack`, `seg.wnd`). */
export interface TcpSegment {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** The raw 16-bit window field (unscaled). */
  readonly wnd: number;
  readonly urgentPointer: number;
  readonly options: TcpOptions;
  /** The data: a view into the received packet, valid only during input. */
  readonly payload: Uint8Array;
}

/** SEG.LEN (RFC 9293 §3.4): data bytes plus one for each of SYN and FIN. */
export function segmentLength(seg: TcpSegment): number {
  return seg.payload.length + (seg.flags & Flag.SYN ? 1 : 0) + (seg.flags & Flag.FIN ? 1 : 0);
}

export type TcpParseDrop = "tcpInErrs" | "tcpInBadOptions" | "tcpInCsumErrors";

/** The payload of every segment without data: one shared empty array, not a view each. */
const NO_DATA = new Uint8Array(0);

/**
 * A segment to parse into, again and again: TCP's receive path keeps one and fills it
 * for every arriving segment (with its options in a `ReusableOptions`) instead of making
 * two or three objects per segment. Like the payload it points into, it is valid only
 * during input: nothing in TCP keeps a segment past `segmentArrives`.
 */
export class ReceivedSegment implements TcpSegment {
  sourcePort = 0;
  destinationPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  wnd = 0;
  urgentPointer = 0;
  readonly options = new ReusableOptions();
  payload: Uint8Array = NO_DATA;
}

/**
 * Checks and parses the TCP bytes of `d`; returns a drop reason for a bad segment. The
 * fields are written into `into` when given, else into a new segment. The checksum is
 * verified unless the device vouched for it (`d.checksumValid`).
 */
export function parseSegment(d: IpDatagram, into?: ReceivedSegment): TcpSegment | TcpParseDrop {
  // The TCP bytes are bytes[t..]: read in place from the packet IPv4 received when it
  // offers it (no view per segment), else from the datagram's payload.
  const inPlace = d instanceof ReceivedDatagram;
  const bytes = inPlace ? d.packet : d.payload;
  const t = inPlace ? d.transportStart : 0;
  const length = bytes.length - t;
  if (length < TCP_HEADER_LENGTH) return "tcpInErrs";
  const headerLength = (bytes[t + DATA_OFFSET]! >>> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH || headerLength > length) return "tcpInErrs";
  if (d.checksumValid !== true) {
    // RFC 9293 §3.1 / RFC 8200 §8.1: the pseudo-header of the datagram's family (IPv6
    // input has summed the addresses already).
    const sum =
      d.addressSum === undefined
        ? pseudoHeaderSumOf(d.source, d.destination, TCP_PROTOCOL, length)
        : d.addressSum + TCP_PROTOCOL + (length >>> 16) + (length & 0xffff);
    if (internetChecksum(bytes, sum, t, bytes.length) !== 0) return "tcpInCsumErrors";
  }
  const options =
    headerLength === TCP_HEADER_LENGTH && into === undefined
      ? NO_OPTIONS
      : parseOptions(bytes, t + TCP_HEADER_LENGTH, t + headerLength, into?.options);
  if (options === undefined) return "tcpInBadOptions";
  const payload = headerLength === length ? NO_DATA : bytes.subarray(t + headerLength);
  if (into === undefined) {
    return {
      sourcePort: read16(bytes, t + SOURCE_PORT),
      destinationPort: read16(bytes, t + DESTINATION_PORT),
      seq: read32(bytes, t + SEQUENCE_NUMBER),
      ack: read32(bytes, t + ACKNOWLEDGMENT_NUMBER),
      flags: bytes[t + FLAGS]!,
      wnd: read16(bytes, t + WINDOW),
      urgentPointer: read16(bytes, t + URGENT_POINTER),
      options,
      payload,
    };
  }
  into.sourcePort = read16(bytes, t + SOURCE_PORT);
  into.destinationPort = read16(bytes, t + DESTINATION_PORT);
  into.seq = read32(bytes, t + SEQUENCE_NUMBER);
  into.ack = read32(bytes, t + ACKNOWLEDGMENT_NUMBER);
  into.flags = bytes[t + FLAGS]!;
  into.wnd = read16(bytes, t + WINDOW);
  into.urgentPointer = read16(bytes, t + URGENT_POINTER);
  into.payload = payload;
  return into;
}

// Big-endian ("network byte order", RFC 791 Appendix B) field access. Plain byte
// arithmetic rather than a DataView: no object per segment on the hot path.
export function read16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function read32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function write16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

export function write32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

/** The header fields of a segment to send; the payload is copied in by the caller. */
export interface SegmentFields {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly wnd: number;
  readonly options: TcpOptions;
  /** The urgent pointer (RFC 9293 §3.8.5), meaningful with URG; 0 when absent. */
  readonly urgentPointer?: number;
}

/**
 * The fields of the segment being sent, refilled for each one: TCP's send path keeps
 * one (`Tcp.outgoing`) with its options in a `ReusableOptions`, instead of a fields
 * object, an options object and a timestamp pair per segment. `writeSegment` reads it
 * at once, so it is free again before the packet goes down.
 */
export class OutgoingSegment implements SegmentFields {
  sourcePort = 0;
  destinationPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  wnd = 0;
  urgentPointer = 0;
  readonly options = new ReusableOptions();
}

/**
 * Writes the TCP header and options into `packet` after `headroom` bytes (where the
 * network layer will write its own header, in place: `NetworkLayer.headerLength`), and
 * returns the offset where the data goes. Call `finishChecksum` after copying the data in.
 */
export function writeSegment(
  fields: SegmentFields,
  packet: Uint8Array,
  headroom = IPV4_HEADER_LENGTH,
): number {
  const headerLength = TCP_HEADER_LENGTH + optionsLength(fields.options);
  const t = headroom;
  write16(packet, t + SOURCE_PORT, fields.sourcePort);
  write16(packet, t + DESTINATION_PORT, fields.destinationPort);
  write32(packet, t + SEQUENCE_NUMBER, fields.seq);
  write32(packet, t + ACKNOWLEDGMENT_NUMBER, fields.ack);
  packet[t + DATA_OFFSET] = (headerLength / 4) << 4;
  packet[t + FLAGS] = fields.flags;
  write16(packet, t + WINDOW, fields.wnd);
  write16(packet, t + CHECKSUM, 0);
  write16(packet, t + URGENT_POINTER, fields.urgentPointer ?? 0);
  emitOptions(fields.options, packet, t + TCP_HEADER_LENGTH);
  return t + headerLength;
}

/**
 * Allocates one packet with `headroom` for the network header, writes the TCP header and options, and
 * returns it with the offset where `payloadLength` bytes of data go. For segments off
 * the steady-state path (a RST, a SYN cookie's SYN,ACK) and tests; the send path builds
 * in a pooled buffer with `writeSegment`.
 */
export function buildSegment(
  fields: SegmentFields,
  payloadLength: number,
  headroom = IPV4_HEADER_LENGTH,
): { packet: Uint8Array; dataAt: number } {
  const headerLength = TCP_HEADER_LENGTH + optionsLength(fields.options);
  const packet = new Uint8Array(headroom + headerLength + payloadLength);
  return { packet, dataAt: writeSegment(fields, packet, headroom) };
}

/**
 * Fills in the checksum of a packet from writeSegment (RFC 9293 §3.1), over the
 * pseudo-header of the addresses' family (RFC 8200 §8.1 for IPv6).
 */
export function finishChecksum(
  packet: Uint8Array,
  source: IpAddress,
  destination: IpAddress,
  headroom = IPV4_HEADER_LENGTH,
): void {
  const length = packet.length - headroom;
  const pseudo = pseudoHeaderSumOf(source, destination, TCP_PROTOCOL, length);
  const sum = internetChecksum(packet, pseudo, headroom, packet.length);
  packet[headroom + CHECKSUM] = sum >>> 8;
  packet[headroom + CHECKSUM + 1] = sum & 0xff;
}

/**
 * Checksum offload (`stack/offload.ts`): writes only the pseudo-header sum, folded and
 * not complemented, as Linux leaves it for a NIC (`__tcp_v4_send_check`). The device
 * adds the header and data to it and complements the result.
 */
export function partialChecksum(
  packet: Uint8Array,
  source: IpAddress,
  destination: IpAddress,
  headroom = IPV4_HEADER_LENGTH,
): void {
  const length = packet.length - headroom;
  const sum = foldCarries(pseudoHeaderSumOf(source, destination, TCP_PROTOCOL, length));
  packet[headroom + CHECKSUM] = sum >>> 8;
  packet[headroom + CHECKSUM + 1] = sum & 0xff;
}

/** "SA", "F.", "R" ...: the flags as tcpdump-like letters, for traces and tests. */
export function flagsText(flags: number): string {
  let text = "";
  if (flags & Flag.SYN) text += "S";
  if (flags & Flag.FIN) text += "F";
  if (flags & Flag.RST) text += "R";
  if (flags & Flag.PSH) text += "P";
  if (flags & Flag.ACK) text += "A";
  if (flags & Flag.URG) text += "U";
  return text;
}
