/**
 * Writing segments: the leaf of stack/tcp/ that knows how to build and send one segment
 * of a connection, and nothing about why it is sent. Those who decide call it:
 * output.ts (what the windows allow now), fast_recovery.ts and rack/recovery.ts
 * (what to resend), timeouts.ts (probes), challenge_ack.ts (RFC 5961), user_calls.ts.
 *
 * - Every segment carries the timestamps option when negotiated (RFC 7323 §3.2) and
 *   SACK blocks while the out-of-order queue holds data (RFC 2018 §4), and a D-SACK
 *   block after a duplicate arrived (RFC 2883 §4).
 * - The window field follows receiver SWS avoidance (RFC 9293 §3.8.6.2.2).
 * - What was sent is accounted: RTT timing (RFC 6298 §3, Karn), retransmission counts,
 *   D-SACK evidence (sack/dsack.ts), the RACK-TLP record (rack/pto.ts, RFC 8985 §6.1).
 *
 * It imports only what describes segments and the TCB (header, options, seq, offload,
 * rack/pto.ts's bookkeeping), never a module that decides: a test
 * (tests/docs/import_cycles.test.ts) keeps stack/ free of import cycles.
 */
import { LINK_HEADROOM, PARTIAL_CHECKSUM, type TransmitOffload } from "../offload.ts";
import { Flag, finishChecksum, partialChecksum, writeSegment } from "./header.ts";
import type { ReusableOptions } from "./options.ts";
import { rackActive, rackOnTransmit } from "./rack/pto.ts";
import { maxSackBlocks } from "./sack/receiver_blocks.ts";
import { seqAdd, seqDiff, seqGt, seqLt, tsClock } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { urgentPointerFor } from "./urgent.ts";

/**
 * SEG.SEQ of a pure ACK: SND.MAX, but never past the peer's right edge SND.UNA+SND.WND.
 * A peer whose window closed (or shrank) under data we had already sent accepts a
 * segment without data only at RCV.NXT, at most its right edge (RFC 9293 §3.10.7.4
 * first step); an ACK at SND.MAX beyond it is dropped unread, and if the peer is itself
 * waiting for that ACK to free its buffers, neither side moves again. Linux does the
 * same (tcp_acceptable_seq), and so does its exception: SND.MAX past our view of the
 * edge by less than one unit of the peer's window scale is not past the edge itself,
 * only past the window field rounded down (RFC 7323 §2.3 scaling; the peer's edge
 * never moves left, RFC 9293 §3.8.6). Using the rounded edge there put SEG.SEQ below a
 * peer's RCV.NXT that already held that data: each side then dropped the other's ACKs
 * as old and answered with an ACK, forever (a lossy-link property run, found with
 * RACK-TLP's timing: both ends in FIN-WAIT-1, 556,913 tcpInWindowDrops).
 */
function pureAckSeq(tcb: Tcb): number {
  const edge = seqAdd(tcb.sndUna, tcb.sndWnd);
  if (!seqGt(tcb.sndMax, edge)) return tcb.sndMax;
  return seqDiff(tcb.sndMax, edge) < 2 ** tcb.sndScale ? tcb.sndMax : edge;
}

/**
 * An ACK now, with what the segment must carry (timestamps, SACK blocks). In
 * SYN-RECEIVED our SYN is not yet acknowledged, so the acknowledgment we owe is the
 * SYN,ACK again (RFC 9293 §3.10.7.4 first step: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
 * and in SYN-RECEIVED SND.NXT is still our SYN's).
 */
export function sendAck(tcb: Tcb, now: number): void {
  if (tcb.state === "SYN-RECEIVED") transmit(tcb, tcb.iss, 0, Flag.SYN | Flag.ACK, now);
  else transmit(tcb, pureAckSeq(tcb), 0, Flag.ACK, now);
}

/**
 * Data bytes that fit in one segment: the effective MSS (timestamps already deducted),
 * less room for SACK blocks while we have any to report (RFC 9293 §3.7.1: the MSS
 * counts data only, so options must not push a segment past the path MTU).
 */
export function dataRoom(tcb: Tcb): number {
  if (!tcb.sackEnabled || (tcb.reassembly.empty && !tcb.sackReporter.dsackPending)) return tcb.smss;
  return tcb.smss - (tcb.tsEnabled ? 4 + 3 * 8 : 4 + 4 * 8);
}

/**
 * Resends up to `maxLen` bytes starting at `seq` (a fast retransmit or a SACK hole),
 * with the FIN if it falls right after. Returns the bytes of sequence space sent.
 */
export function retransmit(tcb: Tcb, seq: number, maxLen: number, now: number): number {
  const dataEnd = seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length);
  const len = Math.max(0, Math.min(maxLen, dataRoom(tcb), seqDiff(dataEnd, seq)));
  const fin = tcb.finSeq !== undefined && tcb.finSeq === seqAdd(seq, len);
  if (len === 0 && !fin) return 0;
  transmit(tcb, seq, len, Flag.ACK | (fin ? Flag.FIN : 0), now);
  if (tcb.retransmitAt === Number.POSITIVE_INFINITY) tcb.retransmitAt = now + tcb.rtoMs;
  return len + (fin ? 1 : 0);
}

