/**
 * SEGMENT ARRIVES for a connection past SYN-SENT (RFC 9293 §3.10.7.4), as the RFC
 * writes it: the steps in order, each a function named after its step.
 *
 *   first   check sequence number (the acceptability table)   checkSequence
 *   second  check the RST bit (with RFC 5961 §3)               checkRst
 *   third   check security: not implemented (optional: RFC 9293 §3.10.7.4 third)
 *   fourth  check the SYN bit (RFC 5961 §4)                    checkSyn
 *   fifth   check the ACK field                                checkAck (ack.ts)
 *   sixth   check the URG bit: ignored. RFC 6093 §5 says new applications should not
 *           use urgent data; we deliver the bytes inline and never signal urgency.
 *   seventh process the segment text                           processText
 *   eighth  check the FIN bit                                  checkFin
 *
 * Before the first step, RFC 7323 §5.3 PAWS drops segments with old timestamps
 * (paws.ts). RFC 5961's challenge ACKs leave from challenge_ack.ts. The CLOSED and
 * LISTEN cases (no TCB) are in listen.ts, SYN-SENT in syn_sent.ts; tcp.ts chooses.
 */
import { checkAck } from "./ack.ts";
import { challengeAck } from "./challenge_ack.ts";
import { Flag, segmentLength, type TcpSegment } from "./header.ts";
import { pawsCheck } from "./paws.ts";
import { noteDuplicateArrival } from "./sack/dsack.ts";
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLt } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { enterTimeWait, heardFromPeer, timeWaitMs } from "./timers.ts";
import { destroy, transition } from "./transitions.ts";

/** RFC 9293 §3.10.7.4: SEGMENT ARRIVES in SYN-RECEIVED and the synchronized states. */
export function segmentArrives(tcb: Tcb, arriving: TcpSegment, now: number): void {
  noteDuplicateArrival(tcb, arriving); // RFC 2883 §4: a duplicate is reported in a D-SACK
  if (!pawsCheck(tcb, arriving, now)) return;
  const seg = checkSequence(tcb, arriving);
  if (seg === undefined) return;
  heardFromPeer(tcb, now);
  if (!checkRst(tcb, seg, now)) return;
  if (!checkSyn(tcb, seg, now)) return;
  if (!checkAck(tcb, seg, now)) return;
  processText(tcb, seg, now);
  checkFin(tcb, seg, now);
}

/**
 * First: the acceptability test of RFC 9293 §3.10.7.4. Returns the segment to go on
 * with (only its new part, see `newPart`), or undefined when it is dropped.
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
function checkSequence(tcb: Tcb, arriving: TcpSegment): TcpSegment | undefined {
  const seg = newPart(tcb, arriving);
  if (acceptable(tcb, seg)) return seg;
  // "If an incoming segment is not acceptable, an acknowledgment should be sent in
  // reply (unless the RST bit is set, if so drop the segment and return)." In
  // SYN-RECEIVED that acknowledgment is our SYN,ACK again (transmit.ts sendAck): the
  // answer to a retransmitted SYN.
  tcb.layer.host.stats.drop("tcpInWindowDrops");
  if (!(seg.flags & Flag.RST)) tcb.ackNow = true;
  return undefined;
}

/**
 * "If a segment's contents straddle the boundary between old and new, only the new
 * parts are processed." The one case that needs cutting before the test: in
 * SYN-RECEIVED after a simultaneous open, the peer's SYN,ACK (RFC 9293 Figure 8, line
 * 6) repeats its SYN at IRS, which is old; its ACK (and any text) is new. Elsewhere the
 * old part of a segment is trimmed by processText, and an old SYN alone (a
 * retransmission) is wholly old: unacceptable, answered with our SYN,ACK.
 */
function newPart(tcb: Tcb, seg: TcpSegment): TcpSegment {
  const oldSyn =
    (seg.flags & (Flag.SYN | Flag.ACK)) === (Flag.SYN | Flag.ACK) && seg.seq === tcb.irs;
  if (tcb.state !== "SYN-RECEIVED" || !oldSyn) return seg;
  return { ...seg, seq: seqAdd(seg.seq, 1), flags: seg.flags & ~Flag.SYN };
}

