/**
 * What to send now (RFC 9293 §3.8, §3.10.2): data within min(SND.WND, cwnd), the
 * SYN and FIN, ACKs and window updates.
 *
 * - Sender SWS avoidance and Nagle (RFC 9293 §3.8.6.2.1, RFC 1122 §4.2.3.4): new data
 *   goes out when a full segment is ready, or all queued data fits and nothing is
 *   unacknowledged (or TCP_NODELAY), or it is at least half the largest window the
 *   peer offered.
 *
 * It decides; transmit.ts writes each segment.
 */
import { IPV6_HEADER_LENGTH } from "../ipv6/header.ts";
import { sackRecoverySend, windowFlight } from "./fast_recovery.ts";
import { Flag } from "./header.ts";
import { seqAdd, seqDiff, seqGt, seqLt, seqMin } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { armPersist } from "./timers.ts";
import { dataRoom, sendAck, transmit } from "./transmit.ts";
import { inUrgentMode } from "./urgent.ts";

/** Data in one segment for the device to cut (TSO): a packet of 65,535 bytes with the
 * larger network header (IPv6's 40) and the largest TCP header (60 bytes, RFC 9293 §3.1
 * Data Offset), so the same room fits either family. */
const MAX_OFFLOAD_DATA = 65535 - IPV6_HEADER_LENGTH - 60;

/** Sends everything the state, windows and Nagle allow, then an ACK if one is owed. */
export function output(tcb: Tcb, now: number): void {
  if (tcb.closed) return;
  tcb.dirty = false;
  let sentAck = false;
  switch (tcb.state) {
    case "SYN-SENT":
    case "SYN-RECEIVED":
      // The SYN (or SYN,ACK) goes out when SND.NXT is back at ISS: at OPEN or after a timeout.
      if (tcb.sndNxt === tcb.iss || (tcb.ackNow && tcb.state === "SYN-RECEIVED")) sendSyn(tcb, now);
      tcb.ackNow = false;
      return;
    case "ESTABLISHED":
    case "CLOSE-WAIT":
    case "FIN-WAIT-1":
    case "CLOSING":
    case "LAST-ACK":
      // Loss-recovery recipe step 1 (fast_recovery.ts): RFC 6675 NextSeg() while in SACK
      // recovery, else new data (or go-back-N after a timeout) within the windows.
      if (tcb.cc.inRecovery && tcb.sackEnabled) sentAck = sackRecoverySend(tcb, now);
      else sentAck = sendData(tcb, now);
      break;
    default:
      break;
  }
  // A pure ACK carries SND.MAX, not SND.NXT (as BSD does): after a timeout SND.NXT is
  // back at SND.UNA, and a sequence number the peer has already passed would make it
  // find the ACK unacceptable and drop it unread (RFC 9293 §3.10.7.4 first step) --
  // two peers doing that to each other trade ACKs forever.
  if (tcb.ackNow && !sentAck) sendAck(tcb, now);
  armKeepalive(tcb, now);
  // RFC 6298 §5.1: while data is outstanding a timer must run, even when nothing could
  // be sent just now (e.g. after a timeout into a closed window).
  if (tcb.sndMax !== tcb.sndUna && tcb.retransmitAt === Number.POSITIVE_INFINITY) {
    if (tcb.persistAt === Number.POSITIVE_INFINITY) tcb.retransmitAt = now + tcb.rtoMs;
  }
}

function sendSyn(tcb: Tcb, now: number): void {
  const flags = tcb.state === "SYN-RECEIVED" ? Flag.SYN | Flag.ACK : Flag.SYN;
  transmit(tcb, tcb.iss, 0, flags, now);
  tcb.sndNxt = seqAdd(tcb.iss, 1);
  if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
  if (tcb.retransmitAt === Number.POSITIVE_INFINITY) tcb.retransmitAt = now + tcb.rtoMs;
}

/**
 * Data bytes one segment may carry: one MSS, or with segmentation offload as many whole
 * MSS as fit in one 64 KB packet of either family; the device cuts it back into
 * MSS-sized segments (`stack/offload.ts`). Nagle and SWS avoidance still compare with
 * one MSS.
 */
function segmentRoom(tcb: Tcb, smss: number): number {
  if (tcb.layer.host.offload?.segmentation !== true) return smss;
  return Math.max(smss, smss * Math.floor(MAX_OFFLOAD_DATA / smss));
}

/** How many more bytes the congestion and send windows allow past SND.NXT. */
function usableWindow(tcb: Tcb): number {
  const cc = tcb.cc;
  // Recipe step 1b: with SACK and duplicate ACKs, what is in flight is pipe (RFC 6675);
  // with RACK-TLP, its pipe (fast_recovery.ts windowFlight).
  const inFlight = windowFlight(tcb);
  // cc.sendWindow is cwnd plus RFC 3042 limited transmit on the first duplicate ACKs.
  const congestionRoom = Math.floor(cc.sendWindow) - inFlight;
  const windowRoom = tcb.sndWnd - seqDiff(tcb.sndNxt, tcb.sndUna);
  return Math.min(congestionRoom, windowRoom);
}

/**
 * The next segment sendData may send, filled by `planSegment`: one object reused, so the
 * data loop allocates nothing per segment.
 */
const plan = { len: 0, available: 0, fin: false, retransmitting: false };

