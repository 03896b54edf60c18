/**
 * HyStart++ (RFC 9406 §4.2) rule by rule, on an ACK clock in rounds (ack_clock.ts):
 * first the state machine alone, then inside both controllers (loss, timeout, undo,
 * switched off). Base RTT 100 ms, so RttThresh = 100/8 = 12.5 ms; 1000-byte segments,
 * initial window 10: rounds of 10, 20, 40, 80 ... ACKs while slow start lasts.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type CongestionController,
  type CongestionName,
  createCongestionController,
} from "../../../../stack/tcp/congestion/controller.ts";
import {
  CSS_GROWTH_DIVISOR,
  CSS_ROUNDS,
  HyStart,
  type HyStartStep,
  L_NON_PACED,
  MAX_RTT_THRESH_MS,
  MIN_RTT_THRESH_MS,
  N_RTT_SAMPLE,
  rttThresh,
} from "../../../../stack/tcp/congestion/hystart.ts";
import { INITIAL_SSTHRESH } from "../../../../stack/tcp/congestion/window.ts";
import { seqDiff } from "../../../../stack/tcp/seq.ts";
import { AckClock } from "./ack_clock.ts";

const MSS = 1000;
const BASE = 100;

/** HyStart++ alone, growing a window the way loss_recovery_controller.ts does. */
class Bare {
  readonly hystart = new HyStart();
  cwnd = 10 * MSS;
  readonly steps: HyStartStep[] = [];

  onAck(ack: Parameters<HyStart["onAck"]>[0]): void {
    const step = this.hystart.onAck(ack, MSS);
    this.cwnd += step.increase;
    this.steps.push(step);
  }
}

function bare(): { b: Bare; clock: AckClock } {
  const b = new Bare();
  return { b, clock: new AckClock(b, MSS) };
}

function controller(name: CongestionName, hystart = true): CongestionController {
  return createCongestionController(name, { mss: MSS, now: 0, sack: true, hystart });
}

/** Two rounds at BASE, then one at `rtt` (the one that may rise); returns the ACK count. */
function riseInRoundThree(clock: AckClock, rtt: number): number {
  return clock.rounds(2, BASE) + clock.round(rtt);
}

/** Rounds at `rtt` until ssthresh leaves its initial value; returns how many it took. */
function roundsUntilExit(clock: AckClock, cc: CongestionController, rtt: number): number {
  for (let round = 1; round <= 20; round++) {
    clock.round(rtt);
    if (cc.ssthresh !== INITIAL_SSTHRESH) return round;
  }
  return Number.POSITIVE_INFINITY;
}

const increases = (steps: readonly HyStartStep[]) => steps.map((s) => s.increase);

describe("RttThresh (RFC 9406 §4.2, §4.3)", () => {
  test("1/8 of the last round's minimum RTT, clamped to [4 ms, 16 ms]", () => {
    expect(rttThresh(20)).toBe(MIN_RTT_THRESH_MS);
    expect(rttThresh(80)).toBe(10);
    expect(rttThresh(100)).toBe(12.5);
    expect(rttThresh(300)).toBe(MAX_RTT_THRESH_MS);
  });
});

describe("slow start → CSS on a delay increase (RFC 9406 §4.2)", () => {
  test("a flat RTT: slow start throughout, every ACK growing cwnd by its SMSS", () => {
    const { b, clock } = bare();
    const acks = clock.rounds(6, BASE);
    expect(b.hystart.phase).toBe("slow-start");
    expect(new Set(increases(b.steps))).toEqual(new Set([MSS]));
    expect(b.cwnd).toBe(10 * MSS + acks * MSS);
  });

  test("the round's minimum rising by RttThresh enters CSS at its N_RTT_SAMPLE-th sample", () => {
    const { b, clock } = bare();
    const before = clock.rounds(2, BASE);
    clock.round(BASE + 12.5);
    expect(b.hystart.phase).toBe("css");
    expect(b.hystart.variables.cssBaselineMinRtt).toBe(BASE + 12.5);
    // Round three's first 7 ACKs grow cwnd by 1 SMSS each (slow start), from the 8th
    // on by SMSS / CSS_GROWTH_DIVISOR.
    const third = increases(b.steps.slice(before));
    expect(third.slice(0, N_RTT_SAMPLE - 1)).toEqual(Array(N_RTT_SAMPLE - 1).fill(MSS));
    expect(new Set(third.slice(N_RTT_SAMPLE - 1))).toEqual(new Set([MSS / CSS_GROWTH_DIVISOR]));
  });

  test("a rise just under RttThresh does not", () => {
    const { b, clock } = bare();
    const acks = riseInRoundThree(clock, BASE + 12);
    expect(b.hystart.phase).toBe("slow-start");
    expect(b.cwnd).toBe(10 * MSS + acks * MSS);
  });

  test("for any base RTT and rise: CSS exactly when rise ≥ RttThresh(base)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 40 }),
        (base, rise) => {
          const { b, clock } = bare();
          clock.rounds(2, base);
          clock.round(base + rise);
          expect(b.hystart.phase).toBe(rise >= rttThresh(base) ? "css" : "slow-start");
        },
      ),
    );
  });

  test("fewer than N_RTT_SAMPLE samples in a round: no decision, however large the rise", () => {
    const { b, clock } = bare();
    clock.rounds(2, BASE);
    clock.round((i) => (i < N_RTT_SAMPLE - 1 ? 4 * BASE : undefined));
    expect(b.hystart.phase).toBe("slow-start");
    expect(b.hystart.variables.lastRoundMinRtt).toBe(4 * BASE);
  });

  test("the first round has no last round to compare with", () => {
    const { b, clock } = bare();
    clock.round(BASE);
    expect(b.hystart.variables.lastRoundMinRtt).toBe(BASE);
    expect(b.hystart.phase).toBe("slow-start");
  });

  test("slow start grows by min(N, L·SMSS) per ACK, L = 8 when not paced (§4.3)", () => {
    const h = new HyStart();
    const ack = { now: 0, sndUna: 20 * MSS, sndMax: 40 * MSS, bytesInFlight: 20 * MSS };
    expect(h.onAck({ ...ack, bytesAcked: 20 * MSS }, MSS).increase).toBe(L_NON_PACED * MSS);
    expect(h.onAck({ ...ack, bytesAcked: 3 * MSS }, MSS).increase).toBe(3 * MSS);
  });
});

