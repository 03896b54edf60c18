/**
 * The loss-recovery state machine both controllers share: duplicate-ACK counting,
 * fast retransmit and fast recovery (RFC 5681 §3.2) with NewReno's partial ACKs
 * (RFC 6582 §3.2), limited transmit (RFC 3042), SACK-based recovery entry and exit
 * (RFC 6675 §5), the retransmission-timeout response (RFC 5681 §3.1) and undo of a
 * spurious reduction (RFC 9438 §4.9).
 *
 * Subclasses supply the window arithmetic: how cwnd grows on an ACK outside recovery
 * and what ssthresh becomes on a loss (NewReno: FlightSize/2; CUBIC: FlightSize·0.7).
 *
 * Two recovery styles, fixed when recovery begins:
 *  - "newreno" (no SACK): cwnd = ssthresh + 3·SMSS, inflated by SMSS per further
 *    duplicate ACK, deflated by partial ACKs; TCP compares FlightSize with cwnd.
 *  - "sack" (RFC 6675): cwnd = ssthresh and left alone; TCP compares pipe with cwnd.
 */
import { seqGe, seqGt } from "../seq.ts";
import type {
  AckAction,
  AckEvent,
  CongestionController,
  CongestionName,
  CongestionOptions,
  DupAckAction,
  LossEvent,
} from "./controller.ts";
import { HyStart } from "./hystart.ts";
import { DUP_THRESH, INITIAL_SSTHRESH, initialWindow, slowStart } from "./window.ts";

type Recovery = "none" | "newreno" | "sack";

/** What onSpuriousRetransmit puts back (RFC 9438 §4.9.2 lists CUBIC's part). */
interface Undo<Extra> {
  cwnd: number;
  ssthresh: number;
  extra: Extra;
}

export abstract class LossRecoveryController<Extra> implements CongestionController {
  abstract readonly name: CongestionName;
  /** Congestion window in bytes; may be fractional inside (CUBIC), floored outside. */
  protected window: number;
  protected threshold = INITIAL_SSTHRESH;
  protected smss: number;
  private readonly iwSegments: number;
  private sack: boolean;
  private recovery: Recovery = "none";
  private duplicates = 0;
  /** FlightSize at the first duplicate ACK: without limited-transmit data (RFC 5681 §3.2 (2)). */
  private flightAtFirstDuplicate = 0;
  /** FlightSize when recovery began: caps NewReno's inflation (RFC 5681 §3.2 step 4, note). */
  private flightAtRecovery = 0;
  /** SND.MAX when recovery or the last timeout began (RFC 6582 `recover` + 1). */
  private recoveryPoint: number | undefined;
  /** recover was set by a timeout: RFC 6675 §5.1 forbids a new recovery until it is acked. */
  private recoverySetByTimeout = false;
  private consecutiveTimeouts = 0;
  /** Nothing acked yet: setMss may still recompute the initial window. */
  private pristine = true;
  private undo: Undo<Extra> | undefined;
  /** RFC 9406 HyStart++ for the initial slow start; undefined when switched off. */
  private readonly hystart: HyStart | undefined;

  constructor(options: CongestionOptions) {
    this.hystart = options.hystart === false ? undefined : new HyStart();
    this.smss = options.mss;
    this.iwSegments = options.initialWindowSegments ?? 10;
    this.window = initialWindow(options.mss, this.iwSegments);
    this.sack = options.sack ?? false;
    if (options.from !== undefined) {
      this.window = Math.max(options.from.cwnd, options.mss);
      this.threshold = Math.max(options.from.ssthresh, 2 * options.mss);
      this.pristine = false;
    }
  }

  // The window arithmetic, per algorithm.
  /**
   * Grow the window in congestion avoidance (cwnd >= ssthresh) for an ACK of new data
   * outside recovery: `bytesAcked` is what slow start left over (`grow`).
   */
  protected abstract congestionAvoidance(bytesAcked: number, ack: AckEvent): void;
  /** A loss signalled by ACKs: set ssthresh from `flight` (and remember W_max etc.). */
  protected abstract reduceOnLoss(flight: number, now: number): void;
  /** A retransmission timeout: set ssthresh from `flight` (the loss window is set here). */
  protected abstract reduceOnTimeout(flight: number, now: number): void;
  /** The connection was application-limited for this ACK (RFC 9438 §5.8). */
  protected abstract onAppLimited(now: number): void;
  /** The algorithm's own state, for undo. */
  protected abstract saveExtra(): Extra;
  protected abstract restoreExtra(extra: Extra): void;
  /** Idle restart: the algorithm's own reset (CUBIC starts a new epoch). */
  protected abstract restartEpoch(): void;

  get cwnd(): number {
    return Math.floor(this.window);
  }

  get ssthresh(): number {
    return this.threshold;
  }

  get mss(): number {
    return this.smss;
  }

  get inRecovery(): boolean {
    return this.recovery !== "none";
  }

