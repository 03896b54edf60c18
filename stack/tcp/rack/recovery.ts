/**
 * RACK-TLP (RFC 8985) wired into the connection, in place of RFC 6675's duplicate-ACK
 * loss detection (IsLost, DupThresh), which RFC 8985 §9.2 says "MUST NOT be used with
 * RACK-TLP". On when SACK is negotiated and TcpConfig.rack is set (RFC 8985 §4 (1):
 * RACK requires SACK). What stays: the SACK scoreboard (sack/scoreboard.ts), the
 * congestion controller's recovery entry and exit (cc.onLossDetected, cc.onAck), PRR
 * for the sending rate (RFC 8985 §9.3 recommends it), and the RTO with its go-back-N.
 *
 *  - every data transmission is recorded (rack/pto.ts rackOnTransmit, from transmit.ts);
 *  - every ACK runs RACK steps 2–5 (rackOnAck): delivered segments, reordering, the
 *    window, losses; a loss starts recovery, whose sending loop (fast_recovery.ts)
 *    resends the lost records first (rackNextSeg) and counts pipe as outstanding −
 *    SACKed − lost (rackPipe);
 *  - the RACK reordering timer re-runs step 5 when the window of a waiting segment ends;
 *  - the TLP timer (PTO) sends a loss probe when a tail's ACK is overdue (§7.3).
 *
 * Deviations: on a retransmission timeout RACK_mark_losses_on_RTO (§6.3) is not run,
 * because the RTO here resends everything from SND.UNA (go-back-N, skipping SACKed data)
 * anyway; marks are cleared with the scoreboard.
 */
import type { TcpSegment } from "../header.ts";
import type { SackBlock } from "../sack/block.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "../seq.ts";
import type { Tcb } from "../tcb.ts";
import { retransmit, transmitNewData } from "../transmit.ts";
import { ptoAllowed, schedulePto } from "./pto.ts";

/**
 * RFC 8985 §6.2 on an acceptable ACK (after SND.UNA and the scoreboard are updated).
 * `dsack`: its first SACK block is a D-SACK (RFC 2883), not a SACK of new data;
 * `plainDupAck`: an RFC 5681 duplicate ACK (for TLP's §7.4.2 Case 2).
 */
export function rackOnAck(
  tcb: Tcb,
  seg: TcpSegment,
  flags: { readonly dsack: boolean; readonly plainDupAck: boolean },
  now: number,
): void {
  const state = tcb.rackTlp;
  const sent = state.sent;
  // The scoreboard clears itself when the receiver reneges (RFC 2018 §8): so do the marks.
  if (tcb.board.empty && sent.sackedBytes > 0) sent.clearMarks();
  const delivered = state.delivered;
  delivered.length = 0;
  const advanced = sent.onCumulativeAck(tcb.sndUna, delivered) > 0;
  const blocks = seg.options.sackBlocks;
  if (blocks !== undefined) markSacked(tcb, blocks, flags.dsack);
  if (sent.sackedBytes === 0) state.flightAtFirstSack = undefined;
  else state.flightAtFirstSack ??= tcb.flightBytes;
  endRtoRecovery(tcb);
  const useDsack = flags.dsack && tcb.layer.config.dsack; // TcpConfig.dsack: step 4, §7.4.2
  const ack = state.ack;
  ack.now = now;
  ack.tsEcr = tcb.tsEnabled ? seg.options.timestamp?.echo : undefined;
  ack.tsOffset = tcb.tsOffset;
  ack.dsack = useDsack;
  ack.sndUna = tcb.sndUna;
  ack.sndNxt = tcb.sndMax;
  ack.inRecovery = tcb.cc.inRecovery || state.rtoRecoveryEnd !== undefined;
  ack.segsSacked = Math.ceil(sent.sackedBytes / tcb.smss);
  ack.srttMs = tcb.hasRttSample ? tcb.srttMs : tcb.rtoMs;
  state.rack.onAck(ack);
  detectLoss(tcb, now);
  const dsackRight = useDsack ? blocks?.[0]?.right : undefined;
  onProbeAck(tcb, dsackRight, flags.plainDupAck && blocks === undefined, now);
  if (advanced) schedulePto(tcb, now, tcb.sndMax);
  else if (!ptoAllowed(tcb, tcb.flightBytes)) state.tlpAt = Number.POSITIVE_INFINITY;
}

