/**
 * TUN offloads: the `virtio_net_hdr` the kernel puts in front of every packet when the
 * TUN is opened with IFF_VNET_HDR, and what we do with it in both directions. This is
 * how gVisor's netstack and QEMU move bulk TCP through a TUN at a fraction of the
 * per-packet cost: one read or write carries up to 64 KB instead of one MTU.
 *
 *   struct virtio_net_hdr {      (linux/virtio_net.h; little-endian on a TUN by default)
 *     u8  flags;                 1 = NEEDS_CSUM: the checksum at csum_start+csum_offset
 *                                    holds only the pseudo-header sum; finish it
 *     u8  gso_type;              0 = none, 1 = TCPv4, 4 = TCPv6: split into gso_size-byte segments
 *     u16 hdr_len;               IP + TCP header bytes, copied in front of each segment
 *     u16 gso_size;              payload bytes per segment (the MSS)
 *     u16 csum_start;            where the checksummed part starts (the TCP header)
 *     u16 csum_offset;           the checksum field within it (16 for TCP)
 *   }
 *
 * Kernel → us (the upload direction): with TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) the
 * kernel's TCP sends "super-segments" of up to 64 KB with a partial checksum. To the
 * stack that is just an IPv4 packet larger than the MTU. A packet marked NEEDS_CSUM (or
 * DATA_VALID) was made on this host and never crossed a wire, so its TCP or UDP checksum
 * has nothing to catch: `receivedChecksum` says so, and the stack skips verifying it
 * (Linux treats CHECKSUM_PARTIAL and CHECKSUM_UNNECESSARY skbs the same way, and so does
 * gVisor's netstack), rather than finishing the sum here and summing the same 64 KB again
 * above. Anything else keeps the plain path: finished here if partial, verified above.
 *
 * Us → kernel (the download direction): `TsoCoalescer` collects the consecutive
 * full-sized segments of one connection the stack sends in one burst, and writes them
 * as one super-segment with gso_type TCPv4; the kernel splits it again (tcp_gso_segment:
 * the header is copied to each piece, SEQ advanced, PSH and FIN kept for the last).
 * Anything it cannot merge is written alone, in order, with an all-zero header.
 *
 * A stack told of these offloads (`Tun.capabilities`, `stack/offload.ts`) does better
 * itself: it sends TCP segments of up to 64 KB marked with the MSS to cut at, which go
 * out at once with gso_size (gso_type TCPv4 or TCPv6 by the packet's version), and
 * leaves every TCP checksum partial (NEEDS_CSUM). The merging above stays IPv4's: an
 * IPv6 connection's segments come already joined by the stack.
 */
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from "../stack/checksum.ts";
import type { TransmitOffload } from "../stack/offload.ts";

export const VNET_HEADER_BYTES = 10;
const NEEDS_CSUM = 1;
/** VIRTIO_NET_HDR_F_DATA_VALID: the checksum was already verified (CHECKSUM_UNNECESSARY). */
const DATA_VALID = 2;
const GSO_TCPV4 = 1;
/** VIRTIO_NET_HDR_GSO_TCPV6 (linux/virtio_net.h): with TUN_F_TSO6 in TUNSETOFFLOAD. */
const GSO_TCPV6 = 4;
/** IPv6's fixed header (RFC 8200 §3); our own IPv6 TCP segments carry no extension header. */
const IPV6_HEADER_BYTES = 40;
const IPV6_NEXT_HEADER = 6;

/** IPv4 (RFC 791 §3.1) and TCP (RFC 9293 §3.1) offsets this file reads. */
const IP_TOTAL_LENGTH = 2;
const IP_FLAGS_FRAGMENT = 6;
const IP_PROTOCOL = 9;
const IP_CHECKSUM = 10;
const IP_SOURCE = 12;
const IP_DESTINATION = 16;
const IP_HEADER_BYTES = 20;
const TCP_SEQ = 4;
const TCP_DATA_OFFSET = 12;
const TCP_FLAGS = 13;
const TCP_CHECKSUM = 16;
const PROTOCOL_TCP = 6;
const PROTOCOL_UDP = 17;
const ACK = 0x10;
const PSH = 0x08;
/** Merging stops before the IPv4 total length (16 bits) would overflow. */
const MAX_SUPER_SEGMENT = 65535;

