/**
 * Builders for IPv4, ICMP and UDP test packets, and a reader for annotated hex
 * fixtures. Builders compute lengths and checksums unless told otherwise, so a test
 * states only the fields it is about.
 *
 * @example
 * const packet = udpPacket({ source: PEER, destination: HOST, sourcePort: 5000, destinationPort: 53, data: bytes("hi") });
 * const echo = icmpEchoPacket({ source: PEER, destination: HOST, identifier: 7, sequence: 1 });
 */
import { internetChecksum, pseudoHeaderSum } from "../../stack/checksum.ts";
import { IpProtocol } from "../../stack/ipv4/datagram.ts";

export const HOST = 0x0a000002; // 10.0.0.2, the stack under test
export const PEER = 0x0a000001; // 10.0.0.1, the kernel side of the link
export const PREFIX_LENGTH = 24;

/**
 * Parses annotated hex: pairs of hex digits, with whitespace and comments ("#" or "//"
 * to end of line) ignored, so a fixture can put one field per line with its meaning.
 */
export function hex(text: string): Uint8Array {
  const digits = text
    .split("\n")
    .map((line) => line.replace(/(#|\/\/).*$/, ""))
    .join("")
    .replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) {
    throw new Error(`not an even run of hex digits: ${digits}`);
  }
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export interface Ipv4PacketFields {
  source?: number;
  destination?: number;
  protocol?: number;
  ttl?: number;
  identification?: number;
  typeOfService?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In octets. */
  fragmentOffset?: number;
  /** Raw option bytes (padded with zeros to a multiple of 4). */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Override the computed Total Length / checksum (to build broken packets). */
  totalLength?: number;
  checksum?: number;
}

/** A whole IPv4 packet with a correct header checksum (unless overridden). */
export function ipv4Packet(f: Ipv4PacketFields): Uint8Array {
  const options = f.options ?? new Uint8Array(0);
  const headerLength = 20 + Math.ceil(options.length / 4) * 4;
  const payload = f.payload ?? new Uint8Array(0);
  const packet = new Uint8Array(headerLength + payload.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, 0x40 | (headerLength / 4));
  view.setUint8(1, f.typeOfService ?? 0);
  view.setUint16(2, f.totalLength ?? packet.length);
  view.setUint16(4, f.identification ?? 0x1234);
  const flags = (f.dontFragment ? 0x4000 : 0) | (f.moreFragments ? 0x2000 : 0);
  view.setUint16(6, flags | ((f.fragmentOffset ?? 0) / 8));
  view.setUint8(8, f.ttl ?? 64);
  view.setUint8(9, f.protocol ?? IpProtocol.UDP);
  view.setUint32(12, f.source ?? PEER);
  view.setUint32(16, f.destination ?? HOST);
  packet.set(options, 20);
  packet.set(payload, headerLength);
  view.setUint16(10, f.checksum ?? internetChecksum(packet.subarray(0, headerLength)));
  return packet;
}

export interface UdpPacketFields extends Omit<Ipv4PacketFields, "payload" | "protocol"> {
  sourcePort?: number;
  destinationPort?: number;
  data?: Uint8Array;
  /** Override the UDP Length field. */
  udpLength?: number;
  /** Override the checksum (0 = none). */
  udpChecksum?: number;
}

/** The UDP segment alone (header + data), checksummed for the given addresses. */
export function udpSegment(f: UdpPacketFields): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  const segment = new Uint8Array(8 + data.length);
  const view = new DataView(segment.buffer);
  view.setUint16(0, f.sourcePort ?? 40000);
  view.setUint16(2, f.destinationPort ?? 7);
  view.setUint16(4, f.udpLength ?? segment.length);
  segment.set(data, 8);
  const initial = pseudoHeaderSum(
    f.source ?? PEER,
    f.destination ?? HOST,
    IpProtocol.UDP,
    segment.length,
  );
  const computed = internetChecksum(segment, initial);
  view.setUint16(6, f.udpChecksum ?? (computed === 0 ? 0xffff : computed));
  return segment;
}

export function udpPacket(f: UdpPacketFields): Uint8Array {
  return ipv4Packet({ ...f, protocol: IpProtocol.UDP, payload: udpSegment(f) });
}

export interface IcmpMessageFields {
  type: number;
  code?: number;
  /** The 4 octets after the checksum (identifier and sequence for echo). */
  restOfHeader?: number;
  data?: Uint8Array;
  checksum?: number;
}

export function icmpMessage(f: IcmpMessageFields): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  const message = new Uint8Array(8 + data.length);
  const view = new DataView(message.buffer);
  view.setUint8(0, f.type);
  view.setUint8(1, f.code ?? 0);
  view.setUint32(4, (f.restOfHeader ?? 0) >>> 0);
  message.set(data, 8);
  view.setUint16(2, f.checksum ?? internetChecksum(message));
  return message;
}

export function icmpEchoPacket(
  f: Omit<Ipv4PacketFields, "payload" | "protocol"> & {
    identifier?: number;
    sequence?: number;
    data?: Uint8Array;
    type?: number;
  },
): Uint8Array {
  const message = icmpMessage({
    type: f.type ?? 8,
    restOfHeader: (((f.identifier ?? 1) << 16) | (f.sequence ?? 1)) >>> 0,
    data: f.data ?? bytes("abcdefghijklmnopqrstuvwabcdefghi"),
  });
  return ipv4Packet({ ...f, protocol: IpProtocol.ICMP, payload: message });
}

/**
 * An ICMP Destination Unreachable from `from` about `offending` (a packet we sent),
 * quoting its header and first 8 data octets as RFC 792 says.
 */
export function icmpUnreachablePacket(
  offending: Uint8Array,
  f: { code: number; from?: number; to?: number; nextHopMtu?: number },
): Uint8Array {
  const headerLength = (offending[0]! & 0x0f) * 4;
  const quote = offending.subarray(0, headerLength + 8);
  const message = icmpMessage({
    type: 3,
    code: f.code,
    restOfHeader: f.nextHopMtu ?? 0,
    data: quote,
  });
  return ipv4Packet({
    source: f.from ?? PEER,
    destination: f.to ?? HOST,
    protocol: IpProtocol.ICMP,
    payload: message,
  });
}

/**
 * Cuts a whole IPv4 packet (no options) into fragments carrying `chunk` data octets
 * each (a multiple of 8), as RFC 791 §3.2 does on output.
 */
export function fragmentPacket(packet: Uint8Array, chunk: number): Uint8Array[] {
  const headerLength = (packet[0]! & 0x0f) * 4;
  const header = packet.subarray(0, headerLength);
  const data = packet.subarray(headerLength);
  const fragments: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += chunk) {
    const piece = data.subarray(offset, Math.min(offset + chunk, data.length));
    fragments.push(fragmentOf(header, piece, offset, offset + piece.length < data.length));
  }
  return fragments;
}