/** The ACK's SACK blocks (but a D-SACK) mark records SACKed, newly delivered ones collected. */
function markSacked(tcb: Tcb, blocks: readonly SackBlock[], dsack: boolean): void {
  for (let i = dsack ? 1 : 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (!seqLt(b.left, b.right) || seqGt(b.right, tcb.sndMax) || seqLe(b.right, tcb.sndUna))
      continue;
    tcb.rackTlp.sent.onSack(seqMax(b.left, tcb.sndUna), b.right, tcb.rackTlp.delivered);
  }
}

/** RACK_detect_loss_and_arm_timer() (step 5), entering recovery on a loss. */
function detectLoss(tcb: Tcb, now: number): void {
  const state = tcb.rackTlp;
  const timeoutMs = state.rack.detectLoss(state.sent, now);
  state.rackAt = timeoutMs > 0 ? now + timeoutMs : Number.POSITIVE_INFINITY;
  if (state.rack.marked) {
    tcb.layer.host.stats.count("tcpRackLossMarks");
    tcb.counters.rackLossMarks!++;
    if (state.rack.markedRetransmission) onLostRetransmission(tcb, now);
    enterRecovery(tcb, now);
  }
}

/**
 * RFC 8985 §9.3: "The Proportional Rate Reduction (PRR) algorithm [RFC6937] is
 * RECOMMENDED for the specific congestion control actions taken upon the losses
 * detected by RACK-TLP. In the absence of PRR [RFC6937], when RACK-TLP detects a lost
 * retransmission, the congestion control MUST trigger an additional congestion
 * response" (RFC 5681 §4.3: "the loss of a retransmission" is a second indication):
 * without PRR, once per window of data, from min(FlightSize, cwnd).
 */
function onLostRetransmission(tcb: Tcb, now: number): void {
  const state = tcb.rackTlp;
  const point = state.lostRetransmissionPoint;
  if (tcb.layer.config.prr || !tcb.cc.inRecovery) return;
  if (point !== undefined && seqLt(tcb.sndUna, point)) return;
  state.lostRetransmissionPoint = tcb.sndMax;
  tcb.layer.host.stats.count("tcpLostRetransmitResponses");
  const flight = Math.min(tcb.flightBytes, tcb.cc.cwnd);
  tcb.cc.onRetransmissionLost({
    now,
    sndUna: tcb.sndUna,
    sndMax: tcb.sndMax,
    bytesInFlight: flight,
  });
}

/** The RACK reordering timer fired (RFC 8985 §6.2 step 5, "when ... the RACK reordering timer expires"). */
export function onReorderTimeout(tcb: Tcb, now: number): void {
  tcb.rackTlp.rackAt = Number.POSITIVE_INFINITY;
  if (tcb.flightBytes === 0) return;
  detectLoss(tcb, now);
}

/**
 * Losses were found: fast recovery (RFC 5681 §3.2 steps 2–3) through the controller, if
 * it allows one now; TLP_init() (§7.1); PRR's start; and the first lost segment resent
 * at once, as the fast retransmit is. ssthresh comes from FlightSize at the first SACK:
 * "additional data sent in limited transmit MUST NOT be included" (RFC 5681 §3.2 step
 * 2), and while RACK waits out the reordering window every SACK clocks out new data
 * (pipe excludes SACKed bytes), which would otherwise raise ssthresh above cwnd.
 */
function enterRecovery(tcb: Tcb, now: number): void {
  const cc = tcb.cc;
  if (cc.inRecovery) return;
  const flight = Math.min(tcb.flightBytes, tcb.rackTlp.flightAtFirstSack ?? tcb.flightBytes);
  const loss = { now, sndUna: tcb.sndUna, sndMax: tcb.sndMax, bytesInFlight: flight };
  if (!cc.onLossDetected(loss)) return;
  const stats = tcb.layer.host.stats;
  stats.count("tcpSackRecoveries");
  tcb.counters.sackRecoveries!++;
  tcb.spurious.startEpisode();
  tcb.rackTlp.tlp.init();
  tcb.rackTlp.tlpAt = Number.POSITIVE_INFINITY;
  if (tcb.layer.config.prr) tcb.prr.start(tcb.flightBytes, cc.ssthresh);
  const first = tcb.rackTlp.sent.firstLost();
  if (first === undefined) return; // a loss the probe repaired (§7.4.2): nothing to resend
  stats.count("tcpFastRetrans");
  tcb.counters.fastRetrans!++;
  const sent = retransmit(tcb, first.seq, Math.min(tcb.smss, seqDiff(first.end, first.seq)), now);
  tcb.prr.onSent(sent);
}

