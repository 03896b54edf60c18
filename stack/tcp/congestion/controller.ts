/**
 * Congestion control behind one small interface, chosen per connection like Linux's
 * TCP_CONGESTION: "newreno" (RFC 5681 + RFC 6582 + RFC 3465) or "cubic" (RFC 9438).
 *
 * A controller owns the congestion window (cwnd), the slow-start threshold (ssthresh)
 * and the loss-recovery state around them: the duplicate-ACK count, the recovery point
 * (`recover`, RFC 6582) and whether the connection is in fast recovery. It never sends
 * anything and never reads a clock: TCP reports events with `now` (ms) and acts on the
 * answers. The window arithmetic differs per algorithm (newreno.ts, cubic.ts); the
 * recovery state machine is shared (loss_recovery.ts), because RFC 9438 §4.2 says CUBIC
 * "does not make any changes to the TCP Fast Recovery and Fast Retransmit algorithms".
 *
 * Read first: RFC 5681 §3.1 (slow start, congestion avoidance) and §3.2 (fast
 * retransmit/fast recovery), then RFC 6582 §3.2 and RFC 6675 §5.
 *
 * Sequence-number convention: every sequence number passed in or stored here is an
 * *exclusive* edge like SND.NXT ("one past the last byte"). The RFCs' HighData and
 * `recover` are inclusive ("the highest sequence number transmitted"), so this file's
 * `recover` is the RFC's `recover + 1`, i.e. SND.NXT at the time recovery began.
 *
 * HOW TCP CALLS A CONTROLLER (the wiring recipe), step by step:
 *
 *  0. Create it when the TCB is created:
 *       cc = createCongestionController(name, { mss: tcb.smss, now });
 *     When the handshake completes (peer MSS and SACK-permitted known) call
 *       cc.setMss(tcb.smss); cc.setSackEnabled(tcb.sackEnabled);
 *     setMss recomputes the initial window (RFC 6928) if no data has been acked yet.
 *
 *  1. Sending (tcp output): the congestion limit on bytes outstanding is
 *       allowed = cc.sendWindow   (cwnd, plus up to 2·SMSS of RFC 3042 limited transmit)
 *     Without SACK, or with SACK outside recovery, compare it with FlightSize
 *     (SND.MAX − SND.UNA): send while FlightSize + segment ≤ min(allowed, SND.WND room).
 *     With SACK, in recovery or after a duplicate ACK, compare cc.cwnd with the
 *     scoreboard's pipe (RFC 6675 §5 step (C)): send while cwnd − pipe ≥ 1 SMSS, choosing
 *     each segment with scoreboard.nextSeg(); see stack/tcp/sack/scoreboard.ts.
 *
 *  2. An acceptable ACK that advances SND.UNA (RFC 9293 §3.10.7.4 "fifth"): after
 *     updating SND.UNA (and, with SACK, scoreboard.onCumulativeAck + scoreboard.update):
 *       const action = cc.onAck({ now, bytesAcked, sndUna, sndNxt: SND.MAX,
 *                                bytesInFlight: SND.MAX − SND.UNA, rttMs: SRTT,
 *                                appLimited });
 *     `bytesAcked` = SEG.ACK − old SND.UNA (exclude the SYN/FIN sequence slot if you
 *     like; one byte is harmless). `appLimited` = true when, before this ACK, the sender
 *     had less than cwnd outstanding because the application gave it nothing to send
 *     (RFC 7661; RFC 9438 §5.8): cwnd then does not grow.
 *       action "retransmit"     → NewReno partial ACK (RFC 6582 §3.2 step 3, no SACK):
 *                                 retransmit one segment at SND.UNA now, and (first
 *                                 partial ACK) restart the retransmission timer.
 *       action "recovery-end"   → full ACK: recovery is over (reset HighRxt/RescueRxt).
 *       action "none"           → nothing special.
 *     Then send what step 1 allows.
 *
 *  3. A duplicate ACK:
 *       - without SACK, RFC 5681 §2's definition (SEG.ACK = SND.UNA, no data, no window
 *         change, data outstanding, no SYN/FIN);
 *       - with SACK, RFC 6675 §2's: the ACK carries SACK blocks that newly SACK bytes
 *         (scoreboard.update(...).newlySacked > 0), even if it also advanced SND.UNA
 *         (then call onAck first, then onDuplicateAck).
 *     Call
 *       const action = cc.onDuplicateAck({ now, sndUna, sndNxt: SND.MAX,
 *                                          bytesInFlight: SND.MAX − SND.UNA,
 *                                          lost: scoreboard.isLost(sndUna) }); // lost: SACK only
 *       "limited-transmit" → RFC 3042 / RFC 6675 §5 step (3): send *new* data only, as
 *                            step 1 allows (cc.sendWindow already includes the 2·SMSS).
 *       "retransmit"       → fast retransmit (RFC 5681 §3.2 step 3 / RFC 6675 (4.3)):
 *                            retransmit the segment at SND.UNA, set HighRxt to its end and
 *                            RescueRxt likewise (SACK); then send what step 1 allows.
 *       "none"             → in recovery: the window may have been inflated (NewReno,
 *                            RFC 5681 §3.2 step 4), so send what step 1 allows.
 *
 *  4. Retransmission timer expiry (RFC 6298 §5.4–5.6), before retransmitting:
 *       cc.onRetransmitTimeout({ now, sndUna, sndNxt: SND.MAX, bytesInFlight: SND.MAX − SND.UNA });
 *     It sets ssthresh (RFC 5681 eq. 4, held on repeated timeouts), cwnd = 1 SMSS and
 *     recover = SND.MAX (RFC 6582 step 4, RFC 6675 §5.1), and leaves recovery. With SACK,
 *     RFC 2018 §8 / RFC 6675 §5.1 suggest scoreboard.clear() here (reneging).
 *
 *  5. Optional: a retransmission proved spurious (RFC 3522 Eifel with timestamps, or
 *     D-SACK): cc.onSpuriousRetransmit(now) restores the state saved before the
 *     reduction (RFC 9438 §4.9; the same idea for NewReno, RFC 4015).
 *
 *  6. Optional: sending after an idle period longer than RTO (RFC 5681 §4.1):
 *       cc.onIdleRestart(now)   → cwnd = min(cwnd, IW)
 */