/** One fragment with `header`'s fields, the given data, offset (octets) and MF bit. */
export function fragmentOf(
  header: Uint8Array,
  data: Uint8Array,
  offset: number,
  moreFragments: boolean,
): Uint8Array {
  const fragment = new Uint8Array(header.length + data.length);
  fragment.set(header, 0);
  fragment.set(data, header.length);
  const view = new DataView(fragment.buffer);
  view.setUint16(2, fragment.length);
  view.setUint16(6, (view.getUint16(6) & 0x4000) | (moreFragments ? 0x2000 : 0) | (offset / 8));
  view.setUint16(10, 0);
  view.setUint16(10, internetChecksum(fragment.subarray(0, header.length)));
  return fragment;
}

/** Field readers for asserting on packets the stack sent. */
export function ipv4Fields(packet: Uint8Array) {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const headerLength = (view.getUint8(0) & 0x0f) * 4;
  const flags = view.getUint16(6);
  return {
    headerLength,
    totalLength: view.getUint16(2),
    identification: view.getUint16(4),
    dontFragment: (flags & 0x4000) !== 0,
    moreFragments: (flags & 0x2000) !== 0,
    fragmentOffset: (flags & 0x1fff) * 8,
    ttl: view.getUint8(8),
    protocol: view.getUint8(9),
    source: view.getUint32(12),
    destination: view.getUint32(16),
    headerChecksumOk: internetChecksum(packet.subarray(0, headerLength)) === 0,
    payload: packet.subarray(headerLength, view.getUint16(2)),
  };
}