describe("CSS (RFC 9406 §4.2)", () => {
  test("the RTT falling below cssBaselineMinRtt: the exit was spurious, back to slow start", () => {
    const { b, clock } = bare();
    riseInRoundThree(clock, BASE + 13);
    const before = b.steps.length;
    clock.round(BASE + 5);
    expect(b.hystart.phase).toBe("slow-start");
    expect(b.hystart.variables.cssBaselineMinRtt).toBe(Number.POSITIVE_INFINITY);
    expect(b.hystart.variables.cssRounds).toBe(0);
    // Decided at the round's N_RTT_SAMPLE-th sample; full growth from there on.
    const fourth = increases(b.steps.slice(before));
    expect(fourth[N_RTT_SAMPLE - 2]).toBe(MSS / CSS_GROWTH_DIVISOR);
    expect(fourth[N_RTT_SAMPLE - 1]).toBe(MSS);
  });

  test("an RTT at or above the baseline keeps CSS", () => {
    const { b, clock } = bare();
    riseInRoundThree(clock, BASE + 13);
    clock.round(BASE + 13);
    clock.round(BASE + 30);
    expect(b.hystart.phase).toBe("css");
    expect(b.hystart.variables.cssRounds).toBe(3);
  });

  test("after a spurious exit HyStart++ still works: a new rise enters CSS again", () => {
    const { b, clock } = bare();
    riseInRoundThree(clock, BASE + 13);
    clock.round(BASE);
    expect(b.hystart.phase).toBe("slow-start");
    clock.round(BASE + 13);
    expect(b.hystart.phase).toBe("css");
  });

  test("CSS_ROUNDS rounds, the one CSS began in included, end it: exit at that round's last ACK", () => {
    const { b, clock } = bare();
    riseInRoundThree(clock, BASE + 13);
    for (let round = 1; round < CSS_ROUNDS; round++) {
      expect(b.hystart.phase).toBe("css");
      clock.round(BASE + 13);
    }
    expect(b.hystart.phase).toBe("avoidance");
    const exits = b.steps.flatMap((s, i) => (s.exit ? [i] : []));
    expect(exits).toEqual([b.steps.length - 1]);
  });

  test("in CSS cwnd grows by a quarter per round", () => {
    const { b, clock } = bare();
    riseInRoundThree(clock, BASE + 13);
    const start = b.cwnd;
    const acks = clock.round(BASE + 13);
    expect(b.cwnd).toBe(start + (acks * MSS) / CSS_GROWTH_DIVISOR);
    expect(acks).toBeGreaterThan(N_RTT_SAMPLE);
  });
});

