/**
 * Congestion control behind one small interface, chosen per connection like Linux's
 * TCP_CONGESTION: "newreno" (RFC 5681 + RFC 6582 + RFC 3465) or "cubic" (RFC 9438),
 * both with HyStart++ (RFC 9406, hystart.ts) in the initial slow start unless switched off.
 *
 * A controller owns the congestion window (cwnd), the slow-start threshold (ssthresh)
 * and the loss-recovery state around them: the duplicate-ACK count, the recovery point
 * (`recover`, RFC 6582) and whether the connection is in fast recovery. It never sends
 * anything and never reads a clock: TCP reports events with `now` (ms) and acts on the
 * answers. The window arithmetic differs per algorithm (newreno.ts, cubic.ts); the
 * recovery state machine is shared (loss_recovery_controller.ts), because RFC 9438 §4.2 says CUBIC
 * "does not make any changes to the TCP Fast Recovery and Fast Retransmit algorithms".
 *
 * Read first: RFC 5681 §3.1 (slow start, congestion avoidance) and §3.2 (fast
 * retransmit/fast recovery), then RFC 6582 §3.2 and RFC 6675 §5.
 *
 * Sequence-number convention: every sequence number passed in or stored here is an
 * *exclusive* edge like SND.NXT ("one past the last byte"). The RFCs' HighData and
 * `recover` are inclusive ("the highest sequence number transmitted"), so this file's
 * `recover` is the RFC's `recover + 1`, i.e. SND.MAX at the time recovery began.
 *
 * HOW TCP CALLS A CONTROLLER (the wiring recipe). tests/stack/tcp/congestion/sim.ts is
 * this recipe as running code (a sender over a lossy path); keep the two in step.
 * Names: SND.MAX = one past the highest sequence number ever sent (it stays put when
 * SND.NXT goes back after a timeout); FlightSize = SND.MAX − SND.UNA; `board` is the
 * connection's sack/scoreboard.ts Scoreboard; highRxt and rescueRxt are TCB variables
 * (exclusive edges, see scoreboard.ts), highRxt = ISS + 1 and rescueRxt = undefined at first.
 *
 *  0. Create: cc = createCongestionController(name, { mss: SMSS, now }). When the
 *     handshake completes (peer MSS and SACK-permitted known): cc.setMss(SMSS);
 *     cc.setSackEnabled(sackOk); board.mss = SMSS. setMss recomputes the initial window
 *     (RFC 6928) as long as nothing has been acknowledged yet.
 *
 *  1. Output: the congestion limit on the bytes outstanding is cc.sendWindow (cwnd plus
 *     RFC 3042's two segments on the first two duplicate ACKs, no SACK).
 *     a. With SACK and cc.inRecovery (RFC 6675 §5 step (C)): loop
 *          while (cc.cwnd − board.pipe(SND.UNA, SND.MAX, highRxt) ≥ SMSS) {
 *            next = board.nextSeg({ sndUna, sndMax, highRxt, rescueRxt,
 *                                   newDataBytes: min(unsent bytes, room in SND.WND) });
 *            if (!next) break; send [next.seq, next.seq + next.length);
 *            rule 1 or 3 → highRxt = max(highRxt, next.seq + next.length);
 *            rule 2      → SND.NXT = SND.MAX = next.seq + next.length;
 *            rule 4      → rescueRxt = cc.recover (highRxt unchanged) }
 *     b. Otherwise: inFlight = (SACK and cc.dupAcks > 0) ? board.pipe(SND.UNA, SND.MAX,
 *        highRxt) : SND.NXT − SND.UNA; send new segments while inFlight + length ≤
 *        cc.sendWindow (and SND.WND allows). After a timeout SND.NXT < SND.MAX: this
 *        resends from SND.NXT (go-back-N), skipping ranges the board shows SACKed.
 *
 *  2. An ACK with SND.UNA < SEG.ACK ≤ SND.MAX (RFC 9293 §3.10.7.4 "fifth"), in order:
 *       bytesAcked = SEG.ACK − SND.UNA; SND.UNA = SEG.ACK; board.onCumulativeAck(SND.UNA)
 *       (true = the receiver reneged; it has cleared itself); restart the RTO timer;
 *       action = cc.onAck({ now, bytesAcked, sndUna: SND.UNA, sndMax: SND.MAX,
 *                           bytesInFlight: SND.MAX − SND.UNA, rttMs: SRTT,
                           latestRttMs: this ACK's RTT sample, if any, appLimited });
 *     `appLimited` (optional, RFC 7661 / RFC 9438 §5.8): true if the sender was not
 *     cwnd-limited (less than cwnd outstanding and nothing queued) when this data was
 *     sent; cwnd then does not grow. Actions:
 *       "retransmit"   → NewReno partial ACK (no SACK, RFC 6582 §3.2 step 3): resend one
 *                        segment at SND.UNA now.
 *       "recovery-end" → full ACK: rescueRxt = undefined (keep highRxt; SND.UNA overtakes it).
 *       "none"         → nothing special (in SACK recovery, step 1a does the work).
 *
 *  3. Then, for the same segment, the duplicate-ACK test:
 *       without SACK, RFC 5681 §2: SEG.ACK = SND.UNA, no data, no SYN/FIN, window
 *         unchanged, data outstanding (and step 2 did not run);
 *       with SACK, RFC 6675 §2: board.update(seg.sackBlocks, SND.UNA, SND.MAX).newlySacked
 *         > 0 (call update for every ACK carrying blocks, even if step 2 ran).
 *     If it is one: when !cc.inRecovery, highRxt = max(highRxt, SND.UNA) (RFC 6675 (3.1));
 *       action = cc.onDuplicateAck({ now, sndUna: SND.UNA, sndMax: SND.MAX,
 *                   bytesInFlight: SND.MAX − SND.UNA, lost: board.isLost(SND.UNA) });
 *     (`lost` only with SACK.) Actions:
 *       "retransmit"       → fast retransmit (RFC 5681 §3.2 step 3, RFC 6675 (4.3)): resend
 *                            the segment at SND.UNA, up to SMSS and not into SACKed data;
 *                            with SACK set highRxt = rescueRxt = its end, and skip it if
 *                            SND.UNA < highRxt (its retransmission from the last recovery
 *                            is still in flight).
 *       "limited-transmit" → RFC 3042 / RFC 6675 (3): new data only, as step 1b allows.
 *       "none"             → (NewReno recovery may have inflated cwnd.)
 *     Finally run step 1 (output).
 *
 *  4. Retransmission timeout (RFC 6298 §5.4–5.6), before resending:
 *       cc.onRetransmitTimeout({ now, sndUna: SND.UNA, sndMax: SND.MAX,
 *                                bytesInFlight: SND.MAX − SND.UNA });
 *       board.clear() (RFC 2018 §8, RFC 6675 §5.1); highRxt = SND.UNA;
 *       rescueRxt = undefined; SND.NXT = SND.UNA; back off the timer; step 1.
 *     The controller sets ssthresh (RFC 5681 eq. 4, held on repeated timeouts), cwnd =
 *     1 SMSS, recover = SND.MAX, and leaves recovery.
 *
 *  5. Optional: a retransmission proved spurious (RFC 3522 Eifel: the ACK echoes a TSval
 *     older than the retransmission; or D-SACK evidence, RFC 3708, from board.update(...).dsack):
 *     cc.onSpuriousRetransmit(now) restores cwnd/ssthresh/CUBIC state (RFC 9438 §4.9).
 *
 *  6. Optional: before sending after an idle period longer than RTO (RFC 5681 §4.1):
 *     cc.onIdleRestart(now), which sets cwnd = min(cwnd, IW).
 *
 *  The connection adds two optional layers on this recipe (../fast_recovery.ts): PRR
 *  (RFC 6937, prr.ts) replaces cc.cwnd in step 1a's loop by pipe + sndcnt of the last
 *  ACK; RACK-TLP (RFC 8985, ../rack/) replaces step 3's duplicate-ACK test and the
 *  board's IsLost/pipe/NextSeg with time-based loss marks, entering recovery through
 *  cc.onLossDetected with FlightSize as of the first SACK.
 *
 * TCP_INFO: cc.cwnd, cc.ssthresh (2^30 until the first loss or HyStart++ ends slow start),
 * cc.name, cc.inRecovery.
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
  readonly sndMax: number;
  /** FlightSize after this ACK (SND.MAX − SND.UNA), bytes. */
  readonly bytesInFlight: number;
  /** The smoothed RTT (RFC 6298 SRTT) if there is one; CUBIC uses it (RFC 9438 §4.2). */
  readonly rttMs?: number;
  /**
   * The RTT sample this ACK gave, if it gave one (RFC 7323 §4 RTTM, or RFC 6298's timed
   * segment), unsmoothed: HyStart++ takes each round's minimum (RFC 9406 §4.2).
   */
  readonly latestRttMs?: number;
  /** The sender was not using its whole cwnd (application-limited): do not grow cwnd. */
  readonly appLimited?: boolean;
}

