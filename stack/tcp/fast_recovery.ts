/**
 * Loss recovery: how the connection drives its congestion controller and SACK
 * scoreboard (congestion/controller.ts, sack/scoreboard.ts). This file follows the
 * "wiring recipe" at the top of congestion/controller.ts step by step; the step numbers
 * below are the recipe's.
 *
 * - Fast retransmit on the third duplicate ACK (RFC 5681 §3.2), at most once per window
 *   (RFC 6582 `recover`); without SACK, NewReno partial ACKs (RFC 6582 §3.2).
 * - With SACK, RFC 6675: duplicate ACKs are ACKs that SACK new data, and during recovery
 *   NextSeg() picks what to send while pipe < cwnd.
 * - Timeout (RFC 5681 §3.1, RFC 6582 §4): loss window, recovery abandoned, SACK
 *   information forgotten (RFC 2018 §8, RFC 6675 §5.1).
 * - D-SACKs received (RFC 2883 §5, RFC 3708) count spurious retransmissions and undo an
 *   episode whose every retransmission was spurious (sack/dsack.ts).
 * - Proportional Rate Reduction (RFC 6937, congestion/prr.ts) sets how much step 1a sends
 *   on each ACK of a SACK recovery, in place of RFC 6675's cwnd = ssthresh.
 * - With RACK-TLP (RFC 8985, rack/recovery.ts; TcpConfig.rack) time-based loss marks
 *   replace step 3's duplicate-ACK test and RFC 6675's IsLost, pipe and NextSeg.
 */
import type { TcpSegment } from "./header.ts";
import { rackActive } from "./rack/pto.ts";
import {
  rackNextSeg,
  rackOnAck,
  rackOnRecoveryEnd,
  rackOnTimeout,
  rackPipe,
} from "./rack/recovery.ts";
import type { SackBlock } from "./sack/block.ts";
import type { SackUpdate } from "./sack/scoreboard.ts";
import { seqAdd, seqDiff, seqLt, seqMax, seqMin } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { retransmit, transmitNewData, tsNow } from "./transmit.ts";

/** RFC 6675 SetPipe(): bytes estimated to be in the network (RACK's, with RACK on). */
export function pipe(tcb: Tcb): number {
  if (rackActive(tcb)) return rackPipe(tcb);
  return tcb.board.pipe(tcb.sndUna, tcb.sndMax, tcb.highRxt);
}

/**
 * Recipe step 1b's bytes in flight: pipe with SACK once duplicate ACKs came (RFC 6675
 * (3), limited transmit), or with RACK whenever SND.NXT is at SND.MAX (RACK has no
 * duplicate-ACK count; pipe then equals FlightSize until something is SACKed or lost);
 * otherwise, and during go-back-N after a timeout, SND.NXT − SND.UNA.
 */
export function windowFlight(tcb: Tcb): number {
  if (rackActive(tcb) && tcb.sndNxt === tcb.sndMax) return rackPipe(tcb);
  if (tcb.sackEnabled && tcb.cc.dupAcks > 0) return pipe(tcb);
  return seqDiff(tcb.sndNxt, tcb.sndUna);
}

/** Unsent bytes the peer's window still admits (RFC 6675 NextSeg rule 2's limit). */
export function newDataBytes(tcb: Tcb): number {
  const unsent = seqDiff(seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length), tcb.sndMax);
  const room = tcb.sndWnd - seqDiff(tcb.sndMax, tcb.sndUna);
  return Math.max(0, Math.min(unsent, room));
}

/**
 * Step 1a, RFC 6675 §5 step (C): while cwnd − pipe ≥ SMSS, send what NextSeg() names.
 * With PRR (RFC 6937, congestion/prr.ts) cwnd is PRR's pipe + sndcnt of the last ACK.
 * Returns true if anything was sent.
 */
