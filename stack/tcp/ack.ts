/**
 * SEGMENT ARRIVES, fifth step: check the ACK field (RFC 9293 §3.10.7.4), with the
 * RFC 5961 §5 acceptable-ACK range, RTT measurement (RFC 6298 / RFC 7323 §4), the
 * send-window update rule, duplicate-ACK detection (RFC 5681 §2) and the state changes
 * an ACK of our FIN causes.
 */

import { challengeAck } from "./challenge_ack.ts";
import { checkDuplicateAck, onNewAck } from "./fast_recovery.ts";
import { Flag, type TcpSegment } from "./header.ts";
import { updateTsRecent } from "./paws.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from "./seq.ts";
import { sendResetFor } from "./stateless.ts";
import type { Tcb } from "./tcb.ts";
import { enterTimeWait, restartRetransmitTimer, rttSample } from "./timers.ts";
import { destroy, establish, transition } from "./transitions.ts";
import { tsNow } from "./transmit.ts";

/** Fifth: the ACK field. Returns false when the segment is dropped here. */
export function checkAck(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  if (!(seg.flags & Flag.ACK)) return false; // "if the ACK bit is off, drop the segment"
  updateTsRecent(tcb, seg, now); // RFC 7323 §4.3, for a segment found acceptable
  if (tcb.state === "SYN-RECEIVED" && !ackSynReceived(tcb, seg, now)) return false;
  // RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT) then send
  // an ACK, drop the segment, and return."
  if (seqGt(seg.ack, tcb.sndMax)) {
    tcb.ackNow = true;
    tcb.layer.host.stats.drop("tcpAckOfUnsentDrops");
    return false;
  }
  // RFC 5961 §5.2: acceptable only if SND.UNA − MAX.SND.WND =< SEG.ACK; else challenge.
  if (seqLt(seg.ack, seqAdd(tcb.sndUna, -tcb.maxSndWnd))) {
    challengeAck(tcb, now);
    tcb.layer.host.stats.drop("tcpOldAckDrops");
    return false;
  }
  const wnd = seg.wnd * 2 ** tcb.sndScale; // RFC 7323 §2.3: scale every non-SYN window
  // Loss recovery steps 2 and 3 (fast_recovery.ts): new data acknowledged, then the
  // duplicate-ACK test (RFC 5681 §2 compares with the window before this update).
  const advanced = seqGt(seg.ack, tcb.sndUna);
  if (advanced) newAck(tcb, seg, now);
  checkDuplicateAck(tcb, seg, !advanced && isDuplicateAck(tcb, seg, wnd), now);
  // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
  // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))". SND.UNA is
  // already SEG.ACK if it advanced; an older ACK (let through by RFC 5961 §5.2) carries
  // an older window and must not update it. SEG.ACK > SND.NXT was dropped above.
  const newerWindow =
    seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, seg.ack));
  if (seqLe(tcb.sndUna, seg.ack) && newerWindow) {
    if (wnd > tcb.sndWnd) tcb.persistBackoff = 0;
    tcb.sndWnd = wnd;
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = seg.ack;
    if (wnd > tcb.maxSndWnd) tcb.maxSndWnd = wnd;
    if (wnd > 0) tcb.persistAt = Number.POSITIVE_INFINITY;
  }
  return ackStateChanges(tcb, now);
}

/** SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state". */
function ackSynReceived(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  if (!(seqLt(tcb.sndUna, seg.ack) && seqLe(seg.ack, tcb.sndMax))) {
    // "If the segment acknowledgment is not acceptable, form a reset segment".
    sendResetFor(tcb, seg.ack, 0, Flag.RST);
    return false;
  }
  // Accept queue full: ignore the ACK, as Linux does; our SYN,ACK retransmits.
  if (tcb.listener?.acceptQueueFull()) return false;
  tcb.sndWnd = seg.wnd * 2 ** tcb.sndScale;
  tcb.maxSndWnd = tcb.sndWnd;
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = seg.ack;
  establish(tcb, now, "handshakeAcked");
  return true;
}

/** RFC 5681 §2: a duplicate ACK acks nothing new, carries no data, SYN or FIN, and
 * does not change the window, while data is outstanding. */
