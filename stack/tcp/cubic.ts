/**
 * CUBIC (RFC 9438): after a loss, the window follows a cubic of the time since the
 * loss, W_cubic(t) = C·(t − K)³ + W_max (§4.2), flat near the old maximum W_max and
 * probing fast away from it; below it, a Reno-friendly estimate W_est keeps CUBIC at
 * least as fast as Reno would be (§4.3). Windows here are in segments, as in the RFC.
 */
import { type CongestionControl, slowStart } from "./congestion.ts";

const C = 0.4; // RFC 9438 §5.1
const BETA = 0.7; // RFC 9438 §4.6 β_cubic
const ALPHA = (3 * (1 - BETA)) / (1 + BETA); // RFC 9438 §4.3 α_cubic

export class Cubic implements CongestionControl {
  readonly name = "cubic" as const;
  cwnd: number;
  ssthresh = 0x7fffffff; // RFC 9438 §4.10: slow start as in RFC 5681
  private wMax = 0;
  private k = 0;
  private wEst = 0;
  /** Start of the current congestion-avoidance epoch (ms), or -1 when none. */
  private epochStart = -1;

  constructor(initialWindow: number) {
    this.cwnd = initialWindow;
  }

  onAck(ackedBytes: number, smss: number, now: number, srttMs: number): void {
    if (this.cwnd < this.ssthresh) {
      slowStart(this, ackedBytes, smss);
      return;
    }
    const cwndSegments = this.cwnd / smss;
    if (this.epochStart < 0) {
      // RFC 9438 §4.2: a new epoch; K is the time to climb back to W_max.
      this.epochStart = now;
      if (cwndSegments < this.wMax) this.k = Math.cbrt((this.wMax - cwndSegments) / C);
      else {
        this.k = 0;
        this.wMax = cwndSegments;
      }
      this.wEst = cwndSegments;
    }
    const t = (now - this.epochStart + srttMs) / 1000; // W_cubic(t + RTT), §4.2
    let target = C * (t - this.k) ** 3 + this.wMax;
    target = Math.min(Math.max(target, cwndSegments), 1.5 * cwndSegments); // §4.4 bound
    // §4.3: W_est grows like Reno with α_cubic (α = 1 once past W_max).
    const alpha = this.wEst >= this.wMax ? 1 : ALPHA;
    this.wEst += (alpha * (ackedBytes / smss)) / cwndSegments;
    if (target < this.wEst) this.cwnd = Math.max(this.cwnd, this.wEst * smss);
    else this.cwnd += ((target - cwndSegments) / cwndSegments) * ackedBytes;
  }

  onLoss(_flightBytes: number, smss: number): void {
    const cwndSegments = this.cwnd / smss;
    this.epochStart = -1;
    // §4.7 fast convergence: release bandwidth sooner when W_max keeps dropping.
    this.wMax = cwndSegments < this.wMax ? (cwndSegments * (1 + BETA)) / 2 : cwndSegments;
    // §4.6: ssthresh = cwnd · β_cubic, at least 2 segments.
    this.ssthresh = Math.max(Math.floor(this.cwnd * BETA), 2 * smss);
  }

  onTimeout(flightBytes: number, smss: number): void {
    this.onLoss(flightBytes, smss);
    this.cwnd = smss; // §4.8: as RFC 5681 after an RTO
  }
}
