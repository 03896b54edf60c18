import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createCongestionController } from "../../../../stack/tcp/congestion/controller.ts";
import {
  ALPHA_CUBIC,
  BETA_CUBIC,
  CUBIC_C,
  Cubic,
  cubicK,
  wCubic,
} from "../../../../stack/tcp/congestion/cubic.ts";
import { type Path, path, roundTrip } from "./drive.ts";

const MSS = 1000;

function cubic(options: { fastConvergence?: boolean } = {}): Cubic {
  const cc = createCongestionController("cubic", { mss: MSS, now: 0, sack: true, ...options });
  if (!(cc instanceof Cubic)) throw new Error("expected a Cubic controller");
  return cc;
}

/**
 * Slow start to 80 segments, then a SACK loss with the whole window in flight, then the
 * full ACK that ends recovery: W_max = 80, cwnd = ssthresh = 56 segments.
 */
function afterLoss(rttMs: number): { cc: Cubic; p: Path } {
  const cc = cubic();
  const p = path(cc, { rttMs });
  for (let i = 0; i < 3; i++) roundTrip(p);
  expect(cc.cwnd).toBe(80 * MSS);
  lose(cc, p, cc.cwnd);
  return { cc, p };
}

/** A loss detected by SACK with `flight` outstanding, then the full ACK ending recovery. */
function lose(cc: Cubic, p: Path, flight: number): void {
  const sndNxt = p.sndUna + flight;
  expect(
    cc.onLossDetected({ now: p.now, sndUna: p.sndUna, sndMax: sndNxt, bytesInFlight: flight }),
  ).toBe(true);
  p.now += p.rttMs;
  const ssthresh = cc.ssthresh;
  const action = cc.onAck({
    now: p.now,
    bytesAcked: flight,
    sndUna: sndNxt,
    sndMax: sndNxt + ssthresh,
    bytesInFlight: ssthresh,
  });
  expect(action).toBe("recovery-end");
  p.sndUna = sndNxt;
}

const segments = (cc: Cubic) => cc.cwnd / MSS;

describe("the cubic function (RFC 9438 §4.2)", () => {
  test("K and W_cubic(t) at sample points", () => {
    // RFC 9293 MAY-18: an alternative congestion control (CUBIC).
    // W_max = 100, cwnd_epoch = 70: K = ∛(30 / 0.4) = ∛75.
    const k = cubicK(100, 70);
    expect(k).toBeCloseTo(4.2172, 4);
    expect(wCubic(0, k, 100)).toBeCloseTo(70, 9);
    expect(wCubic(k, k, 100)).toBeCloseTo(100, 9);
    expect(wCubic(k + 1, k, 100)).toBeCloseTo(100.4, 9);
    expect(wCubic(k - 2, k, 100)).toBeCloseTo(96.8, 9);
    expect(wCubic(k + 5, k, 100)).toBeCloseTo(150, 9);
    expect(ALPHA_CUBIC).toBeCloseTo(0.5294, 4);
  });

  test("W_cubic(0) = cwnd_epoch and W_cubic(K) = W_max for any values", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 2, max: 10_000, noNaN: true }),
        fc.double({ min: 1, max: 10_000, noNaN: true }),
        (wMax, cwndEpoch) => {
          const k = cubicK(wMax, cwndEpoch);
          expect(wCubic(0, k, wMax)).toBeCloseTo(cwndEpoch, 6);
          expect(wCubic(k, k, wMax)).toBeCloseTo(wMax, 9);
          expect(Math.sign(k)).toBe(Math.sign(wMax - cwndEpoch));
        },
      ),
    );
  });
});

describe("multiplicative decrease (RFC 9438 §4.6, §4.7)", () => {
  test("after a loss cwnd = ssthresh = 0.7·W_max, and the epoch's K follows", () => {
    const { cc, p } = afterLoss(100);
    expect(cc.ssthresh).toBe(56 * MSS);
    expect(cc.cwnd).toBe(56 * MSS);
    expect(cc.variables.wMax).toBe(80);
    roundTrip(p);
    expect(cc.variables.k).toBeCloseTo(Math.cbrt((80 - 56) / CUBIC_C), 9);
    expect(cc.variables.cwndEpoch).toBe(56);
  });

  test("ssthresh = max(FlightSize·β, 2·SMSS) for any FlightSize", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (flight) => {
        const cc = cubic();
        cc.onLossDetected({ now: 0, sndUna: 0, sndMax: flight, bytesInFlight: flight });
        expect(cc.ssthresh).toBe(Math.max(Math.floor(flight * BETA_CUBIC), 2 * MSS));
        expect(cc.cwnd).toBe(cc.ssthresh);
      }),
    );
  });

  test("fast convergence: a loss below W_max lowers W_max to cwnd·(1 + β)/2", () => {
    for (const fastConvergence of [true, false]) {
      const cc = cubic({ fastConvergence });
      const p = path(cc);
      for (let i = 0; i < 3; i++) roundTrip(p);
      lose(cc, p, cc.cwnd);
      roundTrip(p);
      const cwnd = segments(cc);
      expect(cwnd).toBeLessThan(80);
      lose(cc, p, cc.cwnd);
      // `cwnd` is read in whole bytes; W_max uses the exact window.
      expect(cc.variables.wMax).toBeCloseTo(fastConvergence ? (cwnd * 1.7) / 2 : cwnd, 2);
    }
  });
});

