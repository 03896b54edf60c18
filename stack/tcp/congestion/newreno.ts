/**
 * NewReno: the standard TCP congestion control of RFC 5681, with RFC 6582's partial-ACK
 * handling in fast recovery (shared with CUBIC, in loss_recovery_controller.ts) and RFC 3465's
 * appropriate byte counting.
 *
 *  - Slow start (cwnd < ssthresh): cwnd += min(N, 2·SMSS) per ACK of N new bytes,
 *    which doubles cwnd every round trip (window.ts, run by loss_recovery_controller.ts). The
 *    initial slow start is HyStart++'s (RFC 9406, hystart.ts) unless switched off: it
 *    may end without a loss, with ssthresh = cwnd.
 *  - Congestion avoidance: count acknowledged bytes; each time a cwnd's worth has been
 *    acknowledged, cwnd += SMSS: one segment per round trip (RFC 5681 §3.1, "the
 *    RECOMMENDED way", and RFC 3465 §2.1).
 *  - Loss: ssthresh = max(FlightSize / 2, 2·SMSS) (RFC 5681 §3.1 eq. 4).
 */
import type { CongestionOptions } from "./controller.ts";
import { LossRecoveryController } from "./loss_recovery_controller.ts";

export class NewReno extends LossRecoveryController<number> {
  readonly name = "newreno" as const;
  /** RFC 3465 §2.1 "bytes_acked": bytes acknowledged since cwnd last grew in avoidance. */
  private bytesAcked = 0;

  constructor(options: CongestionOptions) {
    super(options);
  }

  protected congestionAvoidance(bytes: number): void {
    // RFC 5681 §3.1: "When the number of bytes acknowledged reaches cwnd, then cwnd can
    // be incremented by up to SMSS bytes" and "MUST NOT be increased by more than SMSS
    // bytes per RTT", so at most one step per ACK.
    this.bytesAcked += bytes;
    if (this.bytesAcked >= this.window) {
      this.bytesAcked -= this.window;
      this.window += this.smss;
    }
  }

  protected reduceOnLoss(flight: number): void {
    // RFC 5681 §3.1 eq. 4, used by §3.2 step 2.
    this.threshold = Math.max(Math.floor(flight / 2), 2 * this.smss);
    // RFC 3465 §2.1: bytes_acked is reset when cwnd is reduced.
    this.bytesAcked = 0;
  }

  protected reduceOnTimeout(flight: number): void {
    this.reduceOnLoss(flight);
  }

  protected onAppLimited(): void {}

  protected saveExtra(): number {
    return this.bytesAcked;
  }

  protected restoreExtra(bytesAcked: number): void {
    this.bytesAcked = bytesAcked;
  }

  protected restartEpoch(): void {
    this.bytesAcked = 0;
  }
}