export function sackRecoverySend(tcb: Tcb, now: number): boolean {
  let sent = false;
  const prr = tcb.prr;
  for (let guard = 0; guard < 10_000; guard++) {
    const cwnd = prr.active ? prr.cwnd : tcb.cc.cwnd;
    if (cwnd - pipe(tcb) < tcb.smss) break;
    const next = rackActive(tcb)
      ? rackNextSeg(tcb, newDataBytes(tcb))
      : tcb.board.nextSeg({
          sndUna: tcb.sndUna,
          sndMax: tcb.sndMax,
          highRxt: tcb.highRxt,
          rescueRxt: tcb.rescueRxt,
          newDataBytes: newDataBytes(tcb),
        });
    if (next === undefined) break;
    if (next.rule === 2) {
      const length = transmitNewData(tcb, next.length, now);
      if (length === 0) break; // C.3: SND.MAX advances
      prr.onSent(length);
    } else {
      const length = retransmit(tcb, next.seq, next.length, now);
      if (length === 0) break;
      prr.onSent(length);
      if (next.rule === 4) tcb.rescueRxt = tcb.cc.recover;
      else tcb.highRxt = seqMax(tcb.highRxt, seqAdd(next.seq, length)); // C.2
    }
    sent = true;
  }
  return sent;
}

/**
 * Step 2: an ACK advanced SND.UNA by `bytesAcked` (already applied to the TCB);
 * `rttSampleMs` is the RTT sample it gave, if any (HyStart++, RFC 9406 §4.2).
 */
export function onNewAck(
  tcb: Tcb,
  bytesAcked: number,
  flightBefore: number,
  now: number,
  rttSampleMs?: number,
): void {
  tcb.board.onCumulativeAck(tcb.sndUna);
  const action = tcb.cc.onAck({
    now,
    bytesAcked,
    sndUna: tcb.sndUna,
    sndMax: tcb.sndMax,
    bytesInFlight: tcb.flightBytes,
    ...(tcb.hasRttSample ? { rttMs: tcb.srttMs } : {}),
    ...(rttSampleMs !== undefined ? { latestRttMs: rttSampleMs } : {}),
    // RFC 7661 / RFC 9438 §5.8: using under half of cwnd, the sender is not
    // cwnd-limited (the application or the peer's window limits it): cwnd stays.
    appLimited: 2 * flightBefore < tcb.cc.cwnd,
  });
  if (action === "retransmit") retransmit(tcb, tcb.sndUna, tcb.smss, now); // RFC 6582 partial ACK
  if (action === "recovery-end") {
    tcb.rescueRxt = undefined;
    tcb.prr.stop();
    if (rackActive(tcb)) rackOnRecoveryEnd(tcb);
  }
}

/**
 * Step 3: is this ACK a duplicate? Without SACK the RFC 5681 §2 test (`classic`); with
 * SACK, RFC 6675 §2: it SACKs data not SACKed before. Then, in SACK recovery, PRR's
 * per-ACK step (RFC 6937 §3.1). Called for every acceptable ACK.
 */
export function checkDuplicateAck(tcb: Tcb, seg: TcpSegment, classic: boolean, now: number): void {
  const blocks = seg.options.sackBlocks;
  const update = tcb.sackEnabled ? sackUpdate(tcb, blocks, now) : undefined;
  if (rackActive(tcb)) {
    rackFlags.dsack = update?.dsack === true;
    rackFlags.plainDupAck = classic;
    rackOnAck(tcb, seg, rackFlags, now);
  } else duplicateAck(tcb, update, classic, now);
  if (tcb.sackEnabled) prrOnAck(tcb);
}

/** rackOnAck's flags, filled per ACK (an object per ACK would be garbage on every ACK). */
const rackFlags = { dsack: false, plainDupAck: false };

/** RFC 6675 Update() with the ACK's SACK blocks, and the use of a D-SACK among them. */
function sackUpdate(
  tcb: Tcb,
  blocks: readonly SackBlock[] | undefined,
  now: number,
): SackUpdate | undefined {
  if (blocks === undefined) return undefined;
  const update = tcb.board.update(blocks, tcb.sndUna, tcb.sndMax);
  if (update.dsack && tcb.layer.config.dsack) onDsack(tcb, blocks[0]!, now);
  return update;
}

/**
 * RFC 6937 §3.1 "On every ACK during recovery": DeliveredData is the change in SND.UNA
 * plus the change in SACKed bytes since the last ACK (`delivered` marks, kept for every
 * ACK so that the one starting recovery counts too, as in Linux).
 */
function prrOnAck(tcb: Tcb): void {
  const mark = tcb.delivered;
  const sacked = tcb.board.sackedBytes;
  const delivered = mark.valid ? seqDiff(tcb.sndUna, mark.sndUna) + sacked - mark.sacked : 0;
  mark.sndUna = tcb.sndUna;
  mark.sacked = sacked;
  mark.valid = true;
  if (!tcb.prr.active || !tcb.cc.inRecovery) return;
  tcb.prr.onAck(delivered, pipe(tcb), tcb.cc.ssthresh, tcb.smss);
}