describe("window growth after a loss (RFC 9438 §4.2–§4.5)", () => {
  test("cwnd stays between W_cubic(t) and W_cubic(t + RTT) and is back at W_max around t = K", () => {
    const { cc, p } = afterLoss(100);
    roundTrip(p);
    const epoch = cc.variables.tEpoch!;
    const k = cc.variables.k;
    while (p.now - epoch < (k + 1.5) * 1000) {
      roundTrip(p);
      const t = (p.now - epoch) / 1000;
      // Each ACK moves cwnd toward target = W_cubic(t + RTT) (or W_est, if larger).
      const upper = Math.max(wCubic(t + 0.1, k, 80), cc.variables.wEst);
      expect(segments(cc)).toBeGreaterThan(wCubic(t, k, 80) - 0.5);
      expect(segments(cc)).toBeLessThan(upper + 0.5);
      if (Math.abs(t - k) < 0.15) expect(Math.abs(segments(cc) - 80)).toBeLessThan(80 * 0.03);
    }
  });

  test("concave below W_max (growth slows), convex above (growth speeds up)", () => {
    const { cc, p } = afterLoss(100);
    roundTrip(p);
    const epoch = cc.variables.tEpoch!;
    const k = cc.variables.k;
    const growthAt = (seconds: number): number => {
      while (p.now - epoch < seconds * 1000) roundTrip(p);
      const before = segments(cc);
      roundTrip(p);
      return segments(cc) - before;
    };
    const early = growthAt(k - 3);
    const nearPlateau = growthAt(k - 0.5);
    const pastPlateau = growthAt(k + 0.5);
    const probing = growthAt(k + 3);
    expect(early).toBeGreaterThan(nearPlateau);
    expect(probing).toBeGreaterThan(pastPlateau);
    expect(segments(cc)).toBeGreaterThan(80);
  });

  test("Reno-friendly region: on a short RTT cwnd tracks W_est (α_cubic, then 1 per RTT)", () => {
    const cc = cubic();
    const p = path(cc, { rttMs: 10 });
    roundTrip(p); // 20 segments
    lose(cc, p, cc.cwnd); // W_max = 20, cwnd = 14
    let reno = 14;
    for (let i = 0; i < 60; i++) {
      roundTrip(p);
      reno += reno >= 20 ? 1 : ALPHA_CUBIC;
      const t = (p.now - cc.variables.tEpoch!) / 1000;
      expect(segments(cc)).toBeGreaterThan(wCubic(t, cc.variables.k, 20));
    }
    // The per-ACK form lags the per-RTT model slightly; within 5 %.
    expect(Math.abs(segments(cc) - reno) / reno).toBeLessThan(0.05);
    expect(segments(cc)).toBeCloseTo(cc.variables.wEst, 0);
  });
});

describe("timeouts, slow start, undo (RFC 9438 §4.8–§4.10)", () => {
  test("RTO: cwnd = 1 SMSS, ssthresh = 0.7·FlightSize; next epoch K = 0, W_max = cwnd_epoch", () => {
    const cc = cubic();
    const p = path(cc);
    for (let i = 0; i < 3; i++) roundTrip(p);
    cc.onRetransmitTimeout({
      now: p.now,
      sndUna: p.sndUna,
      sndMax: p.sndUna + 80_000,
      bytesInFlight: 80_000,
    });
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(56_000);
    const windows: number[] = [];
    for (let i = 0; i < 7; i++) {
      roundTrip(p);
      windows.push(segments(cc));
    }
    expect(windows.slice(0, 5)).toEqual([2, 4, 8, 16, 32]);
    expect(cc.variables.k).toBe(0);
    expect(cc.variables.wMax).toBe(cc.variables.cwndEpoch);
    expect(cc.variables.cwndEpoch).toBeGreaterThanOrEqual(56);
    expect(cc.variables.cwndEpoch).toBeLessThan(57);
  });

  test("slow start doubles cwnd each round trip, as Reno's (a flat RTT: HyStart++ stays in slow start)", () => {
    const cc = cubic();
    const p = path(cc);
    for (const expected of [20, 40, 80, 160]) {
      roundTrip(p);
      expect(segments(cc)).toBe(expected);
    }
  });

  test("a spurious fast retransmit is undone (§4.9.2)", () => {
    const cc = cubic();
    const p = path(cc);
    for (let i = 0; i < 3; i++) roundTrip(p);
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh, variables: cc.variables };
    cc.onLossDetected({
      now: p.now,
      sndUna: p.sndUna,
      sndMax: p.sndUna + 80_000,
      bytesInFlight: 80_000,
    });
    expect(cc.cwnd).toBe(56_000);
    cc.onSpuriousRetransmit(p.now + 50);
    expect({ cwnd: cc.cwnd, ssthresh: cc.ssthresh, variables: cc.variables }).toEqual(before);
    expect(cc.inRecovery).toBe(false);
  });

  test("application-limited time is cut out of t (§4.2, §5.8)", () => {
    const { cc, p } = afterLoss(100);
    roundTrip(p);
    const epoch = cc.variables.tEpoch!;
    const cwnd = cc.cwnd;
    for (let i = 1; i <= 50; i++) {
      p.now += 100;
      p.sndUna += 100;
      cc.onAck({
        now: p.now,
        bytesAcked: 100,
        sndUna: p.sndUna,
        sndMax: p.sndUna,
        bytesInFlight: 0,
        appLimited: true,
      });
    }
    expect(cc.cwnd).toBe(cwnd);
    expect(cc.variables.tEpoch).toBeCloseTo(epoch + 5000, 6);
  });
});
