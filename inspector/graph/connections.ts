/**
 * A capture's TCP connections: segments grouped by four-tuple, in capture order. A new
 * SYN on a four-tuple whose previous connection has closed starts a new connection (the
 * same ports reused, RFC 9293 §3.4.1).
 */
import { ACK, decodeTcpPacket, FIN, RST, type SegmentRecord, SYN } from "../tcp_segment.ts";
import type { CapturedPacket } from "./pcap_reader.ts";

export interface CapturedConnection {
  /** 1-based, in order of first appearance, for `--connection N`. */
  readonly index: number;
  /** The endpoint that sent the first SYN (or the first segment, if no SYN was seen). */
  readonly client: string;
  readonly server: string;
  readonly segments: SegmentRecord[];
}

export function connectionsOf(packets: readonly CapturedPacket[]): CapturedConnection[] {
  const open = new Map<string, CapturedConnection & { ended: boolean }>();
  const all: CapturedConnection[] = [];
  for (const packet of packets) {
    const s = decodeTcpPacket(packet.ip, packet.timeMs);
    if (s === undefined) continue;
    const key =
      s.source < s.destination ? `${s.source} ${s.destination}` : `${s.destination} ${s.source}`;
    let c = open.get(key);
    const freshSyn = (s.flags & (SYN | ACK)) === SYN;
    if (c === undefined || (c.ended && freshSyn)) {
      c = {
        index: all.length + 1,
        client: s.source,
        server: s.destination,
        segments: [],
        ended: false,
      };
      open.set(key, c);
      all.push(c);
    }
    c.segments.push(s);
    if (s.flags & (FIN | RST)) c.ended = true;
  }
  return all.map(({ index, client, server, segments }) => ({ index, client, server, segments }));
}

/** The endpoint that sent more data bytes: the one whose time-sequence graph is telling. */
export function mainSender(c: CapturedConnection): string {
  let fromClient = 0;
  let fromServer = 0;
  for (const s of c.segments) {
    if (s.source === c.client) fromClient += s.dataBytes;
    else fromServer += s.dataBytes;
  }
  return fromServer > fromClient ? c.server : c.client;
}