/**
 * Kernel → us: if the header says NEEDS_CSUM, writes the finished checksum into the
 * packet (as the kernel's skb_checksum_help does). `packet` starts after the header.
 * Returns false for an offset outside the packet (the packet is then dropped).
 */
export function completeChecksum(header: Uint8Array, packet: Uint8Array): boolean {
  if ((header[0]! & NEEDS_CSUM) === 0) return true;
  const start = header[6]! | (header[7]! << 8);
  const at = start + (header[8]! | (header[9]! << 8));
  if (at + 2 > packet.length) return false;
  const sum = internetChecksum(packet, 0, start, packet.length);
  packet[at] = sum >>> 8;
  packet[at + 1] = sum & 0xff;
  return true;
}

/**
 * What the vnet header tells about a received packet's transport checksum:
 * - "valid": NEEDS_CSUM on the TCP or UDP header right after the IPv4 header, or
 *   DATA_VALID; the stack need not verify it (`Stack.receive`'s `checksumValid`);
 * - "unchecked": nothing said, or a partial checksum of something else, which is then
 *   finished here (`completeChecksum`) for the stack to verify as usual;
 * - "malformed": a checksum offset outside the packet (drop it).
 */
export type ReceivedChecksum = "valid" | "unchecked" | "malformed";

export function receivedChecksum(header: Uint8Array, packet: Uint8Array): ReceivedChecksum {
  const flags = header[0]!;
  if ((flags & NEEDS_CSUM) === 0) return (flags & DATA_VALID) !== 0 ? "valid" : "unchecked";
  const start = header[6]! | (header[7]! << 8);
  if (start + (header[8]! | (header[9]! << 8)) + 2 > packet.length) return "malformed";
  // The transport header right after the network header: IPv4's (IHL) or IPv6's fixed one.
  const v6 = packet.length > 0 && packet[0]! >>> 4 === 6;
  const protocol = v6 ? packet[IPV6_NEXT_HEADER] : packet[IP_PROTOCOL];
  const transport = (protocol === PROTOCOL_TCP || protocol === PROTOCOL_UDP) && packet.length > 0;
  if (transport && start === networkHeaderBytes(packet)) return "valid";
  return completeChecksum(header, packet) ? "unchecked" : "malformed";
}

/** Payload bytes of a TCP/IPv4 packet we could merge, or 0 for anything else. */
function mergeablePayload(packet: Uint8Array): number {
  if (packet.length < IP_HEADER_BYTES + 20 || packet[0] !== 0x45) return 0;
  if (packet[IP_PROTOCOL] !== PROTOCOL_TCP) return 0;
  // Not a fragment: MF clear and offset zero (DF may be set).
  if ((((packet[IP_FLAGS_FRAGMENT]! << 8) | packet[IP_FLAGS_FRAGMENT + 1]!) & 0x3fff) !== 0) {
    return 0;
  }
  if (((packet[IP_TOTAL_LENGTH]! << 8) | packet[IP_TOTAL_LENGTH + 1]!) !== packet.length) return 0;
  const flags = packet[IP_HEADER_BYTES + TCP_FLAGS]!;
  if ((flags & ~PSH) !== ACK) return 0; // no SYN, FIN, RST, URG, ECE, CWR
  const tcpHeader = (packet[IP_HEADER_BYTES + TCP_DATA_OFFSET]! >>> 4) * 4;
  return Math.max(0, packet.length - IP_HEADER_BYTES - tcpHeader);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}

/**
 * Us → kernel: merges runs of TCP segments into TSO super-segments. `send` adds one
 * packet (copied: the caller may reuse it at once); `flush` writes what is pending. The
 * owner must call `flush` before control returns to the event loop.
 */