function isDuplicateAck(tcb: Tcb, seg: TcpSegment, wnd: number): boolean {
  return (
    seg.ack === tcb.sndUna &&
    seg.payload.length === 0 &&
    !(seg.flags & (Flag.SYN | Flag.FIN)) &&
    wnd === tcb.sndWnd &&
    tcb.sndMax !== tcb.sndUna
  );
}

/** SND.UNA < SEG.ACK =< SND.NXT: "set SND.UNA <- SEG.ACK", free what was acknowledged. */
function newAck(tcb: Tcb, seg: TcpSegment, now: number): void {
  const acked = seqDiff(seg.ack, tcb.sndUna);
  const dataAcked = Math.min(Math.max(0, seqDiff(seg.ack, tcb.sndBufSeq)), tcb.sendBuffer.length);
  if (dataAcked > 0) {
    tcb.sendBuffer.discard(dataAcked);
    tcb.sndBufSeq = seqAdd(tcb.sndBufSeq, dataAcked);
    tcb.changed = true; // send buffer space freed
  }
  const flightBefore = tcb.flightBytes;
  tcb.sndUna = seg.ack;
  if (seqLt(tcb.sndNxt, tcb.sndUna)) tcb.sndNxt = tcb.sndUna;
  const rttMs = measureRtt(tcb, seg, now);
  tcb.retries = 0;
  restartRetransmitTimer(tcb, now);
  onNewAck(tcb, acked, flightBefore, now, rttMs);
}

/**
 * RFC 7323 §4.1 (RTTM) with timestamps; else the one timed segment (RFC 6298 §3).
 * Returns this ACK's sample, if it gave one (HyStart++ wants each, RFC 9406 §4.2).
 */
function measureRtt(tcb: Tcb, seg: TcpSegment, now: number): number | undefined {
  const ts = seg.options.timestamp;
  if (tcb.tsEnabled && ts !== undefined && ts.echo !== 0) {
    if (tcb.rtoTsVal !== undefined) {
      const beforeTimeout = seqLt(ts.echo, tcb.rtoTsVal);
      tcb.rtoTsVal = undefined;
      if (beforeTimeout) {
        // The ACK echoes a TSval from before our timeout: the original transmission got
        // through, so the retransmission was spurious (RFC 3522 Eifel detection). The
        // sample would span the timeout (RTO + RTT) and, fed back, inflate the RTO
        // further, so it is not taken (Karn's rule in spirit, RFC 6298 §3).
        tcb.counters.spuriousRetrans!++;
        tcb.layer.host.stats.count("tcpSpuriousRetrans");
        tcb.cc.onSpuriousRetransmit(now); // RFC 9438 §4.9 / RFC 4015: undo the reduction
        tcb.spurious.endEpisode(); // judged here: its D-SACKs must not count it again
        return undefined;
      }
    }
    const sample = seqDiff(tsNow(tcb, now), ts.echo);
    if (!(sample >= 0 && sample < 600_000)) return undefined;
    rttSample(tcb, sample);
    return sample;
  }
  if (tcb.rttSeq === undefined || !seqGt(seg.ack, tcb.rttSeq)) return undefined;
  const sample = now - tcb.rttStartMs;
  rttSample(tcb, sample);
  tcb.rttSeq = undefined;
  return sample;
}

/** The per-state part of the fifth step: what an ACK of our FIN does. */
function ackStateChanges(tcb: Tcb, now: number): boolean {
  switch (tcb.state) {
    case "FIN-WAIT-1":
      // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"
      if (tcb.finAcked) {
        transition(tcb, "finAcked");
        tcb.sendBuffer.compact(); // all sent and acknowledged: nothing more to send
      }
      return true;
    case "CLOSING":
      // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"
      if (tcb.finAcked) enterTimeWait(tcb, now, "finAckedInClosing");
      return true;
    case "LAST-ACK":
      // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state"
      if (tcb.finAcked) {
        destroy(tcb, undefined, "finAckedInLastAck");
        return false;
      }
      return true;
    default:
      return true;
  }
}