/** RACK's NextSeg: the lowest lost segment, else new data (`newData` bytes may go). */
export function rackNextSeg(
  tcb: Tcb,
  newData: number,
): { seq: number; length: number; rule: 1 | 2 } | undefined {
  const lost = tcb.rackTlp.sent.firstLost();
  if (lost !== undefined) {
    return { seq: lost.seq, length: Math.min(tcb.smss, seqDiff(lost.end, lost.seq)), rule: 1 };
  }
  if (newData > 0) return { seq: tcb.sndMax, length: Math.min(tcb.smss, newData), rule: 2 };
  return undefined;
}

/**
 * pipe under RACK (as Linux's tcp_packets_in_flight): bytes outstanding, less those
 * SACKed and those deemed lost and not yet resent.
 */
export function rackPipe(tcb: Tcb): number {
  const sent = tcb.rackTlp.sent;
  return Math.max(0, tcb.flightBytes - sent.sackedBytes - sent.lostBytes);
}

/** The recovery the controller was in has ended (full ACK): RACK step 4's count. */
export function rackOnRecoveryEnd(tcb: Tcb): void {
  tcb.rackTlp.rack.onRecoveryExit();
}

/** A retransmission timeout: marks cleared with the scoreboard, TLP_init(), RTO recovery. */
export function rackOnTimeout(tcb: Tcb): void {
  const state = tcb.rackTlp;
  state.sent.clearMarks();
  state.tlp.init();
  state.rtoRecoveryEnd = tcb.sndMax;
  state.rackAt = Number.POSITIVE_INFINITY;
  state.tlpAt = Number.POSITIVE_INFINITY;
}

function endRtoRecovery(tcb: Tcb): void {
  const state = tcb.rackTlp;
  if (state.rtoRecoveryEnd === undefined || seqLt(tcb.sndUna, state.rtoRecoveryEnd)) return;
  state.rtoRecoveryEnd = undefined;
  state.rack.onRecoveryExit();
}

/**
 * TLP_process_ack (§7.4.2); a loss the probe alone repaired gets a congestion response.
 * `dsackRight`: the right edge of the ACK's D-SACK block; `plainDupAck`: a duplicate ACK
 * without SACK option.
 */
function onProbeAck(
  tcb: Tcb,
  dsackRight: number | undefined,
  plainDupAck: boolean,
  now: number,
): void {
  const outcome = tcb.rackTlp.tlp.onAck(tcb.sndUna, dsackRight, plainDupAck);
  if (outcome !== "loss-repaired") return;
  tcb.layer.host.stats.count("tcpLossProbeRecovery");
  enterRecovery(tcb, now);
}

/**
 * The PTO fired (§7.3, TLP_send_probe()): if no probe is outstanding and an RTT sample
 * came since the last one, send new data if the peer's window allows, else the last
 * segment again; then re-arm the RTO, "not the PTO timer".
 */
export function onProbeTimeout(tcb: Tcb, now: number, newData: number): void {
  const state = tcb.rackTlp;
  state.tlpAt = Number.POSITIVE_INFINITY;
  if (tcb.flightBytes === 0) return;
  if (state.tlp.endSeq === undefined && state.rack.rttSampledSinceProbe) {
    state.probing = true;
    const sentBytes = probe(tcb, newData, now);
    state.probing = false;
    if (sentBytes > 0) {
      tcb.layer.host.stats.count("tcpLossProbes");
      tcb.counters.lossProbes!++;
      state.tlp.endSeq = tcb.sndMax;
      state.rack.rttSampledSinceProbe = false;
    }
  }
  if (tcb.flightBytes > 0) tcb.retransmitAt = now + tcb.rtoMs;
}

function probe(tcb: Tcb, newData: number, now: number): number {
  const tlp = tcb.rackTlp.tlp;
  if (newData > 0 && tcb.sndNxt === tcb.sndMax) {
    tlp.isRetrans = false;
    return transmitNewData(tcb, Math.min(tcb.smss, newData), now);
  }
  // "Retransmit the highest-sequence Segment sent": the last SMSS below SND.MAX (with the
  // FIN if it was sent).
  const dataEnd = seqMin(tcb.sndMax, seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length));
  const seq = seqMax(tcb.sndUna, seqAdd(dataEnd, -tcb.smss));
  tlp.isRetrans = true;
  if (seqGe(seq, tcb.sndMax)) return 0;
  tcb.spurious.startEpisode(false); // a D-SACK of the probe: spurious, nothing to undo
  return retransmit(tcb, seq, seqDiff(tcb.sndMax, seq), now);
}
