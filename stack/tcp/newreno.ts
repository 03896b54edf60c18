/**
 * NewReno's window arithmetic: RFC 5681 §3.1 slow start and congestion avoidance with
 * RFC 3465 appropriate byte counting. (The NewReno part proper, RFC 6582's partial
 * ACKs, is in loss_recovery.ts because CUBIC uses it too.)
 */
import { type CongestionControl, slowStart } from "./congestion.ts";

export class NewReno implements CongestionControl {
  readonly name = "newreno" as const;
  cwnd: number;
  // RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
  ssthresh = 0x7fffffff;
  private bytesAcked = 0;

  constructor(initialWindow: number) {
    this.cwnd = initialWindow;
  }

  onAck(ackedBytes: number, smss: number): void {
    if (this.cwnd < this.ssthresh) {
      slowStart(this, ackedBytes, smss);
      return;
    }
    // RFC 3465 §2.1: congestion avoidance grows cwnd by one SMSS per cwnd bytes acked.
    this.bytesAcked += ackedBytes;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += smss;
    }
  }

  onLoss(flightBytes: number, smss: number): void {
    // RFC 5681 §3.2 (4): ssthresh = max(FlightSize / 2, 2·SMSS).
    this.ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * smss);
    this.bytesAcked = 0;
  }

  onTimeout(flightBytes: number, smss: number): void {
    this.onLoss(flightBytes, smss);
    this.cwnd = smss; // RFC 5681 §3.1: LW = 1 full-sized segment
  }
}