/**
 * Sends `maxLen` bytes of new data at SND.MAX (RFC 6675 NextSeg rule 2), with the FIN
 * if that empties the buffer after CLOSE. Returns the bytes of sequence space sent.
 */
export function transmitNewData(tcb: Tcb, maxLen: number, now: number): number {
  const dataEnd = seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length);
  const available = Math.max(0, seqDiff(dataEnd, tcb.sndMax));
  const len = Math.min(maxLen, dataRoom(tcb), available);
  const fin = tcb.finQueued && tcb.finSeq === undefined && len === available;
  if (len === 0 && !fin) return 0;
  transmit(
    tcb,
    tcb.sndMax,
    len,
    Flag.ACK | (fin ? Flag.FIN : 0) | (len > 0 && len === available ? Flag.PSH : 0),
    now,
  );
  if (fin) tcb.finSeq = seqAdd(tcb.sndMax, len);
  tcb.sndMax = seqAdd(tcb.sndMax, len + (fin ? 1 : 0));
  if (seqLt(tcb.sndNxt, tcb.sndMax)) tcb.sndNxt = tcb.sndMax;
  if (tcb.retransmitAt === Number.POSITIVE_INFINITY) tcb.retransmitAt = now + tcb.rtoMs;
  return len + (fin ? 1 : 0);
}

/**
 * A zero-window or keep-alive probe: an ACK with SEG.SEQ = SND.UNA − 1, which the peer
 * finds unacceptable and answers with an ACK carrying its window (RFC 1122 §4.2.3.6,
 * the form Linux uses for both).
 */
export function sendProbe(tcb: Tcb, now: number): void {
  transmit(tcb, seqAdd(tcb.sndUna, -1), 0, Flag.ACK, now);
}

/** Builds and sends one segment of `tcb`; `len` data bytes come from the send buffer. */
export function transmit(tcb: Tcb, seq: number, len: number, flags: number, now: number): void {
  const syn = (flags & Flag.SYN) !== 0;
  const wnd = syn ? Math.min(tcb.recvBuffer.free, 65535) : windowField(tcb);
  // The header fields, options and buffer are reused from segment to segment (tcp.ts):
  // sending allocates nothing but the data's view.
  const seg = tcb.layer.outgoing;
  seg.sourcePort = tcb.localPort;
  seg.destinationPort = tcb.remotePort;
  seg.seq = seq;
  seg.ack = flags & Flag.ACK ? tcb.rcvNxt : 0;
  seg.urgentPointer = urgentPointerFor(tcb, seq, flags); // RFC 9293 §3.8.5 (urgent.ts)
  seg.flags = seg.urgentPointer > 0 ? flags | Flag.URG : flags;
  seg.wnd = wnd;
  segmentOptions(tcb, syn, flags, now, seg.options);
  const buffer = tcb.layer.txBuffers.acquire();
  try {
    // The network layer of the connection's family (network.ts): its header goes in
    // front, its pseudo-header into the checksum, its output sends.
    const { net, localAddress, remoteAddress } = tcb;
    const dataAt = writeSegment(seg, buffer.bytes, net.headerLength);
    const packet = buffer.view(dataAt + len);
    if (len > 0) tcb.sendBuffer.peek(seqDiff(seq, tcb.sndBufSeq), packet.subarray(dataAt));
    const offload = transmitOffload(tcb, len);
    if (offload === undefined) {
      finishChecksum(packet, localAddress, remoteAddress, net.headerLength);
    } else partialChecksum(packet, localAddress, remoteAddress, net.headerLength);
    accountSent(tcb, seq, len, flags, now);
    if (syn) tcb.rcvAdv = seqAdd(tcb.rcvNxt, wnd);
    // The connection's IP_TTL and IP_TOS go to IP unchanged (MUST-48, MUST-49, SHLD-22).
    const send = tcb.layer.networkSend(
      localAddress,
      remoteAddress,
      offload,
      tcb.flowLabel,
      tcb.options,
    );
    net.output(packet, send);
  } finally {
    tcb.layer.txBuffers.release(buffer);
  }
}

/**
 * What the device finishes for this segment (`stack/offload.ts`): nothing on a plain
 * link or for a segment without data; the checksum of a data segment with checksum
 * offload; and with TSO, for more than one MSS of data, the cutting into
 * `dataRoom`-sized pieces (RFC 9293 §3.7.1 holds per piece). A header-only segment
 * keeps its full checksum: there is no data to save a pass over, and the kernel spent
 * measurably more time on ACKs arriving from the TUN with a partial one (upload with
 * offload: 0.47–0.55 against 0.67–0.82 s of stack CPU per 100 MB, alternating runs).
 * The transmit buffer keeps LINK_HEADROOM in front (`packet_buffers.ts`), which the
 * device may use for its header instead of copying the segment behind it.
 */