/** The values TCP knows on a duplicate ACK or a loss signal (steps 3 and 4). */
export interface LossEvent {
  readonly now: number;
  readonly sndUna: number;
  /** SND.MAX, as in AckEvent. */
  readonly sndMax: number;
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
  /**
   * In SACK recovery, a retransmission was found lost (RACK, RFC 8985 §9.3): a second
   * indication of congestion (RFC 5681 §4.3's principle), answered by another reduction
   * from `bytesInFlight`, with `recover` moved to SND.MAX. TCP calls it only without PRR.
   */
  onRetransmissionLost(loss: LossEvent): void;
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
  /**
   * HyStart++ (RFC 9406, hystart.ts) in the initial slow start; on by default for both
   * controllers (Linux enables HyStart for CUBIC; RFC 9438 §4.10 says CUBIC SHOULD).
   */
  hystart?: boolean;
  /**
   * Continue from another controller's window when TCP_CONGESTION changes mid-connection:
   * pass { cwnd: old.cwnd, ssthresh: old.ssthresh } (Linux keeps both; recovery state and
   * the algorithm's own variables start afresh).
   */
  from?: { readonly cwnd: number; readonly ssthresh: number };
}

/** Creates the controller named like TCP_CONGESTION. */
export function createCongestionController(
  name: CongestionName,
  options: CongestionOptions,
): CongestionController {
  return name === "newreno" ? new NewReno(options) : new Cubic(options);
}