/** The data loop. Returns true if any segment (all carry ACK) went out. */
function sendData(tcb: Tcb, now: number): boolean {
  let sent = false;
  const smss = dataRoom(tcb);
  const room = segmentRoom(tcb, smss);
  // RFC 5681 §4.1: after an idle period longer than RTO, restart from the initial window.
  if (tcb.flightBytes === 0 && now - tcb.lastSendMs > tcb.rtoMs) tcb.cc.onIdleRestart(now);
  for (let guard = 0; guard < 100_000; guard++) {
    if (skipSacked(tcb)) continue;
    planSegment(tcb, smss, room);
    if (plan.len === 0 && !plan.fin) {
      persistIfWindowClosed(tcb, now);
      break;
    }
    if (nagleHolds(tcb, smss)) {
      // RFC 1122 §4.2.3.4 (4): data held back with nothing in flight needs the
      // "override timeout"; the persist timer serves (and probes if the window is 0).
      if (tcb.flightBytes === 0) armPersist(tcb, now);
      break;
    }
    sent = true;
    if (sendPlanned(tcb, now)) break; // the FIN went: nothing follows it
  }
  return sent;
}

/** Go-back-N after a timeout skips what the receiver already SACKed (RFC 6675 §5.1). */
function skipSacked(tcb: Tcb): boolean {
  if (!tcb.sackEnabled || !seqLt(tcb.sndNxt, tcb.sndMax)) return false;
  const end = tcb.board.sackedEnd(tcb.sndNxt);
  if (end === undefined) return false;
  tcb.sndNxt = seqMin(end, tcb.sndMax);
  return true;
}

/**
 * How much the next segment at SND.NXT carries: what is queued, within the segment size
 * and min(cwnd, SND.WND) (RFC 9293 §3.8.6, RFC 5681 §3.1); a resent segment stops at
 * the next SACKed range; the FIN goes with the last byte (or alone, even into a closed
 * window).
 */
function planSegment(tcb: Tcb, smss: number, room: number): void {
  const dataEnd = seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length);
  const available = Math.max(0, seqDiff(dataEnd, tcb.sndNxt));
  const retransmitting = seqLt(tcb.sndNxt, tcb.sndMax);
  let len = Math.max(0, Math.min(available, retransmitting ? smss : room, usableWindow(tcb)));
  // A TSO segment is whole MSS-sized pieces, plus a short one only at the end of the data.
  if (len > smss && len < available) len -= len % smss;
  if (retransmitting && tcb.sackEnabled) {
    const nextSacked = tcb.board.nextSackedStart(tcb.sndNxt);
    if (nextSacked !== undefined) len = Math.min(len, seqDiff(nextSacked, tcb.sndNxt));
  }
  plan.len = len;
  plan.available = available;
  plan.retransmitting = retransmitting;
  plan.fin =
    tcb.finQueued &&
    len === available &&
    (tcb.finSeq === undefined || tcb.finSeq === seqAdd(tcb.sndNxt, len));
}

/**
 * RFC 9293 §3.8.6.1: data waits on a closed window with nothing in flight (or all of it
 * backed out by a timeout): the persist timer probes it.
 */
function persistIfWindowClosed(tcb: Tcb, now: number): void {
  const windowClosed = tcb.sndWnd <= seqDiff(tcb.sndNxt, tcb.sndUna);
  const waiting = tcb.flightBytes === 0 || (windowClosed && tcb.sndNxt === tcb.sndUna);
  if (plan.available > 0 && waiting) armPersist(tcb, now);
}

/**
 * RFC 1122 §4.2.3.4 Nagle and RFC 9293 §3.8.6.2.1 sender SWS avoidance: a short segment
 * of new data waits unless it is all there is and nothing is unacknowledged (or
 * TCP_NODELAY), or it is half the largest window the peer offered.
 */
function nagleHolds(tcb: Tcb, smss: number): boolean {
  const len = plan.len;
  if (plan.retransmitting || len === 0 || len >= smss || plan.fin) return false;
  if (inUrgentMode(tcb)) return false; // urgent data is never held (Linux tcp_nagle_test)
  const allQueued = len === plan.available;
  const idle = tcb.sndUna === tcb.sndMax;
  const halfWindow = len >= tcb.maxSndWnd / 2;
  return !((allQueued && (idle || tcb.options.noDelay)) || halfWindow || tcb.forceSend);
}

/**
 * Sends the planned segment and advances SND.NXT (and SND.MAX) over it; true if it
 * carried the FIN. `plan` is read before `transmit`, which may deliver to a peer that
 * answers at once (a test harness), running sendData again.
 */
function sendPlanned(tcb: Tcb, now: number): boolean {
  const { len, fin, available } = plan;
  let flags = Flag.ACK;
  if (fin) flags |= Flag.FIN;
  if (len > 0 && len === available) flags |= Flag.PSH;
  transmit(tcb, tcb.sndNxt, len, flags, now);
  if (fin) tcb.finSeq = seqAdd(tcb.sndNxt, len);
  tcb.sndNxt = seqAdd(tcb.sndNxt, len + (fin ? 1 : 0));
  if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
  tcb.persistAt = Number.POSITIVE_INFINITY;
  tcb.persistBackoff = 0;
  if (tcb.retransmitAt === Number.POSITIVE_INFINITY) tcb.retransmitAt = now + tcb.rtoMs; // RFC 6298 §5.1
  return fin;
}

/** Arms the keep-alive timer on an established connection with SO_KEEPALIVE. */
function armKeepalive(tcb: Tcb, now: number): void {
  if (tcb.options.keepAlive && tcb.keepaliveAt === Number.POSITIVE_INFINITY) {
    if (tcb.state === "ESTABLISHED" || tcb.state === "CLOSE-WAIT")
      tcb.keepaliveAt = now + tcb.layer.config.keepaliveIdleMs;
  } else if (!tcb.options.keepAlive) tcb.keepaliveAt = Number.POSITIVE_INFINITY;
}