function duplicateAck(
  tcb: Tcb,
  update: SackUpdate | undefined,
  classic: boolean,
  now: number,
): void {
  let duplicate = classic;
  if (tcb.sackEnabled) duplicate = update !== undefined && update.newlySacked > 0;
  if (!duplicate) return;
  const cc = tcb.cc;
  if (!cc.inRecovery) tcb.highRxt = seqMax(tcb.highRxt, tcb.sndUna); // RFC 6675 (3.1)
  const action = cc.onDuplicateAck({
    now,
    sndUna: tcb.sndUna,
    sndMax: tcb.sndMax,
    bytesInFlight: tcb.flightBytes,
    ...(tcb.sackEnabled ? { lost: tcb.board.isLost(tcb.sndUna) } : {}),
  });
  if (action === "retransmit") {
    // RFC 6937 §3.1: recovery begins; RecoverFS = snd.nxt − snd.una (FlightSize).
    if (tcb.sackEnabled && tcb.layer.config.prr) tcb.prr.start(tcb.flightBytes, cc.ssthresh);
    fastRetransmit(tcb, now);
  }
  // "limited-transmit": output() sends new data within cc.sendWindow (RFC 3042).
}

/**
 * Step 5 with D-SACK evidence (RFC 2883 §5, RFC 3708 §3; sack/dsack.ts): the receiver
 * got a range twice. If we had retransmitted it, that retransmission was spurious; if
 * every retransmission of the episode was, undo the congestion response (RFC 9438 §4.9).
 */
function onDsack(tcb: Tcb, block: SackBlock, now: number): void {
  const stats = tcb.layer.host.stats;
  stats.count("tcpDsackRecv");
  tcb.counters.dsackRecv!++;
  const verdict = tcb.spurious.onDsack(block);
  if (verdict === "none") return;
  tcb.counters.spuriousRetrans!++;
  stats.count("tcpSpuriousRetrans");
  if (verdict === "episode-spurious") {
    stats.count("tcpDsackUndo");
    tcb.cc.onSpuriousRetransmit(now);
    if (!tcb.cc.inRecovery) tcb.prr.stop();
  }
}

/** RFC 5681 §3.2 step 3 / RFC 6675 (4.3): resend the segment at SND.UNA. */
function fastRetransmit(tcb: Tcb, now: number): void {
  const stats = tcb.layer.host.stats;
  stats.count("tcpFastRetrans");
  tcb.counters.fastRetrans!++;
  tcb.spurious.startEpisode();
  if (tcb.sackEnabled) {
    stats.count("tcpSackRecoveries");
    tcb.counters.sackRecoveries!++;
    // A retransmission of it from the previous recovery is still in flight.
    if (seqLt(tcb.sndUna, tcb.highRxt)) return;
  }
  const nextSacked = tcb.board.nextSackedStart(tcb.sndUna) ?? tcb.sndMax;
  const length = Math.min(tcb.smss, seqDiff(seqMin(nextSacked, tcb.sndMax), tcb.sndUna));
  const sent = retransmit(tcb, tcb.sndUna, length, now);
  tcb.prr.onSent(sent);
  if (tcb.sackEnabled) {
    tcb.highRxt = seqAdd(tcb.sndUna, sent);
    tcb.rescueRxt = tcb.highRxt;
  }
}

/** Step 4: a retransmission timeout (the caller resets SND.NXT and backs off). */
export function lossOnTimeout(tcb: Tcb, now: number): void {
  tcb.cc.onRetransmitTimeout({
    now,
    sndUna: tcb.sndUna,
    sndMax: tcb.sndMax,
    bytesInFlight: tcb.flightBytes,
  });
  tcb.spurious.startEpisode();
  tcb.prr.stop();
  if (rackActive(tcb)) rackOnTimeout(tcb);
  tcb.board.clear(); // RFC 2018 §8: the receiver may have reneged
  tcb.delivered.sacked = 0;
  tcb.highRxt = tcb.sndUna;
  tcb.rescueRxt = undefined;
  tcb.rtoTsVal = tsNow(tcb, now);
}