function acceptable(tcb: Tcb, seg: TcpSegment): boolean {
  const len = segmentLength(seg);
  const wnd = receiveWindow(tcb);
  const end = seqAdd(tcb.rcvNxt, wnd);
  // The table says RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND, but "special allowance should be
  // made to accept valid ACKs": a peer that has sent up to our right edge (and lost some
  // of it) sends its pure ACKs with SEG.SEQ = RCV.NXT+RCV.WND. Like Linux
  // (tcp_sequence), the right edge itself is accepted for a segment without data.
  if (len === 0)
    return wnd === 0 ? seg.seq === tcb.rcvNxt : seqInWindow(seg.seq, tcb.rcvNxt, seqAdd(end, 1));
  if (wnd === 0) return seg.seq === tcb.rcvNxt;
  return (
    seqInWindow(seg.seq, tcb.rcvNxt, end) || seqInWindow(seqAdd(seg.seq, len - 1), tcb.rcvNxt, end)
  );
}

/**
 * Second: the RST bit, with RFC 5961 §3.2's exact-match rule. Returns false (stop)
 * when the RST bit is set.
 */
function checkRst(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  if (!(seg.flags & Flag.RST)) return true;
  if (seg.seq !== tcb.rcvNxt) {
    // In the window but not exactly RCV.NXT: a challenge ACK, which a genuine peer
    // answers with a RST at the right number (RFC 5961 §3.2).
    challengeAck(tcb, now);
    return false;
  }
  switch (tcb.state) {
    case "SYN-RECEIVED":
      // "If this connection was initiated with a passive OPEN (i.e., came from the LISTEN
      // state), then return this connection to LISTEN state and return. The user need
      // not be informed." Here the listener never left LISTEN: this TCB was its child
      // for one connection (listen.ts), so returning to LISTEN is deleting the child,
      // as Linux drops the request sock (tcp_check_req). From an active OPEN (a
      // simultaneous open): "the connection was refused".
      if (tcb.listener !== undefined) destroy(tcb, undefined, "resetFromListen");
      else destroy(tcb, "ECONNREFUSED", "resetWhileOpening");
      return false;
    case "ESTABLISHED":
    case "FIN-WAIT-1":
    case "FIN-WAIT-2":
    case "CLOSE-WAIT":
      tcb.sendBuffer.clear(); // "any outstanding RECEIVEs and SEND should receive reset responses"
      destroy(tcb, "ECONNRESET", "reset");
      return false;
    default:
      destroy(tcb, undefined, "resetWhileClosing"); // CLOSING, LAST-ACK, TIME-WAIT
      return false;
  }
}

/**
 * Fourth: the SYN bit. RFC 5961 §4.2: a SYN in the window of a synchronized state gets a
 * challenge ACK, never a reset (RFC 9293 §3.10.7.4 fourth points to it). Deviation: in
 * SYN-RECEIVED from a passive OPEN the RFC returns the connection to LISTEN; we
 * challenge there too (an old SYN at IRS was answered in the first step already), so a
 * blind in-window SYN cannot tear down a half-open connection.
 */
function checkSyn(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  if (!(seg.flags & Flag.SYN)) return true;
  challengeAck(tcb, now);
  return false;
}

/** The window we hold to, for acceptance: what we advertised or the free space, if more. */
export function receiveWindow(tcb: Tcb): number {
  const advertised = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const free = tcb.shutRd ? tcb.recvBuffer.capacity : tcb.recvBuffer.free;
  return Math.max(advertised, free);
}

/** Seventh, process the segment text: in-order text into the receive buffer, the rest into the reassembly queue. */
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

/** Eighth, check the FIN bit: in order only (an early FIN waits in the reassembly queue). */
export function checkFin(tcb: Tcb, seg: TcpSegment, now: number): void {
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
      transition(tcb, "finArrives");
      break;
    case "FIN-WAIT-1":
      // "If our FIN has been ACKed ... enter TIME-WAIT ... otherwise, enter CLOSING."
      if (tcb.finAcked) enterTimeWait(tcb, now, "finAfterFinAcked");
      else transition(tcb, "simultaneousClose");
      break;
    case "FIN-WAIT-2":
      enterTimeWait(tcb, now, "finInFinWait2");
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
