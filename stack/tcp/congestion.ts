/**
 * Congestion control behind one small interface (RFC 5681 §3).
 *
 * A controller owns cwnd and ssthresh and decides how they grow on ACKs and shrink on
 * loss. What counts as loss, and the fast retransmit / fast recovery dance around it
 * (RFC 5681 §3.2, RFC 6582, RFC 6675), lives in loss_recovery.ts and is shared.
 *
 * Two controllers: NewReno (newreno.ts, RFC 5681 + RFC 3465) and CUBIC (cubic.ts,
 * RFC 9438, the default as on Linux). Chosen per connection like TCP_CONGESTION.
 */
import { Cubic } from "./cubic.ts";
import { NewReno } from "./newreno.ts";

export type CongestionName = "cubic" | "newreno";

export interface CongestionControl {
  readonly name: CongestionName;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes. */
  ssthresh: number;
  /** New data was acknowledged outside loss recovery (slow start / avoidance). */
  onAck(ackedBytes: number, smss: number, now: number, srttMs: number): void;
  /** Loss detected by duplicate ACKs or SACK: set ssthresh (recovery sets cwnd). */
  onLoss(flightBytes: number, smss: number, now: number): void;
  /** Retransmission timeout: RFC 5681 §3.1 "loss window" of one segment. */
  onTimeout(flightBytes: number, smss: number, now: number): void;
}

/** RFC 5681 §3.1 slow start with RFC 3465 byte counting (L = 2·SMSS). */
export function slowStart(cc: CongestionControl, ackedBytes: number, smss: number): void {
  cc.cwnd += Math.min(ackedBytes, 2 * smss);
}

/** RFC 6928: IW = min(10·MSS, max(2·MSS, 14600)). */
export function initialWindow(smss: number, segments: number): number {
  return Math.min(segments * smss, Math.max(2 * smss, 14600 * (segments / 10)));
}

export function createCongestionControl(
  name: CongestionName,
  smss: number,
  segments: number,
): CongestionControl {
  const iw = initialWindow(smss, segments);
  return name === "newreno" ? new NewReno(iw) : new Cubic(iw);
}
