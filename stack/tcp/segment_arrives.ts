/**
 * SEGMENT ARRIVES for a connection that has a TCB (RFC 9293 §3.10.7.3 and §3.10.7.4),
 * shaped as the RFC: `onSynSent`, then for the synchronized states the steps in order:
 *
 *   first   check sequence number (the acceptability table)   checkSequence
 *   second  check the RST bit (with RFC 5961 §3)               onReset
 *   third   security (not implemented: RFC 9293 §3.10.7.4 makes it optional)
 *   fourth  check the SYN bit (RFC 5961 §4: challenge ACK)
 *   fifth   check the ACK field                                processAck (ack.ts)
 *   sixth   check the URG bit: ignored. RFC 6093 §5 says new applications should not
 *           use urgent data; we deliver the bytes inline and never signal urgency.
 *   seventh process the segment text                           processText
 *   eighth  check the FIN bit                                  processFin
 *
 * Before the first step, RFC 7323 §5.3 PAWS drops segments with old timestamps.
 * The CLOSED and LISTEN cases (no TCB) are in listen.ts.
 */
import { processAck } from "./ack.ts";
import { Flag, segmentLength, type TcpSegment } from "./header.ts";
import { initSendWindow, negotiateOptions, receiveSyn } from "./negotiate.ts";
import { noteDuplicateArrival } from "./sack/dsack.ts";
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLe, seqLt } from "./seq.ts";
import { sendResetFor } from "./stateless.ts";
import type { Tcb } from "./tcb.ts";
import { enterTimeWait, heardFromPeer, rttSample, timeWaitMs } from "./timers.ts";
import { destroy, establish, setState } from "./transitions.ts";

/** RFC 7323 §5.5: a TS.Recent older than 24 days is invalid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

export function segmentArrives(tcb: Tcb, seg: TcpSegment, now: number): void {
  if (tcb.state === "SYN-SENT") {
    onSynSent(tcb, seg, now);
    return;
  }
  if (tcb.state === "SYN-RECEIVED" && seg.flags & Flag.SYN && seg.seq === tcb.irs) {
    // The peer's SYN again: retransmitted, or its SYN,ACK in a simultaneous open
    // (RFC 9293 Figure 8, line 6). The SYN is old news; what follows it is not.
    if (!(seg.flags & Flag.ACK)) {
      tcb.ackNow = true; // a retransmitted SYN: resend our SYN,ACK
      return;
    }
    segmentArrives(tcb, { ...seg, seq: seqAdd(seg.seq, 1), flags: seg.flags & ~Flag.SYN }, now);
    return;
  }
  noteDuplicateArrival(tcb, seg); // RFC 2883 §4: a duplicate is reported in a D-SACK
  if (!pawsCheck(tcb, seg, now)) return;
  if (!checkSequence(tcb, seg)) return;
  heardFromPeer(tcb, now);
  if (seg.flags & Flag.RST) {
    onReset(tcb, seg, now);
    return;
  }
  if (seg.flags & Flag.SYN) {
    // RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK, never a reset.
    challengeAck(tcb, now);
    return;
  }
  if (!(seg.flags & Flag.ACK)) return; // fifth: "if the ACK bit is off, drop the segment"
  updateTsRecent(tcb, seg, now);
  if (!processAck(tcb, seg, now)) return;
  processText(tcb, seg, now);
  processFin(tcb, seg, now);
}

/** RFC 9293 §3.10.7.3: SEGMENT ARRIVES in SYN-SENT. */
function onSynSent(tcb: Tcb, seg: TcpSegment, now: number): void {
  const hasAck = (seg.flags & Flag.ACK) !== 0;
  // First: an ACK must acknowledge our SYN: ISS < SEG.ACK =< SND.NXT.
  if (hasAck && (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax))) {
    if (!(seg.flags & Flag.RST)) sendResetFor(tcb, seg.ack, 0, Flag.RST);
    return;
  }
  // Second: a RST with an acceptable ACK means the peer refused (RFC 5961 §3.2 agrees).
  if (seg.flags & Flag.RST) {
    if (hasAck) destroy(tcb, "ECONNREFUSED");
    return;
  }
  // Third (security) is not implemented. Fourth: the SYN bit.
  if (!(seg.flags & Flag.SYN)) return; // fifth: neither SYN nor RST: drop
  receiveSyn(tcb, seg.seq);
  negotiateOptions(tcb, seg.options, now);
  if (tcb.tsEnabled && seg.options.timestamp !== undefined)
    tcb.tsRecent = seg.options.timestamp.value;
  if (!hasAck) {
    // Simultaneous open (RFC 9293 §3.5, Figure 8): send SYN,ACK from SYN-RECEIVED.
    setState(tcb, "SYN-RECEIVED");
    tcb.sndNxt = tcb.iss;
    initSendWindow(tcb, seg, seg.ack);
    tcb.retransmitAt = Number.POSITIVE_INFINITY;
    return;
  }
  // Our SYN is acknowledged: ESTABLISHED. "Data or controls that were queued for
  // transmission may be included" in the ACK we send now.
  if (tcb.rttSeq !== undefined && tcb.retries === 0) rttSample(tcb, now - tcb.rttStartMs);
  else if (tcb.tsEnabled && seg.options.timestamp && seg.options.timestamp.echo !== 0)
    rttSample(tcb, (Math.floor(now) + tcb.tsOffset - seg.options.timestamp.echo) | 0);
  tcb.rttSeq = undefined;
  tcb.sndUna = seg.ack;
  initSendWindow(tcb, seg, seg.ack);
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
  establish(tcb, now);
  tcb.ackNow = true;
  heardFromPeer(tcb, now);
  // Text or FIN on the SYN,ACK continue at the sixth step (RFC 9293 §3.10.7.3).
  processText(tcb, seg, now);
  processFin(tcb, seg, now);
}