  get dupAcks(): number {
    return this.duplicates;
  }

  get recover(): number | undefined {
    return this.recoveryPoint;
  }

  get sendWindow(): number {
    // RFC 3042 §2: on the first two duplicate ACKs the sender may send "two segments
    // beyond the congestion window"; cwnd itself "MUST NOT be changed". With SACK the
    // pipe already excludes SACKed bytes (RFC 6675 §5 step (3)), so no allowance.
    if (this.recovery === "none" && !this.sack && this.duplicates > 0) {
      return this.cwnd + Math.min(this.duplicates, DUP_THRESH - 1) * this.smss;
    }
    return this.cwnd;
  }

  onAck(ack: AckEvent): AckAction {
    // RFC 5681 §3.2 / RFC 6675 §5: a cumulative ACK resets the duplicate count.
    this.duplicates = 0;
    this.consecutiveTimeouts = 0;
    this.pristine = false;
    if (this.recovery !== "none") {
      if (seqGe(ack.sndUna, this.recoveryPoint ?? ack.sndUna)) return this.exitRecovery(ack);
      return this.partialAck(ack);
    }
    if (ack.appLimited === true) {
      this.onAppLimited(ack.now);
      return "none";
    }
    this.grow(ack);
    return "none";
  }

  /**
   * RFC 5681 §3.1: slow start while cwnd < ssthresh (CUBIC too: RFC 9438 §4.10 "When
   * cwnd is no more than ssthresh, CUBIC MUST employ a slow start"), then congestion
   * avoidance with the acknowledged bytes slow start did not use.
   */
  private grow(ack: AckEvent): void {
    let bytes = ack.bytesAcked;
    const initial = this.threshold === INITIAL_SSTHRESH && this.window < this.threshold;
    if (this.hystart !== undefined && initial) {
      // RFC 9406 §4.3: HyStart++ runs the initial slow start, while ssthresh is still
      // "at its initial value of arbitrarily high"; it may end it: §4.2 "ssthresh = cwnd".
      const step = this.hystart.onAck(ack, this.smss);
      this.window += step.increase;
      if (step.exit) this.threshold = Math.floor(this.window);
      return;
    }
    if (this.window < this.threshold) {
      const grown = slowStart(this.window, this.threshold, bytes, this.smss);
      this.window = grown.cwnd;
      bytes = grown.leftover;
      if (bytes === 0) return;
    }
    this.congestionAvoidance(bytes, ack);
  }

  onDuplicateAck(dup: LossEvent): DupAckAction {
    if (this.recovery === "newreno") {
      this.inflate();
      return "none";
    }
    // RFC 6675 §5: in SACK recovery duplicate ACKs change pipe, not cwnd.
    if (this.recovery === "sack") return "none";
    this.duplicates++;
    if (this.duplicates === 1) this.flightAtFirstDuplicate = dup.bytesInFlight;
    const signalled = this.duplicates >= DUP_THRESH || (this.sack && dup.lost === true);
    if (signalled && this.enterRecovery(dup)) return "retransmit";
    // RFC 3042 §2: the first two duplicate ACKs may each clock out one new segment.
    // RFC 6675 §5 step (3): with SACK, as many as cwnd − pipe allows.
    if (this.sack || this.duplicates < DUP_THRESH) return "limited-transmit";
    return "none";
  }

  onLossDetected(loss: LossEvent): boolean {
    if (this.recovery !== "none") return false;
    if (this.duplicates === 0) this.flightAtFirstDuplicate = loss.bytesInFlight;
    return this.enterRecovery(loss);
  }

  onRetransmissionLost(loss: LossEvent): void {
    if (this.recovery !== "sack") return;
    // RFC 8985 §9.3: "when RACK-TLP detects a lost retransmission, the congestion control
    // MUST trigger an additional congestion response". The undo snapshot stays the one
    // from before the recovery: an undo (RFC 9438 §4.9) reverses both reductions.
    this.reduceOnLoss(loss.bytesInFlight, loss.now);
    this.window = this.threshold;
    this.recoveryPoint = loss.sndMax;
  }

  onRetransmitTimeout(loss: LossEvent): void {
    // RFC 5681 §3.1: ssthresh per eq. 4 only on the first timeout of a segment; "when ...
    // the given segment has already been retransmitted by way of the retransmission
    // timer at least once, the value of ssthresh is held constant".
    if (this.consecutiveTimeouts === 0) {
      this.undo = this.snapshot();
      this.reduceOnTimeout(loss.bytesInFlight, loss.now);
    }
    this.consecutiveTimeouts++;
    // RFC 5681 §3.1: "cwnd MUST be set to no more than the loss window, LW, which
    // equals 1 full-sized segment".
    this.window = this.smss;
    // RFC 6582 §3.2 step 4 / RFC 6675 §5.1: remember the highest sequence number sent
    // and leave recovery; no new recovery until it is acknowledged.
    this.recoveryPoint = loss.sndMax;
    this.recoverySetByTimeout = true;
    this.recovery = "none";
    this.duplicates = 0;
  }