import { Cubic } from "./cubic.ts";
import { NewReno } from "./newreno.ts";

export type CongestionName = "newreno" | "cubic";

/** The values TCP knows when an ACK advances SND.UNA (see the recipe above, step 2). */
export interface AckEvent {
  readonly now: number;
  /** SEG.ACK − old SND.UNA: the newly, cumulatively acknowledged bytes. */
  readonly bytesAcked: number;
  /** The new SND.UNA (= SEG.ACK). */
  readonly sndUna: number;
  /** SND.MAX: one past the highest sequence number sent (RFC 6675 HighData + 1). */
  readonly sndNxt: number;
  /** FlightSize after this ACK (SND.MAX − SND.UNA), bytes. */
  readonly bytesInFlight: number;
  /** The smoothed RTT (RFC 6298 SRTT) if there is one; CUBIC uses it (RFC 9438 §4.2). */
  readonly rttMs?: number;
  /** The sender was not using its whole cwnd (application-limited): do not grow cwnd. */
  readonly appLimited?: boolean;
}

/** The values TCP knows on a duplicate ACK or a loss signal (steps 3 and 4). */
export interface LossEvent {
  readonly now: number;
  readonly sndUna: number;
  /** SND.MAX, as in AckEvent. */
  readonly sndNxt: number;
  /** FlightSize (SND.MAX − SND.UNA), bytes. */
  readonly bytesInFlight: number;
  /** SACK only: the scoreboard's IsLost(SND.UNA) (RFC 6675 §5 step (2)). */
  readonly lost?: boolean;
}

export type AckAction = "none" | "retransmit" | "recovery-end";
export type DupAckAction = "none" | "limited-transmit" | "retransmit";

export interface CongestionController {
  readonly name: CongestionName;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Slow-start threshold, bytes. */
  readonly ssthresh: number;
  /** cwnd plus the RFC 3042 limited-transmit allowance: the cap on FlightSize. */
  readonly sendWindow: number;
  /** In fast recovery (RFC 5681 §3.2 / RFC 6582) or SACK loss recovery (RFC 6675 §5). */
  readonly inRecovery: boolean;
  /** Duplicate ACKs since the last ACK that advanced SND.UNA. */
  readonly dupAcks: number;
  /** SND.MAX when the last recovery or timeout began (exclusive edge), if any. */
  readonly recover: number | undefined;
  readonly mss: number;

  /** New data cumulatively acknowledged (RFC 5681 §3.1, RFC 3465 byte counting). */
  onAck(ack: AckEvent): AckAction;
  /** A duplicate ACK (RFC 5681 §2, or RFC 6675 §2 with SACK). */
  onDuplicateAck(dup: LossEvent): DupAckAction;
  /** Loss detected another way (SACK IsLost, RACK): enter recovery if allowed; true if so. */
  onLossDetected(loss: LossEvent): boolean;
  /** Retransmission timeout (RFC 5681 §3.1 eq. 4 and the loss window). */
  onRetransmitTimeout(loss: LossEvent): void;
  /** The last reduction was caused by a spurious retransmission: undo it (RFC 9438 §4.9). */
  onSpuriousRetransmit(now: number): void;
  /** Restarting after an idle period longer than RTO (RFC 5681 §4.1). */
  onIdleRestart(now: number): void;
  /** The sender MSS changed (handshake, path MTU). */
  setMss(mss: number): void;
  /** SACK was negotiated (RFC 2018 §2): use RFC 6675 recovery instead of RFC 6582. */
  setSackEnabled(enabled: boolean): void;
}

export interface CongestionOptions {
  /** Sender MSS (SMSS, RFC 5681 §2), bytes. */
  mss: number;
  now: number;
  /** SACK negotiated; can be changed later with setSackEnabled. */
  sack?: boolean;
  /** Initial window in segments; 10 gives RFC 6928's IW. */
  initialWindowSegments?: number;
  /** CUBIC fast convergence (RFC 9438 §4.7); on by default, as on Linux. */
  fastConvergence?: boolean;
}

/** Creates the controller named like TCP_CONGESTION. */
export function createCongestionController(
  name: CongestionName,
  options: CongestionOptions,
): CongestionController {
  return name === "newreno" ? new NewReno(options) : new Cubic(options);
}
