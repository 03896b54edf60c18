/**
 * One line of text per IP packet, in the spirit of tcpdump, for `--trace` (IPv6 lines:
 * trace_format_ipv6.ts):
 *
 *   10.0.0.1.53422 > 10.0.0.2.80: Flags [S], seq 1234, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
 *   10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64
 *   10.0.0.1.5353 > 10.0.0.2.7: UDP, length 5
 *
 * The formatter reads the raw bytes itself, independently of the protocol code, so a
 * learner sees what was really on the wire. It is read-only and defensive: a packet too
 * short or inconsistent is printed as such, and nothing here throws. Sequence numbers
 * are absolute (like `tcpdump -S`). Header layouts: RFC 791 §3.1, RFC 792, RFC 768,
 * RFC 9293 §3.1; TCP options: RFC 9293 §3.2, RFC 2018 (SACK), RFC 7323 (TS, wscale).
 */
import { formatIpv4 } from "./address.ts";
import { seqAdd } from "./tcp/seq.ts";
import { formatIpv6Packet } from "./trace_format_ipv6.ts";

/** Formats one IPv4 or IPv6 packet, by its version nibble. Never throws. */
export function formatPacket(packet: Uint8Array): string {
  if (packet.length > 0 && packet[0]! >> 4 === 6) {
    return formatIpv6Packet(packet, { formatTcp, formatUdp });
  }
  if (packet.length < 20) return `malformed IPv4 packet, ${packet.length} bytes`;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const version = packet[0]! >> 4;
  const headerLength = (packet[0]! & 0x0f) * 4;
  const totalLength = view.getUint16(2);
  if (version !== 4) return `not IPv4 (version ${version}), ${packet.length} bytes`;
  if (headerLength < 20 || headerLength > packet.length) {
    return `malformed IPv4 packet, header length ${headerLength}, ${packet.length} bytes`;
  }
  const source = formatIpv4(view.getUint32(12));
  const destination = formatIpv4(view.getUint32(16));
  const end = Math.min(packet.length, Math.max(totalLength, headerLength));
  const payload = packet.subarray(headerLength, end);
  const flagsAndOffset = view.getUint16(6);
  const fragmentOffset = (flagsAndOffset & 0x1fff) * 8;
  const moreFragments = (flagsAndOffset & 0x2000) !== 0;
  const protocol = packet[9]!;
  const id = view.getUint16(4);
  let text: string;
  if (fragmentOffset > 0) {
    // A later fragment carries no transport header to read (RFC 791 §2.3).
    text = `${source} > ${destination}: ${protocolName(protocol)} fragment, offset ${fragmentOffset}, length ${payload.length}`;
  } else if (protocol === 6) text = formatTcp(source, destination, payload);
  else if (protocol === 17) text = formatUdp(source, destination, payload);
  else if (protocol === 1) text = formatIcmp(source, destination, payload);
  else text = `${source} > ${destination}: ip-proto-${protocol}, length ${payload.length}`;
  if (moreFragments) text += ` (frag id ${id}, more fragments)`;
  if (totalLength > packet.length) text += ` [truncated: total length ${totalLength}]`;
  return text;
}

function protocolName(protocol: number): string {
  return protocol === 6
    ? "TCP"
    : protocol === 17
      ? "UDP"
      : protocol === 1
        ? "ICMP"
        : `ip-proto-${protocol}`;
}

/** tcpdump's flag letters, in tcpdump's order; "." is ACK. */
const TCP_FLAGS: readonly [number, string][] = [
  [0x01, "F"],
  [0x02, "S"],
  [0x04, "R"],
  [0x08, "P"],
  [0x10, "."],
  [0x20, "U"],
  [0x40, "E"],
  [0x80, "W"],
];

/** RFC 9293 §3.1: the TCP header. */
export function formatTcp(source: string, destination: string, segment: Uint8Array): string {
  if (segment.length < 20)
    return `${source} > ${destination}: TCP truncated, length ${segment.length}`;
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const sourcePort = view.getUint16(0);
  const destinationPort = view.getUint16(2);
  const seq = view.getUint32(4);
  const ack = view.getUint32(8);
  const dataOffset = (segment[12]! >> 4) * 4;
  const flags = segment[13]!;
  const window = view.getUint16(14);
  const ends = `${source}.${sourcePort} > ${destination}.${destinationPort}`;
  if (dataOffset < 20 || dataOffset > segment.length) {
    return `${ends}: TCP bad data offset ${dataOffset}, length ${segment.length}`;
  }
  const length = segment.length - dataOffset;
  const letters = TCP_FLAGS.filter(([bit]) => flags & bit)
    .map(([, letter]) => letter)
    .join("");
  const parts = [`Flags [${letters || "none"}]`];
  parts.push(length > 0 ? `seq ${seq}:${seqAdd(seq, length)}` : `seq ${seq}`);
  if (flags & 0x10) parts.push(`ack ${ack}`);
  parts.push(`win ${window}`);
  if (flags & 0x20) parts.push(`urg ${view.getUint16(18)}`);
  if (dataOffset > 20)
    parts.push(`options [${formatTcpOptions(segment.subarray(20, dataOffset))}]`);
  parts.push(`length ${length}`);
  return `${ends}: ${parts.join(", ")}`;
}

