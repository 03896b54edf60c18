/**
 * Urgent data: the urgent pointer (RFC 9293 §3.8.5, §3.10.7.4 sixth step; RFC 6093)
 * and the out-of-band byte that BSD sockets, and Linux, make of it.
 *
 * The RFC's model is a stream of urgency: the pointer marks a point in the data stream
 * (it "points to the sequence number of the octet following the urgent data", MUST-62,
 * as RFC 6093 §4 settled), everything before it is urgent, of any length (MUST-31), and
 * the receiver tells the application when the pointer is ahead of what it has read
 * (MUST-32, MUST-33). No byte leaves the stream.
 *
 * Linux (and every BSD-derived stack, RFC 6093 §3.1) implements something else, which is
 * what programs expect and what this stack does:
 *  - only the LAST urgent byte is special: unless SO_OOBINLINE, it is taken OUT of the
 *    stream and kept in a one-byte slot, read by recv(MSG_OOB); the bytes before it are
 *    ordinary data. A newer pointer replaces an unread byte (RFC 6093 §3.3).
 *  - a normal read stops at the mark (the urgent byte's place), so SIOCATMARK can say
 *    "the next byte is the urgent one"; POLLPRI/EPOLLPRI is the asynchronous signal
 *    (Linux also sends SIGURG; there are no signals here).
 *  - recv(MSG_OOB): EINVAL with SO_OOBINLINE, with no urgent data or once it was read;
 *    EAGAIN while the urgent byte has not arrived (it never blocks); 0 bytes after the
 *    peer's FIN.
 *  - Linux (tcp_check_urg) takes a pointer of 0 to mean the byte at SEG.SEQ; the RFC's
 *    reading is "no urgent octet here", and we ignore it.
 * So MUST-31 (any length) holds for the pointer and the stream, but only one byte of it
 * is out of band; with SO_OOBINLINE the RFC's stream model is what the reader sees, with
 * atMark() telling where urgency ends.
 *
 * Sending: send(MSG_OOB) sets SND.UP after the last byte queued (RFC 9293 §3.10.2 "SND.UP
 * <- SND.NXT" with the data), every segment sent below SND.UP carries URG and the pointer
 * (0xFFFF when it lies further, as Linux does), Nagle does not hold urgent data back
 * (Linux tcp_nagle_test), and urgent mode ends when SND.UNA passes SND.UP.
 */
import { Flag, type TcpSegment } from "./header.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
import type { Tcb } from "./tcb.ts";

/** The urgent pointer is a 16-bit offset from SEG.SEQ (RFC 9293 §3.1). */
const MAX_URGENT_OFFSET = 0xffff;

/** What one connection remembers about urgency, in both directions. */
export class UrgentState {
  /** SND.UP: the sequence number after our last urgent byte, while in urgent mode. */
  sndUp: number | undefined;
  /** The mark: the sequence number of the peer's last urgent byte (RCV.UP − 1; Linux urg_seq). */
  mark: number | undefined;
  /** The out-of-band byte, kept once a normal read skipped over its place. */
  byte: number | undefined;
  /** recv(MSG_OOB) has taken it (Linux TCP_URG_READ). */
  taken = false;
}

// ---- Sending ------------------------------------------------------------------

/** send(MSG_OOB): the last byte queued so far is urgent; SND.UP goes after it. */
export function markUrgent(tcb: Tcb): void {
  if (tcb.sendBuffer.length === 0) return;
  tcb.urgent.sndUp = seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length);
  tcb.layer.markDirty(tcb);
}

/** Urgent data is queued and not all sent: Nagle must not hold it back. */
export function inUrgentMode(tcb: Tcb): boolean {
  const up = tcb.urgent.sndUp;
  return up !== undefined && seqGt(up, tcb.sndNxt);
}

/**
 * The urgent pointer field for a segment at `seq` (0: URG off). RFC 9293 §3.8.5: the
 * pointer goes in every segment sent while urgent data lies ahead, ACKs and probes too,
 * so the peer hears of it even through a closed window.
 */
export function urgentPointerFor(tcb: Tcb, seq: number, flags: number): number {
  const up = tcb.urgent.sndUp;
  if (up === undefined || flags & (Flag.SYN | Flag.RST)) return 0;
  if (seqGe(tcb.sndUna, up)) {
    tcb.urgent.sndUp = undefined; // all urgent data acknowledged: urgent mode is over
    return 0;
  }
  if (seqLe(up, seq)) return 0;
  return Math.min(seqDiff(up, seq), MAX_URGENT_OFFSET);
}

// ---- Receiving ----------------------------------------------------------------

/**
 * Sixth step of SEGMENT ARRIVES (RFC 9293 §3.10.7.4), "check the URG bit": in
 * ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2, RCV.UP <- max(RCV.UP, SEG.UP) and the user is
 * signalled (MUST-30, MUST-32). Called before the text is taken, as Linux's tcp_urg.
 */