/** RFC 7323 §5.3 R1: drop (and ACK) a segment whose TSval is older than TS.Recent. */
function pawsCheck(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  const ts = seg.options.timestamp;
  if (!tcb.tsEnabled || ts === undefined || seg.flags & Flag.RST) return true;
  if (!seqLt(ts.value, tcb.tsRecent)) return true;
  if (now - tcb.tsRecentAgeMs > PAWS_IDLE_MS) return true; // R3: TS.Recent too old to judge by
  tcb.layer.host.stats.drop("tcpPawsDrops");
  tcb.counters.pawsDrops!++;
  tcb.ackNow = true; // "send an acknowledgment in reply as specified in RFC 793"
  return false;
}

/** RFC 7323 §4.3 (and §5.3 R3): remember the TSval to echo. */
function updateTsRecent(tcb: Tcb, seg: TcpSegment, now: number): void {
  const ts = seg.options.timestamp;
  if (!tcb.tsEnabled || ts === undefined) return;
  if (seqLe(seg.seq, tcb.lastAckSent) && !seqLt(ts.value, tcb.tsRecent)) {
    tcb.tsRecent = ts.value;
    tcb.tsRecentAgeMs = now;
  }
}

/** The window we hold to, for acceptance: what we advertised or the free space, if more. */
export function receiveWindow(tcb: Tcb): number {
  const advertised = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const free = tcb.shutRd ? tcb.recvBuffer.capacity : tcb.recvBuffer.free;
  return Math.max(advertised, free);
}

/**
 * First: the acceptability test of RFC 9293 §3.10.7.4.
 *
 *   Segment  Receive  Test
 *   Length   Window
 *   0        0        SEG.SEQ = RCV.NXT
 *   0        >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *   >0       0        not acceptable
 *   >0       >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *                  or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
 *
 * "If the RCV.WND is zero, no segments will be acceptable, but special allowance
 * should be made to accept valid ACKs, URGs, and RSTs": a segment starting exactly at
 * RCV.NXT is let through, and its text is trimmed to the (empty) window later.
 */
function checkSequence(tcb: Tcb, seg: TcpSegment): boolean {
  const len = segmentLength(seg);
  const wnd = receiveWindow(tcb);
  const end = seqAdd(tcb.rcvNxt, wnd);
  let acceptable: boolean;
  if (len === 0)
    // The table says RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND, but "special allowance should be
    // made to accept valid ACKs": a peer that has sent up to our right edge (and lost some
    // of it) sends its pure ACKs with SEG.SEQ = RCV.NXT+RCV.WND. Like Linux
    // (tcp_sequence), the right edge itself is accepted for a segment without data.
    acceptable =
      wnd === 0 ? seg.seq === tcb.rcvNxt : seqInWindow(seg.seq, tcb.rcvNxt, seqAdd(end, 1));
  else if (wnd === 0) acceptable = seg.seq === tcb.rcvNxt;
  else
    acceptable =
      seqInWindow(seg.seq, tcb.rcvNxt, end) ||
      seqInWindow(seqAdd(seg.seq, len - 1), tcb.rcvNxt, end);
  if (acceptable) return true;
  // "If an incoming segment is not acceptable, an acknowledgment should be sent in
  // reply (unless the RST bit is set, if so drop the segment and return)."
  tcb.layer.host.stats.drop("tcpInWindowDrops");
  if (!(seg.flags & Flag.RST)) tcb.ackNow = true;
  return false;
}

/** Second: the RST bit, with RFC 5961 §3.2's exact-match rule. */
function onReset(tcb: Tcb, seg: TcpSegment, now: number): void {
  if (seg.seq !== tcb.rcvNxt) {
    // In the window but not exactly RCV.NXT: a challenge ACK, which a genuine peer
    // answers with a RST at the right number (RFC 5961 §3.2).
    challengeAck(tcb, now); // the limiter counts per second of `now`
    return;
  }
  switch (tcb.state) {
    case "SYN-RECEIVED":
      // Passive open: "return to LISTEN" (the listener is still there; drop this TCB).
      // Active open (simultaneous): "the connection was refused".
      destroy(tcb, tcb.listener !== undefined ? undefined : "ECONNREFUSED");
      return;
    case "ESTABLISHED":
    case "FIN-WAIT-1":
    case "FIN-WAIT-2":
    case "CLOSE-WAIT":
      tcb.sendBuffer.clear(); // "any outstanding RECEIVEs and SEND should receive reset responses"
      destroy(tcb, "ECONNRESET");
      return;
    default:
      destroy(tcb, undefined); // CLOSING, LAST-ACK, TIME-WAIT: simply close
  }
}

