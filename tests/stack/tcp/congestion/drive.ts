/**
 * A tiny ACK clock for congestion-control tests: a sender that always has data, a path
 * with a fixed RTT and no loss. Each round trip the whole window is sent and every
 * segment is acknowledged (one ACK per `segmentsPerAck` segments), the ACKs spread
 * evenly over the round trip. Sequence numbers start at `iss` and wrap like real ones.
 * Every ACK carries the same RTT sample, so HyStart++ (RFC 9406) never sees a rise.
 */
import type { CongestionController } from "../../../../stack/tcp/congestion/controller.ts";
import { seqAdd } from "../../../../stack/tcp/seq.ts";

export interface Path {
  cc: CongestionController;
  now: number;
  sndUna: number;
  rttMs: number;
}

export function path(
  cc: CongestionController,
  options: { rttMs?: number; iss?: number } = {},
): Path {
  return { cc, now: 0, sndUna: options.iss ?? 0, rttMs: options.rttMs ?? 100 };
}

/** One round trip: send cwnd (whole segments), receive their ACKs. */
export function roundTrip(p: Path, segmentsPerAck = 1): void {
  const mss = p.cc.mss;
  const segments = Math.max(1, Math.floor(p.cc.cwnd / mss));
  const sndNxt = seqAdd(p.sndUna, segments * mss);
  const acks = Math.ceil(segments / segmentsPerAck);
  const start = p.now;
  for (let i = 1; i <= acks; i++) {
    const bytesAcked = Math.min(segmentsPerAck, segments - (i - 1) * segmentsPerAck) * mss;
    p.sndUna = seqAdd(p.sndUna, bytesAcked);
    p.now = start + (p.rttMs * i) / acks;
    p.cc.onAck({
      now: p.now,
      bytesAcked,
      sndUna: p.sndUna,
      sndMax: sndNxt,
      bytesInFlight: (sndNxt - p.sndUna) >>> 0,
      rttMs: p.rttMs,
      latestRttMs: p.rttMs,
    });
  }
  p.now = start + p.rttMs;
}

/** Round trips until `p.now` reaches `untilMs`. */
export function runUntil(p: Path, untilMs: number, segmentsPerAck = 1): void {
  while (p.now < untilMs) roundTrip(p, segmentsPerAck);
}
