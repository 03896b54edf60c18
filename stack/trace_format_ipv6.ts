/**
 * One line of text per IPv6 packet for `--trace`, beside trace_format.ts's IPv4 lines
 * and in the same tcpdump spirit:
 *
 *   fd00::1.53422 > fd00::2.80: Flags [S], seq 1234, win 64800, options [mss 1440,...], length 0
 *   fd00::1 > fd00::2: ICMP6, echo request, id 7, seq 1, length 64
 *   fd00::2 > fd00::1: frag (0|1232) ICMP6, echo reply, id 7, seq 1, length 1232
 *
 * Addresses in RFC 5952 text (read with ipv6/address.ts). Extension headers (RFC 8200
 * §4) are walked only to find the upper layer: hop-by-hop, routing and destination
 * options are skipped by their length, a fragment header is shown as tcpdump does. Read
 * only and defensive: nothing here throws.
 */
import { readIpv6 } from "./ipv6/address.ts";

/** The transport formatters, shared with IPv4's lines (trace_format.ts passes its own). */
export interface TransportFormatters {
  formatTcp(source: string, destination: string, segment: Uint8Array): string;
  formatUdp(source: string, destination: string, datagram: Uint8Array): string;
}

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DESTINATION_OPTIONS = 60;
/** A chain longer than this is printed as such rather than walked on (bounded work). */
const MAX_HEADERS = 16;

/** Formats one IPv6 packet (its first nibble is 6). Never throws. */
export function formatIpv6Packet(packet: Uint8Array, transports: TransportFormatters): string {
  if (packet.length < 40) return `malformed IPv6 packet, ${packet.length} bytes`;
  const payloadLength = (packet[4]! << 8) | packet[5]!;
  const source = readIpv6(packet, 8);
  const destination = readIpv6(packet, 24);
  const end = Math.min(packet.length, 40 + payloadLength);
  let next = packet[6]!;
  let at = 40;
  let fragment = "";
  for (let i = 0; i < MAX_HEADERS; i++) {
    if (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS) {
      if (at + 8 > end) return `${source} > ${destination}: truncated extension header`;
      const following = packet[at]!;
      at += (packet[at + 1]! + 1) * 8;
      next = following;
      continue;
    }
    if (next === FRAGMENT) {
      if (at + 8 > end) return `${source} > ${destination}: truncated fragment header`;
      const offsetWord = (packet[at + 2]! << 8) | packet[at + 3]!;
      const offset = offsetWord & 0xfff8;
      const more = (offsetWord & 1) === 1;
      fragment = `frag (${offset}|${end - at - 8}) `;
      const following = packet[at]!;
      at += 8;
      if (offset !== 0) {
        const id = readUint32(packet, at - 4);
        return `${source} > ${destination}: ${fragment}${protocolName(following)} fragment id ${id}${more ? ", more fragments" : ""}`;
      }
      next = following;
      continue;
    }
    break;
  }
  if (at > end) return `${source} > ${destination}: extension headers overrun the packet`;
  const upper = packet.subarray(at, end);
  const text = upperLayer(next, source, destination, upper, transports);
  const truncated =
    40 + payloadLength > packet.length ? ` [truncated: payload length ${payloadLength}]` : "";
  return fragment === ""
    ? `${text}${truncated}`
    : `${source} > ${destination}: ${fragment}${text.slice(text.indexOf(": ") + 2)}${truncated}`;
}

function upperLayer(
  next: number,
  source: string,
  destination: string,
  bytes: Uint8Array,
  transports: TransportFormatters,
): string {
  if (next === 6) return transports.formatTcp(source, destination, bytes);
  if (next === 17) return transports.formatUdp(source, destination, bytes);
  if (next === 58) return formatIcmpv6(source, destination, bytes);
  if (next === 59) return `${source} > ${destination}: no next header`;
  return `${source} > ${destination}: ip-proto-${next}, length ${bytes.length}`;
}

function protocolName(next: number): string {
  return next === 6 ? "TCP" : next === 17 ? "UDP" : next === 58 ? "ICMP6" : `ip-proto-${next}`;
}

/** RFC 4443 §2.1 types, and the neighbour discovery / MLD ones (RFC 4861, RFC 3810). */
const ICMPV6_TYPES: Record<number, string> = {
  1: "destination unreachable",
  2: "packet too big",
  3: "time exceeded",
  4: "parameter problem",
  128: "echo request",
  129: "echo reply",
  130: "multicast listener query",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
  137: "redirect",
  143: "multicast listener report v2",
};

const UNREACHABLE6: Record<number, string> = {
  0: "no route",
  1: "administratively prohibited",
  3: "address unreachable",
  4: "port unreachable",
};

/** RFC 4443 §2.1: type, code, checksum, then per type. */
export function formatIcmpv6(source: string, destination: string, message: Uint8Array): string {
  const ends = `${source} > ${destination}`;
  if (message.length < 8) return `${ends}: ICMP6 truncated, length ${message.length}`;
  const type = message[0]!;
  const code = message[1]!;
  const length = message.length;
  const name = ICMPV6_TYPES[type] ?? `type ${type}`;
  if (type === 128 || type === 129) {
    const id = (message[4]! << 8) | message[5]!;
    const seq = (message[6]! << 8) | message[7]!;
    return `${ends}: ICMP6, ${name}, id ${id}, seq ${seq}, length ${length}`;
  }
  if (type === 1) {
    const what = UNREACHABLE6[code] ?? `unreachable code ${code}`;
    return `${ends}: ICMP6, ${name}, ${what}${quotedPort(message, code)}, length ${length}`;
  }
  if (type === 2) return `${ends}: ICMP6, ${name}, mtu ${readUint32(message, 4)}, length ${length}`;
  return `${ends}: ICMP6, ${name}, code ${code}, length ${length}`;
}

/** For a port unreachable: the quoted packet's destination and port, as tcpdump names them. */
function quotedPort(message: Uint8Array, code: number): string {
  const quote = message.subarray(8);
  if (code !== 4 || quote.length < 44) return "";
  const target = readIpv6(quote, 24);
  const protocol = protocolName(quote[6]!).toLowerCase();
  return ` ${target} ${protocol} port ${(quote[42]! << 8) | quote[43]!}`;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}
