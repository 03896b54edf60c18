/**
 * Loss detection and recovery, shared by every congestion controller.
 *
 * - Fast retransmit on the third duplicate ACK (RFC 5681 §3.2), entered at most once
 *   per window of data (RFC 6582 §3.2 step 2: only when the ACK covers more than
 *   `recover`).
 * - Without SACK, NewReno fast recovery (RFC 6582): cwnd = ssthresh + 3·SMSS, inflated
 *   by each further duplicate; a partial ACK retransmits the next hole and deflates.
 * - With SACK, RFC 6675 conservative recovery: cwnd = ssthresh, and while `pipe` (the
 *   estimate of bytes still in the network) is below cwnd, retransmit the next hole
 *   the scoreboard shows, else send new data. Entered also when more than
 *   (DupThresh − 1)·SMSS bytes are SACKed (RFC 6675 §5, IsLost).
 * - Timeout (RFC 5681 §3.1, RFC 6582 §4): loss window, recovery abandoned, SACK
 *   information forgotten (RFC 2018 §8: the receiver may have reneged).
 */
import { retransmit } from "./output.ts";
import { seqAdd, seqDiff, seqGe, seqLt, seqMax } from "./seq.ts";
import type { Tcb } from "./tcb.ts";

const DUP_THRESH = 3; // RFC 5681 §3.2, RFC 6675 §2

/** RFC 6675 §4 SetPipe, simplified: every hole below the highest SACK is lost. */
export function pipe(tcb: Tcb): number {
  const outstanding = seqDiff(tcb.sndMax, tcb.sndUna);
  const lostNotResent = tcb.scoreboard.holeBytesAbove(seqMax(tcb.highRxt, tcb.sndUna));
  return Math.max(0, outstanding - tcb.scoreboard.sackedBytes - lostNotResent);
}

/** New data was cumulatively acknowledged (after SND.UNA moved). */
export function onNewAck(tcb: Tcb, ackedBytes: number, now: number): void {
  tcb.dupAcks = 0;
  const cc = tcb.cc;
  const smss = tcb.smss;
  if (!tcb.inRecovery) {
    cc.onAck(ackedBytes, smss, now, tcb.srttMs);
    return;
  }
  if (seqGe(tcb.sndUna, tcb.recover)) {
    // RFC 6582 §3.2 step 3, full acknowledgment: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    tcb.inRecovery = false;
    cc.cwnd = Math.min(cc.ssthresh, Math.max(tcb.flightBytes, smss) + smss);
    return;
  }
  if (tcb.sackEnabled) return; // RFC 6675: output keeps filling holes while pipe < cwnd
  // RFC 6582 §3.2 step 4, partial acknowledgment: resend the first unacked segment,
  // deflate cwnd by the newly acked amount, add back one SMSS if that was at least one.
  retransmit(tcb, tcb.sndUna, smss, now);
  cc.cwnd = Math.max(cc.cwnd - ackedBytes + (ackedBytes >= smss ? smss : 0), smss);
}

/** A duplicate ACK (RFC 5681 §2 definition, checked by the caller). */
export function onDuplicateAck(tcb: Tcb, now: number): void {
  tcb.dupAcks++;
  if (tcb.inRecovery) {
    if (!tcb.sackEnabled) tcb.cc.cwnd += tcb.smss; // RFC 5681 §3.2 step 4: inflate
    return;
  }
  if (tcb.dupAcks >= DUP_THRESH) enterRecovery(tcb, now);
}

/** RFC 6675 §5: enough bytes SACKed above SND.UNA means the first segment is lost. */
export function onSackUpdate(tcb: Tcb, now: number): void {
  if (!tcb.inRecovery && tcb.scoreboard.sackedBytes > (DUP_THRESH - 1) * tcb.smss)
    enterRecovery(tcb, now);
}

function enterRecovery(tcb: Tcb, now: number): void {
  // RFC 6582 §3.2 step 2: only if the ACK covers more than "recover" (the highest
  // sequence number sent when the last recovery or timeout began; ours is one past it).
  if (seqLt(tcb.sndUna, tcb.recover)) return;
  const stats = tcb.layer.host.stats;
  const cc = tcb.cc;
  const smss = tcb.smss;
  tcb.inRecovery = true;
  tcb.recover = tcb.sndMax;
  cc.onLoss(tcb.flightBytes, smss, now);
  stats.count("tcpFastRetrans");
  tcb.counters.fastRetrans!++;
  if (tcb.sackEnabled) {
    stats.count("tcpSackRecoveries");
    tcb.counters.sackRecoveries!++;
    cc.cwnd = cc.ssthresh; // RFC 6675 §5 step 4.2
    tcb.highRxt = tcb.sndUna;
    return; // output() retransmits the holes
  }
  retransmit(tcb, tcb.sndUna, smss, now); // RFC 5681 §3.2 step 3
  cc.cwnd = cc.ssthresh + DUP_THRESH * smss;
}

/**
 * RFC 6675 §5 step (C): while pipe < cwnd, retransmit the next hole below the highest
 * SACKed byte (NextSeg rule 1). New data (rule 2) is left to the normal output path.
 * Returns true if anything was sent.
 */
export function sackRecoverySend(tcb: Tcb, now: number): boolean {
  const board = tcb.scoreboard;
  let sent = false;
  for (let guard = 0; guard < 1000; guard++) {
    const highest = board.highestSacked;
    if (highest === undefined || pipe(tcb) >= tcb.cc.cwnd) break;
    let start = seqMax(tcb.highRxt, tcb.sndUna);
    for (let end = board.sackedEnd(start); end !== undefined; end = board.sackedEnd(start))
      start = end;
    if (!seqLt(start, highest)) break;
    const nextSacked = board.nextSackedStart(start) ?? highest;
    const length = retransmit(tcb, start, Math.min(tcb.smss, seqDiff(nextSacked, start)), now);
    if (length === 0) break;
    tcb.highRxt = seqAdd(start, length);
    sent = true;
  }
  return sent;
}

/** RFC 5681 §3.1 / RFC 6582 §4: a retransmission timeout ends any recovery. */
export function lossOnTimeout(tcb: Tcb, now: number): void {
  tcb.cc.onTimeout(tcb.flightBytes, tcb.smss, now);
  tcb.inRecovery = false;
  tcb.dupAcks = 0;
  tcb.recover = tcb.sndMax;
  tcb.scoreboard.clear(); // RFC 2018 §8
  tcb.rtoTsVal = Math.floor(now) + tcb.tsOffset;
}
