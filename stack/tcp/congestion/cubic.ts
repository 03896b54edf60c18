/**
 * CUBIC (RFC 9438): after a congestion event the window follows a cubic function of
 * the time since the event rather than growing by one segment per round trip:
 *
 *     W_cubic(t) = C·(t − K)³ + W_max            (§4.2 Figure 1)
 *     K = ∛((W_max − cwnd_epoch) / C)              (§4.2 Figure 2)
 *
 * W_max is the window where the last loss happened; K is the time (s) the cubic takes
 * to climb back to it. Below W_max the curve is concave (fast, then flat near W_max,
 * §4.4); past it, convex (slow, then probing faster, §4.5). A Reno-friendly estimate
 * W_est (§4.3) keeps CUBIC at least as fast as Reno would be on short, small paths.
 * On loss, cwnd and ssthresh become FlightSize·β_cubic with β_cubic = 0.7 (§4.6).
 *
 * Units: the RFC's windows are in segments and times in seconds (§4.1); this class
 * keeps cwnd in bytes for TCP and converts with SMSS, and takes time as `now` in ms.
 * Slow start is the shared one (loss_recovery_controller.ts): HyStart++ (RFC 9406, hystart.ts) in
 * the initial slow start as §4.10 says CUBIC SHOULD, RFC 5681's with RFC 3465 byte
 * counting after a loss or with HyStart++ off (§4.10 "MAY use the Reno TCP slow start").
 */
import type { AckEvent, CongestionOptions } from "./controller.ts";
import { LossRecoveryController } from "./loss_recovery_controller.ts";

/** RFC 9438 §5.1: C = 0.4 (segments / s³). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: β_cubic SHOULD be 0.7. */
export const BETA_CUBIC = 0.7;
/** RFC 9438 §4.3: α_cubic = 3·(1 − β_cubic)/(1 + β_cubic), Reno's average rate. */
export const ALPHA_CUBIC = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);