function transmitOffload(tcb: Tcb, len: number): TransmitOffload | undefined {
  const offload = tcb.layer.host.offload;
  if (offload === undefined || !offload.checksum || len === 0) return undefined;
  const segmentSize = dataRoom(tcb);
  if (len <= segmentSize || !offload.segmentation) return PARTIAL_CHECKSUM;
  return { partialChecksum: true, segmentSize, headroom: LINK_HEADROOM };
}

function accountSent(tcb: Tcb, seq: number, len: number, flags: number, now: number): void {
  const stats = tcb.layer.host.stats;
  stats.count("tcpOutSegs");
  const occupies = len + (flags & (Flag.SYN | Flag.FIN) ? 1 : 0);
  if (occupies > 0) tcb.lastSendMs = now;
  // RFC 8985 §6.1: RACK-TLP records every transmission but the SYN (rack/pto.ts).
  if (occupies > 0 && !(flags & Flag.SYN) && rackActive(tcb))
    rackOnTransmit(tcb, seq, occupies, now);
  if (occupies > 0 && seqLt(seq, tcb.sndMax)) {
    stats.count("tcpRetransSegs");
    tcb.counters.retransSegs!++;
    tcb.spurious.noteRetransmit(seq, seqAdd(seq, occupies)); // D-SACK evidence (sack/dsack.ts)
    tcb.rttSeq = undefined; // Karn's rule (RFC 6298 §3): no sample across a retransmission
  } else if (occupies > 0 && tcb.rttSeq === undefined && !tcb.tsEnabled) {
    tcb.rttSeq = seq; // time this segment: a sample when an ACK covers it
    tcb.rttStartMs = now;
  }
  if (flags & Flag.ACK) {
    tcb.ackNow = false;
    tcb.delayedAckAt = Number.POSITIVE_INFINITY;
    tcb.segmentsSinceAck = 0;
    tcb.lastAckSent = tcb.rcvNxt;
  }
}

/** Fills `options` (cleared first) with what this segment carries. */
function segmentOptions(
  tcb: Tcb,
  syn: boolean,
  flags: number,
  now: number,
  options: ReusableOptions,
): void {
  const config = tcb.layer.config;
  const active = tcb.state === "SYN-SENT";
  options.clear();
  if (syn) {
    options.mss = tcb.rcvMss; // RFC 9293 §3.7.1: MSS only in SYN segments
    // RFC 7323 §2.2 / RFC 2018 §2: offer in the SYN; in the SYN,ACK only if the peer did.
    if (active ? config.windowScale : tcb.wsAgreed) options.windowScale = tcb.offeredRcvScale;
    if (active ? config.sack : tcb.sackEnabled) options.sackPermitted = true;
    if (active ? config.timestamps : tcb.tsEnabled)
      options.setTimestamp(tsNow(tcb, now), flags & Flag.ACK ? tcb.tsRecent : 0);
    return;
  }
  if (tcb.tsEnabled) options.setTimestamp(tsNow(tcb, now), tcb.tsRecent);
  // RFC 2883 §4: a D-SACK is reported even when nothing is held out of order.
  const sackToSend = !tcb.reassembly.empty || tcb.sackReporter.dsackPending;
  if (tcb.sackEnabled && sackToSend && flags & Flag.ACK) {
    const max = maxSackBlocks(tcb.tsEnabled);
    const held = tcb.reassembly.ranges(tcb.sackReporter.recentArrivals, max);
    const blocks = tcb.sackReporter.blocks(held, max);
    if (blocks.length > 0) options.sackBlocks = blocks;
  }
}

/** Our TSval clock (RFC 7323 §5.4): milliseconds plus a per-connection random offset. */
export function tsNow(tcb: Tcb, now: number): number {
  return tsClock(now, tcb.tsOffset);
}

/**
 * The window field to advertise (scaled). RFC 9293 §3.8.6.2.2: the right edge moves
 * only when it gains min(buffer/2, MSS). With a window scale the field is rounded
 * down, so the window offered never exceeds the free space; that may look like a
 * shrink of less than 2^shift, which RFC 7323 §2.4 allows as long as we keep honouring
 * the furthest edge ever offered: RCV.ADV only moves right, and segment acceptance
 * (segment_arrives.ts receiveWindow) uses it.
 */
function windowField(tcb: Tcb): number {
  const buffer = tcb.recvBuffer;
  const free = tcb.shutRd ? buffer.capacity : buffer.free;
  const scale = 2 ** tcb.rcvScale;
  const current = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  let window = Math.min(current, free);
  if (free - current >= Math.min(buffer.capacity / 2, tcb.rcvMss)) window = free;
  const field = Math.min(Math.floor(window / scale), 65535);
  const edge = seqAdd(tcb.rcvNxt, field * scale);
  if (seqGt(edge, tcb.rcvAdv)) tcb.rcvAdv = edge;
  return field;
}