/** RFC 5961 §7: challenge ACKs are rate limited (Linux tcp_challenge_ack_limit). */
export function challengeAck(tcb: Tcb, now: number): void {
  if (!tcb.layer.allowChallengeAck(now)) return;
  tcb.layer.host.stats.count("tcpChallengeAcks");
  tcb.ackNow = true;
}

/** Seventh: in-order text into the receive buffer, the rest into the reassembly queue. */
export function processText(tcb: Tcb, seg: TcpSegment, now: number): void {
  const s = tcb.state;
  if (seg.payload.length === 0 || (s !== "ESTABLISHED" && s !== "FIN-WAIT-1" && s !== "FIN-WAIT-2"))
    return;
  const seq = seg.flags & Flag.SYN ? seqAdd(seg.seq, 1) : seg.seq;
  const free = tcb.shutRd ? 0x7fffffff : tcb.recvBuffer.free;
  const into = tcb.shutRd ? undefined : tcb.recvBuffer;
  if (seqGt(seq, tcb.rcvNxt)) {
    // Out of order: hold it, and ACK at once so the sender sees a duplicate ACK
    // (RFC 5681 §4.2, RFC 9293 §3.10.7.4 seventh).
    tcb.reassembly.insert(seq, seg.payload, tcb.rcvNxt, seqAdd(tcb.rcvNxt, free));
    if (tcb.sackEnabled) tcb.sackReporter.noteArrival(seq); // its block goes first (RFC 2018 §4)
    tcb.counters.outOfOrderSegs!++;
    tcb.layer.host.stats.count("tcpOutOfOrderSegs");
    tcb.ackNow = true;
    return;
  }
  const skip = seqDiff(tcb.rcvNxt, seq); // bytes we already have
  const take = Math.min(seg.payload.length - skip, free);
  if (take <= 0) {
    tcb.ackNow = true;
    return;
  }
  into?.write(seg.payload.subarray(skip, skip + take));
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, take);
  tcb.changed = true;
  if (!tcb.reassembly.empty) {
    tcb.rcvNxt = tcb.reassembly.drain(tcb.rcvNxt, into);
    tcb.ackNow = true; // RFC 5681 §4.2: ACK at once when a gap is filled
    return;
  }
  // RFC 9293 §3.8.6.3: ACK at least every second full-sized segment, and within
  // delayedAckMs (RFC 1122 §4.2.3.2 allows up to 500 ms).
  tcb.segmentsSinceAck++;
  if (tcb.segmentsSinceAck >= 2) tcb.ackNow = true;
  else if (tcb.delayedAckAt === Number.POSITIVE_INFINITY)
    tcb.delayedAckAt = now + tcb.layer.config.delayedAckMs;
}

/** Eighth: the FIN bit, in order only (an early FIN waits in the reassembly queue). */
export function processFin(tcb: Tcb, seg: TcpSegment, now: number): void {
  const s = tcb.state;
  if (s === "CLOSED" || s === "LISTEN" || s === "SYN-SENT") return;
  if (seg.flags & Flag.FIN) {
    const finSeq = seqAdd(seg.flags & Flag.SYN ? seqAdd(seg.seq, 1) : seg.seq, seg.payload.length);
    if (seqGt(finSeq, tcb.rcvNxt) && seqLt(finSeq, seqAdd(tcb.rcvNxt, receiveWindow(tcb) + 1)))
      tcb.reassembly.finSeq = finSeq;
    else if (finSeq === tcb.rcvNxt && !tcb.finReceived) tcb.reassembly.finSeq = finSeq;
  }
  if (tcb.reassembly.finSeq === undefined || tcb.reassembly.finSeq !== tcb.rcvNxt) {
    if (seg.flags & Flag.FIN && s === "TIME-WAIT") restartTimeWait(tcb, now);
    return;
  }
  tcb.reassembly.finSeq = undefined;
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1); // "advance RCV.NXT over the FIN"
  tcb.finReceived = true;
  tcb.ackNow = true;
  tcb.changed = true;
  switch (s) {
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      setState(tcb, "CLOSE-WAIT");
      break;
    case "FIN-WAIT-1":
      // "If our FIN has been ACKed ... enter TIME-WAIT ... otherwise, enter CLOSING."
      if (tcb.finAcked) enterTimeWait(tcb, now);
      else setState(tcb, "CLOSING");
      break;
    case "FIN-WAIT-2":
      enterTimeWait(tcb, now);
      break;
    case "TIME-WAIT":
      restartTimeWait(tcb, now);
      break;
    default:
      break; // CLOSE-WAIT, CLOSING, LAST-ACK: "remain in the state"
  }
}

function restartTimeWait(tcb: Tcb, now: number): void {
  tcb.ackNow = true;
  tcb.timeWaitUntil = now + timeWaitMs(tcb); // "restart the 2 MSL time-wait timeout"
}