export class TsoCoalescer {
  /** The vnet header, then the run under construction (or one packet to pass through). */
  private readonly buffer = new Uint8Array(VNET_HEADER_BYTES + MAX_SUPER_SEGMENT);
  private readonly packet = this.buffer.subarray(VNET_HEADER_BYTES);
  /** Bytes of IPv4 packet in the run; 0 when none is pending. */
  private length = 0;
  private headerBytes = 0;
  private segmentSize = 0;
  private segments = 0;
  private nextSeq = 0;
  /** The last segment was shorter than the first, or carried PSH: the run is closed. */
  private closed = false;
  /** The pending packet's TCP checksum is partial (the stack's checksum offload). */
  private partialChecksum = false;
  /** Super-segments written, and the segments they carried: for the counters. */
  superSegments = 0;
  mergedSegments = 0;

  /** `write` gets the vnet header and the packet in one buffer, valid during the call. */
  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  send(packet: Uint8Array, offload?: TransmitOffload): void {
    if (packet.length > MAX_SUPER_SEGMENT) return; // cannot be an IPv4 packet
    if (offload !== undefined && offload.segmentSize > 0) {
      this.sendSegmented(packet, offload.segmentSize, offload.headroom ?? 0);
      return;
    }
    const payload = mergeablePayload(packet);
    if (payload > 0 && this.length > 0 && this.extends(packet, payload)) {
      this.append(packet, payload);
      return;
    }
    this.flush();
    this.packet.set(packet);
    this.length = packet.length;
    this.segments = 1;
    this.partialChecksum = offload?.partialChecksum === true;
    if (payload === 0) {
      this.flush(); // not TCP data: out at once, in order
      return;
    }
    this.headerBytes = packet.length - payload;
    this.segmentSize = payload;
    this.nextSeq = (readUint32(packet, IP_HEADER_BYTES + TCP_SEQ) + payload) >>> 0;
    this.closed = (packet[IP_HEADER_BYTES + TCP_FLAGS]! & PSH) !== 0;
  }

  /** Whether a packet or run waits for `flush`. */
  get pending(): boolean {
    return this.length > 0;
  }

  /** Writes the pending packet or super-segment, if any. */
  flush(): void {
    if (this.length === 0) return;
    const header = this.buffer;
    header.fill(0, 0, VNET_HEADER_BYTES);
    if (this.segments > 1) this.finishSuperSegment();
    else if (this.partialChecksum) markNeedsChecksum(header, networkHeaderBytes(this.packet));
    this.write(this.buffer.subarray(0, VNET_HEADER_BYTES + this.length));
    this.length = 0;
  }

  /**
   * A TCP packet the stack built larger than one segment (its own TSO, with the
   * pseudo-header sum in the checksum field and IPv4 length and checksum of the whole):
   * written at once, after what is pending, for the kernel to cut into `segmentSize`
   * pieces. FIN and PSH may be set: the kernel keeps them for the last piece. With
   * `headroom` for it, the vnet header is written in front of the packet, in the
   * sender's buffer: no copy of up to 64 KB behind a header of our own.
   */
  private sendSegmented(packet: Uint8Array, segmentSize: number, headroom: number): void {
    this.flush();
    const ipBytes = networkHeaderBytes(packet);
    const headerBytes = ipBytes + (packet[ipBytes + TCP_DATA_OFFSET]! >>> 4) * 4;
    const inPlace = headroom >= VNET_HEADER_BYTES && packet.byteOffset >= VNET_HEADER_BYTES;
    const whole = inPlace
      ? new Uint8Array(
          packet.buffer,
          packet.byteOffset - VNET_HEADER_BYTES,
          VNET_HEADER_BYTES + packet.length,
        )
      : this.buffer.subarray(0, VNET_HEADER_BYTES + packet.length);
    whole.fill(0, 0, VNET_HEADER_BYTES);
    markNeedsChecksum(whole, ipBytes);
    whole[1] = ipBytes === IPV6_HEADER_BYTES ? GSO_TCPV6 : GSO_TCPV4;
    writeLe16(whole, 2, headerBytes);
    writeLe16(whole, 4, segmentSize);
    if (!inPlace) this.packet.set(packet);
    this.superSegments++;
    this.mergedSegments += Math.ceil((packet.length - headerBytes) / segmentSize);
    this.write(whole);
  }