/** RFC 9438 §4.2 Figure 2, segments → seconds (negative when cwnd_epoch > W_max). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt((wMax - cwndEpoch) / CUBIC_C);
}

/** RFC 9438 §4.2 Figure 1: the window (segments) t seconds into the epoch. */
export function wCubic(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/** The state RFC 9438 §4.9.2 saves for undo (and §4.1.2's variables, in segments). */
interface CubicState {
  /** W_max, segments; undefined before the first congestion event. */
  wMax: number | undefined;
  /** cwnd_prior, segments. */
  cwndPrior: number | undefined;
  /** K, seconds. */
  k: number;
  /** t_epoch, ms; undefined until the current congestion-avoidance stage begins. */
  tEpoch: number | undefined;
  /** cwnd_epoch, segments. */
  cwndEpoch: number;
  /** W_est, segments. */
  wEst: number;
  /** §4.8: the first avoidance stage after a timeout uses K = 0, W_max = cwnd_epoch. */
  afterTimeout: boolean;
}

export class Cubic extends LossRecoveryController<CubicState> {
  readonly name = "cubic" as const;
  private readonly fastConvergence: boolean;
  private state: CubicState = {
    wMax: undefined,
    cwndPrior: undefined,
    k: 0,
    tEpoch: undefined,
    cwndEpoch: 0,
    wEst: 0,
    afterTimeout: false,
  };
  /** When cwnd last grew in avoidance: app-limited gaps are cut out of t (§5.8). */
  private lastGrowthAt = 0;

  constructor(options: CongestionOptions) {
    super(options);
    this.fastConvergence = options.fastConvergence ?? true;
  }

  /** RFC 9438 variables for tests and TCP_INFO-style display (segments, seconds). */
  get variables(): Readonly<CubicState> {
    return { ...this.state };
  }

  /**
   * §4.2–§4.5, on each new ACK in congestion avoidance. (§4.10's slow start below
   * ssthresh is the shared one, in loss_recovery_controller.ts.)
   */
  protected congestionAvoidance(bytesAcked: number, ack: AckEvent): void {
    const now = ack.now;
    const rttMs = ack.rttMs ?? 0;
    const s = this.state;
    if (s.tEpoch === undefined) this.beginEpoch(now);
    this.lastGrowthAt = now;
    const cwnd = this.window / this.smss;
    const segmentsAcked = bytesAcked / this.smss;
    const t = (now - (s.tEpoch ?? now)) / 1000;
    const wMax = s.wMax ?? cwnd;
    // §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5·cwnd].
    const target = Math.min(Math.max(wCubic(t + rttMs / 1000, s.k, wMax), cwnd), 1.5 * cwnd);
    // §4.3 Figure 4, with α = 1 once W_est has reached cwnd_prior.
    const alpha = s.wEst >= (s.cwndPrior ?? s.cwndEpoch) ? 1 : ALPHA_CUBIC;
    s.wEst += (alpha * segmentsAcked) / cwnd;
    let next: number;
    if (wCubic(t, s.k, wMax) < s.wEst) {
      // §4.3: the Reno-friendly region: "cwnd SHOULD be set to W_est".
      next = Math.max(cwnd, s.wEst);
    } else {
      // §4.4/§4.5 (concave below W_max, convex above): "(target − cwnd)/cwnd" per ACK,
      // scaled by the segments this ACK covers (§4.1: byte-counting implementations).
      next = cwnd + ((target - cwnd) / cwnd) * segmentsAcked;
    }
    this.window = next * this.smss;
  }

  /** §4.2: "t_epoch ... the time at which the current congestion avoidance stage starts". */
  private beginEpoch(now: number): void {
    const s = this.state;
    const cwnd = this.window / this.smss;
    s.tEpoch = now;
    s.cwndEpoch = cwnd;
    // §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage".
    s.wEst = cwnd;
    if (s.afterTimeout || s.wMax === undefined) {
      // §4.8 after a timeout, and §4.10 when slow start ended without a loss: "K is set
      // to 0, and W_max is set to the congestion window size at the beginning of the
      // current congestion avoidance stage".
      s.k = 0;
      s.wMax = cwnd;
      s.cwndPrior ??= cwnd;
      s.afterTimeout = false;
    } else {
      s.k = cubicK(s.wMax, cwnd);
    }
  }

  /** §4.6 multiplicative decrease, with §4.7 fast convergence first. */
  protected reduceOnLoss(flight: number): void {
    const s = this.state;
    const cwnd = this.window / this.smss;
    if (this.fastConvergence && s.wMax !== undefined && cwnd < s.wMax) {
      // §4.7: the saturation point is falling: "further reduce W_max" to release bandwidth.
      s.wMax = (cwnd * (1 + BETA_CUBIC)) / 2;
    } else {
      s.wMax = cwnd;
    }
    s.cwndPrior = cwnd;
    this.setThreshold(flight);
    s.tEpoch = undefined;
  }

  /**
   * §4.8: "CUBIC follows Reno to reduce cwnd [RFC5681] but sets ssthresh using β_cubic";
   * the next avoidance stage starts afresh with K = 0 (beginEpoch).
   */
  protected reduceOnTimeout(flight: number): void {
    const s = this.state;
    s.cwndPrior = this.window / this.smss;
    this.setThreshold(flight);
    s.tEpoch = undefined;
    s.afterTimeout = true;
  }

  /** §4.6 Figure 5: ssthresh = flight_size·β_cubic, at least 2 segments. */
  private setThreshold(flight: number): void {
    this.threshold = Math.max(Math.floor(flight * BETA_CUBIC), 2 * this.smss);
  }

  /**
   * §4.2: "The elapsed time t ... MUST NOT include periods during which cwnd has not been
   * updated due to application-limited behavior": slide t_epoch forward by the gap.
   */
  protected onAppLimited(now: number): void {
    const s = this.state;
    if (s.tEpoch !== undefined) s.tEpoch += Math.max(0, now - this.lastGrowthAt);
    this.lastGrowthAt = now;
  }

  protected saveExtra(): CubicState {
    return { ...this.state };
  }

  protected restoreExtra(saved: CubicState): void {
    this.state = { ...saved };
  }

  protected restartEpoch(): void {
    this.state.tEpoch = undefined;
  }
}