describe("HyStart++ inside the controllers", () => {
  for (const name of ["cubic", "newreno"] as const) {
    test(`${name}: CSS_ROUNDS of CSS → congestion avoidance with ssthresh = cwnd, no loss`, () => {
      const cc = controller(name);
      const clock = new AckClock(cc, MSS);
      riseInRoundThree(clock, BASE + 13);
      expect(roundsUntilExit(clock, cc, BASE + 13)).toBe(CSS_ROUNDS - 1);
      expect(cc.ssthresh).toBe(cc.cwnd);
      // Congestion avoidance from here: far less than CSS's quarter per round, and a
      // falling RTT no longer matters (HyStart++ is over).
      const exitCwnd = cc.cwnd;
      clock.round(BASE);
      expect(cc.cwnd - exitCwnd).toBeLessThan(exitCwnd / 8);
      expect(cc.ssthresh).toBe(exitCwnd);
    });

    test(`${name}: with HyStart++ off, the same RTT rise leaves slow start alone`, () => {
      const cc = controller(name, false);
      const clock = new AckClock(cc, MSS);
      const acks = riseInRoundThree(clock, BASE + 13) + clock.rounds(4, BASE + 13);
      expect(cc.ssthresh).toBe(INITIAL_SSTHRESH);
      expect(cc.cwnd).toBe(10 * MSS + acks * MSS);
    });

    test(`${name}: a loss in CSS sets ssthresh the controller's way and ends HyStart++`, () => {
      const cc = controller(name);
      const clock = new AckClock(cc, MSS);
      riseInRoundThree(clock, BASE + 13);
      const flight = seqDiff(clock.sndNxt, clock.sndUna);
      const loss = { now: clock.now, sndUna: clock.sndUna, sndMax: clock.sndNxt };
      expect(cc.onLossDetected({ ...loss, bytesInFlight: flight })).toBe(true);
      const beta = name === "cubic" ? 0.7 : 0.5;
      expect(cc.ssthresh).toBe(Math.floor(flight * beta));
      const ssthresh = cc.ssthresh;
      clock.rounds(2, BASE + 13); // the rest of the window: recovery, then its end
      expect(cc.inRecovery).toBe(false);
      // A falling RTT would have meant "spurious, resume slow start" in CSS; now it
      // changes nothing: no return to slow start, ssthresh stays.
      clock.rounds(3, BASE);
      expect(cc.ssthresh).toBe(ssthresh);
      expect(cc.cwnd).toBeLessThan(2 * ssthresh);
    });

    test(`${name}: after a timeout, standard slow start up to ssthresh, RTT rises ignored`, () => {
      // The same timeline with HyStart++ on and off: three flat rounds, a timeout,
      // go-back-N from SND.UNA, then every round's RTT 20 ms above the last.
      const [on, off] = [controller(name), controller(name, false)];
      const timeline = (cc: CongestionController) => {
        const first = new AckClock(cc, MSS);
        first.rounds(3, BASE);
        const flight = seqDiff(first.sndNxt, first.sndUna);
        const loss = { now: first.now, sndUna: first.sndUna, sndMax: first.sndNxt };
        cc.onRetransmitTimeout({ ...loss, bytesInFlight: flight });
        return new AckClock(cc, MSS, { iss: first.sndUna });
      };
      const [clockOn, clockOff] = [timeline(on), timeline(off)];
      const ssthresh = on.ssthresh;
      expect(ssthresh).toBe(off.ssthresh);
      expect(on.cwnd).toBe(MSS);
      for (let round = 0; round < 12; round++) {
        clockOn.round(BASE + 20 * round);
        clockOff.round(BASE + 20 * round);
        expect(on.cwnd).toBe(off.cwnd);
      }
      expect(on.cwnd).toBeGreaterThan(ssthresh);
      expect(on.ssthresh).toBe(ssthresh);
    });

    test(`${name}: undoing a spurious loss restores the initial ssthresh, and HyStart++ with it`, () => {
      const cc = controller(name);
      const clock = new AckClock(cc, MSS);
      clock.rounds(2, BASE);
      const flight = seqDiff(clock.sndNxt, clock.sndUna);
      cc.onLossDetected({
        now: clock.now,
        sndUna: clock.sndUna,
        sndMax: clock.sndNxt,
        bytesInFlight: flight,
      });
      cc.onSpuriousRetransmit(clock.now);
      expect(cc.ssthresh).toBe(INITIAL_SSTHRESH);
      expect(roundsUntilExit(clock, cc, BASE + 13)).toBe(CSS_ROUNDS);
      expect(cc.ssthresh).toBe(cc.cwnd);
    });
  }

  test("any per-round RTTs, ACKs of 1 or 2 segments: never faster than plain slow start", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("cubic" as const, "newreno" as const),
        fc.constantFrom(1, 2),
        fc.array(fc.integer({ min: 10, max: 200 }), { minLength: 1, maxLength: 9 }),
        (name, segmentsPerAck, rtts) => {
          const on = controller(name);
          const off = controller(name, false);
          const clockOn = new AckClock(on, MSS, { segmentsPerAck });
          const clockOff = new AckClock(off, MSS, { segmentsPerAck });
          for (const rtt of rtts) {
            const before = on.cwnd;
            clockOn.round(rtt);
            clockOff.round(rtt);
            expect(on.cwnd).toBeLessThanOrEqual(off.cwnd);
            expect(on.cwnd).toBeGreaterThanOrEqual(before);
            // ssthresh: initial, or the cwnd at the exit (which avoidance then passes).
            if (on.ssthresh !== INITIAL_SSTHRESH) expect(on.ssthresh).toBeLessThanOrEqual(on.cwnd);
          }
          // A flat RTT is plain slow start.
          if (new Set(rtts).size === 1) expect(on.cwnd).toBe(off.cwnd);
        },
      ),
      { numRuns: 200 },
    );
  });
});