  onSpuriousRetransmit(_now: number): void {
    // RFC 9438 §4.9.2: restore "if the current cwnd is lower than cwnd_prior", the
    // cwnd just before the reduction, which is what the snapshot holds.
    const undo = this.undo;
    if (undo === undefined || this.window >= undo.cwnd) return;
    this.window = undo.cwnd;
    this.threshold = undo.ssthresh;
    this.restoreExtra(undo.extra);
    this.recovery = "none";
    this.duplicates = 0;
    this.consecutiveTimeouts = 0;
    this.undo = undefined;
  }

  onIdleRestart(_now: number): void {
    // RFC 5681 §4.1: after an idle period longer than RTO, cwnd is reduced to the
    // restart window RW = min(IW, cwnd) before sending.
    this.window = Math.min(this.window, initialWindow(this.smss, this.iwSegments));
    this.restartEpoch();
  }

  setMss(mss: number): void {
    this.smss = mss;
    if (this.pristine) this.window = initialWindow(mss, this.iwSegments);
  }

  setSackEnabled(enabled: boolean): void {
    this.sack = enabled;
  }

  /**
   * RFC 6582 §3.2 step 2 (no SACK): fast retransmit only "if the Cumulative
   * Acknowledgment field covers more than recover", i.e. SND.UNA > our recover (which is
   * the RFC's + 1). RFC 6675 §5.1 (SACK): after a timeout, no new recovery "until HighACK
   * is greater than or equal to the new value of RecoveryPoint". Deviation: the RFC
   * initialises recover to ISS, which would forbid fast retransmit of the very first
   * data segment; here recover starts undefined.
   */
  private mayEnterRecovery(sndUna: number): boolean {
    const point = this.recoveryPoint;
    if (point === undefined) return true;
    if (this.sack) return !this.recoverySetByTimeout || seqGe(sndUna, point);
    return seqGt(sndUna, point);
  }

  private enterRecovery(loss: LossEvent): boolean {
    if (!this.mayEnterRecovery(loss.sndUna)) return false;
    this.undo = this.snapshot();
    // RFC 6582 step 2 / RFC 6675 (4.1): recover = HighData.
    this.recoveryPoint = loss.sndMax;
    this.recoverySetByTimeout = false;
    // RFC 5681 §3.2 step 2: "additional data sent in limited transmit MUST NOT be
    // included in this calculation": use FlightSize as of the first duplicate ACK.
    const flight = this.flightAtFirstDuplicate;
    this.flightAtRecovery = flight;
    this.reduceOnLoss(flight, loss.now);
    if (this.sack) {
      // RFC 6675 (4.2): cwnd = ssthresh; the pipe, not inflation, paces recovery.
      this.window = this.threshold;
      this.recovery = "sack";
    } else {
      // RFC 5681 §3.2 step 3: cwnd = ssthresh + 3·SMSS, for the three segments that
      // left the network and triggered the duplicate ACKs.
      this.window = this.threshold + DUP_THRESH * this.smss;
      this.recovery = "newreno";
    }
    return true;
  }

  /**
   * RFC 5681 §3.2 step 4: each further duplicate ACK inflates cwnd by SMSS; the note
   * allows limiting the inflation "to the number of outstanding segments", which
   * blunts a receiver that sends bogus duplicate ACKs.
   */
  private inflate(): void {
    if (this.window - this.threshold < this.flightAtRecovery) this.window += this.smss;
  }

  /**
   * RFC 6582 §3.2 step 3, partial acknowledgment: "retransmit the first unacknowledged
   * segment. Deflate the congestion window by the amount of new data acknowledged ...
   * If the partial ACK acknowledges at least one SMSS of new data, then add back SMSS
   * bytes". With SACK, NextSeg chooses what to resend and cwnd stays (RFC 6675 §5 (B)).
   */
  private partialAck(ack: AckEvent): AckAction {
    if (this.recovery === "sack") return "none";
    this.window = Math.max(this.window - ack.bytesAcked, this.smss);
    if (ack.bytesAcked >= this.smss) this.window += this.smss;
    return "retransmit";
  }

  /**
   * RFC 6582 §3.2 step 3, full acknowledgment: "Set cwnd to either (1) min (ssthresh,
   * max(FlightSize, SMSS) + SMSS) or (2) ssthresh". Option (1) avoids a burst when
   * little is outstanding; RFC 6675 §5 (A) ends SACK recovery at the same point.
   */
  private exitRecovery(ack: AckEvent): AckAction {
    this.window = Math.min(this.threshold, Math.max(ack.bytesInFlight, this.smss) + this.smss);
    this.recovery = "none";
    return "recovery-end";
  }

  private snapshot(): Undo<Extra> {
    return { cwnd: this.window, ssthresh: this.threshold, extra: this.saveExtra() };
  }
}