export function checkUrg(tcb: Tcb, seg: TcpSegment): void {
  if (!(seg.flags & Flag.URG) || seg.urgentPointer === 0 || tcb.shutRd) return;
  const s = tcb.state;
  if (s !== "ESTABLISHED" && s !== "FIN-WAIT-1" && s !== "FIN-WAIT-2") return;
  const mark = seqAdd(seg.seq, seg.urgentPointer - 1); // the last urgent byte (MUST-62)
  const urgent = tcb.urgent;
  // A pointer to data already received is old news, and so is one we already have.
  if (seqLt(mark, tcb.rcvNxt)) return;
  if (urgent.mark !== undefined && seqLe(mark, urgent.mark)) return;
  // As Linux: the old out-of-band byte waiting right at the read position is dropped
  // rather than becoming in-band data when the mark moves on.
  if (urgent.mark !== undefined && !inline(tcb) && seqDiff(urgent.mark, readSeq(tcb)) === 0) {
    if (tcb.recvBuffer.length > 0) tcb.recvBuffer.discard(1);
  }
  urgent.mark = mark;
  urgent.byte = undefined;
  urgent.taken = false;
  tcb.changed = true;
}

/** SO_OOBINLINE: the urgent byte stays in the stream. */
function inline(tcb: Tcb): boolean {
  return tcb.options.oobInline === true;
}

/** The sequence number of the next byte the application will read (Linux copied_seq). */
function readSeq(tcb: Tcb): number {
  return seqAdd(tcb.rcvNxt, -(tcb.recvBuffer.length + (tcb.finReceived ? 1 : 0)));
}

/** Offset of the mark from the read position, or undefined without a mark. */
function markOffset(tcb: Tcb): number | undefined {
  const mark = tcb.urgent.mark;
  return mark === undefined ? undefined : seqDiff(mark, readSeq(tcb));
}

/** The urgent byte has arrived (RCV.NXT is past the mark). */
function urgentArrived(tcb: Tcb): boolean {
  const offset = markOffset(tcb);
  return offset !== undefined && offset < tcb.recvBuffer.length;
}

/** 1 while the out-of-band byte sits in the receive buffer, which reads skip; else 0. */
export function outOfBandHole(tcb: Tcb): number {
  return !inline(tcb) && urgentArrived(tcb) ? 1 : 0;
}

/** SIOCATMARK: the next byte to read is the urgent one (MUST-33). */
export function atUrgentMark(tcb: Tcb): boolean {
  return markOffset(tcb) === 0;
}

/** POLLPRI: the urgent byte has arrived and recv(MSG_OOB) has not taken it (MUST-32). */
export function urgentPending(tcb: Tcb): boolean {
  return urgentArrived(tcb) && !tcb.urgent.taken;
}

/**
 * recv(MSG_OOB): the urgent byte, or why not: "none" (inline, none, or already taken:
 * EINVAL on Linux) or "not-yet" (the pointer came, the byte has not: EAGAIN).
 */
export function takeUrgentByte(tcb: Tcb, peek: boolean): number | "none" | "not-yet" {
  const urgent = tcb.urgent;
  if (inline(tcb) || urgent.mark === undefined || urgent.taken) return "none";
  let byte = urgent.byte;
  if (byte === undefined) {
    if (!urgentArrived(tcb)) return "not-yet";
    byte = peekByte(tcb, markOffset(tcb)!);
  }
  if (!peek) urgent.taken = true;
  return byte;
}

function peekByte(tcb: Tcb, offset: number): number {
  const one = new Uint8Array(1);
  tcb.recvBuffer.peek(offset, one);
  return one[0]!;
}

/**
 * Reads (or peeks) in-band data as Linux's tcp_recvmsg does around the mark: stop
 * before it when anything was read; at it, step over the out-of-band byte (keeping it
 * for recv(MSG_OOB)) unless SO_OOBINLINE, and read on.
 */
export function readInBand(tcb: Tcb, into: Uint8Array, peek: boolean): number {
  const buffer = tcb.recvBuffer;
  const offset = markOffset(tcb);
  if (offset === undefined || offset < 0) return copyOut(tcb, into, 0, peek);
  if (offset > 0) return copyOut(tcb, into.subarray(0, Math.min(into.length, offset)), 0, peek);
  // At the mark: the urgent byte is next (or has not arrived: nothing to read).
  const skip = inline(tcb) ? 0 : 1;
  if (skip === 1 && buffer.length > 0) tcb.urgent.byte ??= peekByte(tcb, 0);
  const n = copyOut(tcb, into, skip, peek);
  if (n > 0 && !peek) {
    if (skip > 0) buffer.discard(skip + n); // copyOut only peeked past the hole
    clearMarkIfPassed(tcb);
  }
  return n;
}

/** Copies up to `into.length` bytes starting `skip` bytes into the buffer, or reads them. */
function copyOut(tcb: Tcb, into: Uint8Array, skip: number, peek: boolean): number {
  const buffer = tcb.recvBuffer;
  const n = Math.min(into.length, buffer.length - skip);
  if (n <= 0) return 0;
  if (peek || skip > 0) {
    buffer.peek(skip, into.subarray(0, n));
    return n;
  }
  return buffer.read(into.subarray(0, n));
}

/** Once the read position is past the mark, urgency is over (Linux clears urg_data). */
function clearMarkIfPassed(tcb: Tcb): void {
  const offset = markOffset(tcb);
  if (offset === undefined || offset >= 0) return;
  tcb.urgent.mark = undefined;
  tcb.urgent.byte = undefined;
  tcb.urgent.taken = false;
}