/** RFC 9293 §3.2 option kinds: 0 EOL, 1 NOP, 2 MSS; RFC 7323: 3 wscale, 8 TS; RFC 2018: 4, 5. */
export function formatTcpOptions(options: Uint8Array): string {
  const out: string[] = [];
  let i = 0;
  while (i < options.length) {
    const kind = options[i]!;
    if (kind === 0) {
      out.push("eol");
      break;
    }
    if (kind === 1) {
      out.push("nop");
      i++;
      continue;
    }
    const length = options[i + 1];
    if (length === undefined || length < 2 || i + length > options.length) {
      out.push(`bad option ${kind}`);
      break;
    }
    out.push(formatOption(kind, options.subarray(i + 2, i + length)));
    i += length;
  }
  return out.join(",");
}

function formatOption(kind: number, body: Uint8Array): string {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (kind === 2 && body.length === 2) return `mss ${view.getUint16(0)}`;
  if (kind === 3 && body.length === 1) return `wscale ${body[0]}`;
  if (kind === 4 && body.length === 0) return "sackOK";
  if (kind === 8 && body.length === 8)
    return `TS val ${view.getUint32(0)} ecr ${view.getUint32(4)}`;
  if (kind === 5 && body.length % 8 === 0) {
    const blocks: string[] = [];
    for (let j = 0; j < body.length; j += 8) {
      blocks.push(`{${view.getUint32(j)}:${view.getUint32(j + 4)}}`);
    }
    return `sack ${blocks.length} ${blocks.join("")}`;
  }
  return `unknown-${kind} len ${body.length + 2}`;
}

/** RFC 768: source port, destination port, length, checksum. */
export function formatUdp(source: string, destination: string, datagram: Uint8Array): string {
  if (datagram.length < 8)
    return `${source} > ${destination}: UDP truncated, length ${datagram.length}`;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const udpLength = view.getUint16(4);
  const ends = `${source}.${view.getUint16(0)} > ${destination}.${view.getUint16(2)}`;
  if (udpLength < 8 || udpLength > datagram.length) {
    return `${ends}: UDP bad length ${udpLength} > ${datagram.length}`;
  }
  return `${ends}: UDP, length ${udpLength - 8}`;
}

const UNREACHABLE: Record<number, string> = {
  0: "net unreachable",
  1: "host unreachable",
  2: "protocol unreachable",
  3: "port unreachable",
  4: "need to frag",
};

/** RFC 792: type, code, checksum, then per type. */
export function formatIcmp(source: string, destination: string, message: Uint8Array): string {
  const ends = `${source} > ${destination}`;
  if (message.length < 8) return `${ends}: ICMP truncated, length ${message.length}`;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const type = message[0]!;
  const code = message[1]!;
  const length = message.length;
  if (type === 8 || type === 0) {
    const name = type === 8 ? "echo request" : "echo reply";
    return `${ends}: ICMP ${name}, id ${view.getUint16(4)}, seq ${view.getUint16(6)}, length ${length}`;
  }
  if (type === 3) {
    const quoted = describeQuoted(message.subarray(8), code);
    if (code === 4) return `${ends}: ICMP ${quoted}, mtu ${view.getUint16(6)}, length ${length}`;
    return `${ends}: ICMP ${quoted}, length ${length}`;
  }
  if (type === 11) return `${ends}: ICMP time exceeded, code ${code}, length ${length}`;
  return `${ends}: ICMP type ${type}, code ${code}, length ${length}`;
}

/** Names what a destination-unreachable is about, from the IP header it quotes. */
function describeQuoted(quoted: Uint8Array, code: number): string {
  const what = UNREACHABLE[code] ?? `unreachable code ${code}`;
  if (quoted.length < 20) return what;
  const headerLength = (quoted[0]! & 0x0f) * 4;
  const view = new DataView(quoted.buffer, quoted.byteOffset, quoted.byteLength);
  const target = formatIpv4(view.getUint32(16));
  const protocol = quoted[9]!;
  if (code === 3 && quoted.length >= headerLength + 4 && headerLength >= 20) {
    const port = view.getUint16(headerLength + 2);
    return `${target} ${protocolName(protocol).toLowerCase()} port ${port} unreachable`;
  }
  if (code === 2) return `${target} protocol ${protocol} unreachable`;
  return `${target} ${what}`;
}
