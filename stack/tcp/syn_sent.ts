/**
 * SEGMENT ARRIVES in SYN-SENT (RFC 9293 §3.10.7.3): our SYN is out, and what comes back
 * is a SYN,ACK (ESTABLISHED), a SYN alone (a simultaneous open: SYN-RECEIVED), a RST
 * (refused), or something to answer with a RST or ignore. Its steps are the RFC's,
 * in order; text and FIN on the SYN,ACK continue at the sixth step in
 * segment_arrives.ts. CLOSED and LISTEN are in listen.ts, the other states in
 * segment_arrives.ts.
 */
import { Flag, type TcpSegment } from "./header.ts";
import { initSendWindow, negotiateOptions, receiveSyn } from "./negotiate.ts";
import { checkFin, processText } from "./segment_arrives.ts";
import { seqDiff, seqGt, seqLe } from "./seq.ts";
import { sendResetFor } from "./stateless.ts";
import type { Tcb } from "./tcb.ts";
import { heardFromPeer, rttSample } from "./timers.ts";
import { destroy, establish, transition } from "./transitions.ts";
import { tsNow } from "./transmit.ts";

export function onSynSent(tcb: Tcb, seg: TcpSegment, now: number): void {
  const hasAck = (seg.flags & Flag.ACK) !== 0;
  // First, the ACK bit: an ACK must acknowledge our SYN: ISS < SEG.ACK =< SND.NXT;
  // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)".
  if (hasAck && (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax))) {
    if (!(seg.flags & Flag.RST)) sendResetFor(tcb, seg.ack, 0, Flag.RST);
    return;
  }
  // Second, the RST bit: with an acceptable ACK the peer refused (RFC 5961 §3.2 agrees);
  // without one, drop it.
  if (seg.flags & Flag.RST) {
    if (hasAck) destroy(tcb, "ECONNREFUSED", "refused");
    return;
  }
  // Third, security: not implemented (optional, RFC 9293 §3.10.7.3).
  // Fourth, the SYN bit; fifth: "if neither of the SYN or RST bits is set, then drop".
  if (!(seg.flags & Flag.SYN)) return;
  receiveSyn(tcb, seg.seq);
  negotiateOptions(tcb, seg.options, now);
  if (tcb.tsEnabled && seg.options.timestamp !== undefined)
    tcb.tsRecent = seg.options.timestamp.value;
  if (hasAck) synAcknowledged(tcb, seg, now);
  else simultaneousOpen(tcb, seg);
}

/**
 * Fourth step, "If SND.UNA > ISS (our SYN has been ACKed), change the connection state
 * to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it.
 * Data or controls that were queued for transmission may be included."
 */
function synAcknowledged(tcb: Tcb, seg: TcpSegment, now: number): void {
  const echo = seg.options.timestamp?.echo;
  if (tcb.rttSeq !== undefined && tcb.retries === 0) rttSample(tcb, now - tcb.rttStartMs);
  else if (tcb.tsEnabled && echo !== undefined && echo !== 0)
    rttSample(tcb, seqDiff(tsNow(tcb, now), echo)); // RFC 7323 §4.1: TSval − TSecr
  tcb.rttSeq = undefined;
  tcb.sndUna = seg.ack;
  initSendWindow(tcb, seg, seg.ack);
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
  establish(tcb, now, "synAcked");
  tcb.ackNow = true;
  heardFromPeer(tcb, now);
  // "If there are other controls or text in the segment, then continue processing at
  // the sixth step below where the URG bit is checked".
  processText(tcb, seg, now);
  checkFin(tcb, seg, now);
}

/**
 * Fourth step, otherwise: "enter SYN-RECEIVED, form a SYN,ACK segment
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it" (a simultaneous open, RFC 9293 §3.5
 * Figure 8). output.ts sends it: SND.NXT is back at ISS.
 */
function simultaneousOpen(tcb: Tcb, seg: TcpSegment): void {
  transition(tcb, "simultaneousOpen");
  tcb.sndNxt = tcb.iss;
  initSendWindow(tcb, seg, seg.ack);
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
}