  /** Same connection, same headers but SEQ, the next sequence number, and room left. */
  private extends(packet: Uint8Array, payload: number): boolean {
    if (this.closed || payload > this.segmentSize) return false;
    if (packet.length - payload !== this.headerBytes) return false;
    if (this.length + payload > MAX_SUPER_SEGMENT) return false;
    if (readUint32(packet, IP_HEADER_BYTES + TCP_SEQ) !== this.nextSeq) return false;
    const run = this.packet;
    // TOS, DF, TTL, protocol, addresses (bytes 1, 6, 8, 9, 12..20).
    if (packet[1] !== run[1] || packet[6] !== run[6] || packet[8] !== run[8]) return false;
    for (let i = IP_SOURCE; i < IP_HEADER_BYTES; i++) if (packet[i] !== run[i]) return false;
    // Ports, ACK, data offset, window, urgent pointer and options: all but SEQ, flags, checksum.
    for (let i = IP_HEADER_BYTES; i < this.headerBytes; i++) {
      const inTcp = i - IP_HEADER_BYTES;
      if (inTcp >= TCP_SEQ && inTcp < TCP_SEQ + 4) continue;
      if (inTcp === TCP_FLAGS || inTcp === TCP_CHECKSUM || inTcp === TCP_CHECKSUM + 1) continue;
      if (packet[i] !== run[i]) return false;
    }
    return true;
  }

  private append(packet: Uint8Array, payload: number): void {
    this.packet.set(packet.subarray(packet.length - payload), this.length);
    this.length += payload;
    this.segments++;
    this.nextSeq = (this.nextSeq + payload) >>> 0;
    const flags = packet[IP_HEADER_BYTES + TCP_FLAGS]!;
    // The kernel keeps PSH on the last piece only, so it may join the run's header.
    this.packet[IP_HEADER_BYTES + TCP_FLAGS]! |= flags & PSH;
    if (payload < this.segmentSize || (flags & PSH) !== 0) this.closed = true;
  }

  /**
   * Total length and header checksum for the whole run; the TCP checksum field holds the
   * pseudo-header sum only (NEEDS_CSUM), as __tcp_v4_send_check leaves it for a NIC.
   */
  private finishSuperSegment(): void {
    const p = this.packet;
    p[IP_TOTAL_LENGTH] = this.length >>> 8;
    p[IP_TOTAL_LENGTH + 1] = this.length & 0xff;
    p[IP_CHECKSUM] = 0;
    p[IP_CHECKSUM + 1] = 0;
    const ipSum = internetChecksum(p.subarray(0, IP_HEADER_BYTES));
    p[IP_CHECKSUM] = ipSum >>> 8;
    p[IP_CHECKSUM + 1] = ipSum & 0xff;
    const tcpLength = this.length - IP_HEADER_BYTES;
    const pseudo = onesComplementSum(
      new Uint8Array(0),
      pseudoHeaderSum(
        readUint32(p, IP_SOURCE),
        readUint32(p, IP_DESTINATION),
        PROTOCOL_TCP,
        tcpLength,
      ),
    );
    p[IP_HEADER_BYTES + TCP_CHECKSUM] = pseudo >>> 8;
    p[IP_HEADER_BYTES + TCP_CHECKSUM + 1] = pseudo & 0xff;
    const h = this.buffer;
    markNeedsChecksum(h, IP_HEADER_BYTES);
    h[1] = GSO_TCPV4;
    writeLe16(h, 2, this.headerBytes);
    writeLe16(h, 4, this.segmentSize);
    this.superSegments++;
    this.mergedSegments += this.segments;
  }
}

/** NEEDS_CSUM over the TCP header and data after `ipBytes` of IP header (csum_start, csum_offset). */
function markNeedsChecksum(header: Uint8Array, ipBytes: number): void {
  header[0] = NEEDS_CSUM;
  writeLe16(header, 6, ipBytes);
  writeLe16(header, 8, TCP_CHECKSUM);
}

/** The network header's length: IPv6's fixed 40 bytes, or IPv4's IHL words. */
function networkHeaderBytes(packet: Uint8Array): number {
  return packet[0]! >>> 4 === 6 ? IPV6_HEADER_BYTES : (packet[0]! & 0x0f) * 4;
}

function writeLe16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = value >>> 8;
}
