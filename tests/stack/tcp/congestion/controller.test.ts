import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createCongestionController } from "../../../../stack/tcp/congestion/controller.ts";
import { seqAdd, seqDiff, seqGe } from "../../../../stack/tcp/seq.ts";

const MSS = 1200;

/** One thing that can happen to a sender; sequence numbers are kept consistent below. */
const event = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), segments: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant("ack" as const),
    bytes: fc.integer({ min: 1, max: 40_000 }),
    appLimited: fc.boolean(),
    // This ACK's RTT sample, which HyStart++ (RFC 9406) uses; some ACKs have none.
    rtt: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant("dup" as const), lost: fc.boolean() }),
  fc.record({ kind: fc.constant("loss" as const) }),
  fc.record({ kind: fc.constant("rto" as const) }),
  fc.record({ kind: fc.constant("spurious" as const) }),
  fc.record({ kind: fc.constant("idle" as const) }),
);

describe("any sequence of events keeps the controller sane", () => {
  test("cwnd ≥ 1 SMSS, ssthresh ≥ 2 SMSS, sendWindow within cwnd + 2 SMSS, growth only on ACKs", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("newreno" as const, "cubic" as const),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.array(event, { minLength: 10, maxLength: 300, size: "max" }),
        (name, sack, hystart, iss, events) => {
          const cc = createCongestionController(name, { mss: MSS, now: 0, sack, hystart });
          let now = 0;
          let sndUna = iss;
          let sndMax = iss;
          for (const e of events) {
            now += 7;
            const flight = seqDiff(sndMax, sndUna);
            const loss = { now, sndUna, sndMax, bytesInFlight: flight };
            const before = { cwnd: cc.cwnd, inRecovery: cc.inRecovery, recover: cc.recover };
            if (e.kind === "send") sndMax = seqAdd(sndMax, e.segments * MSS);
            if (e.kind === "ack" && flight > 0) {
              const bytesAcked = Math.min(e.bytes, flight);
              sndUna = seqAdd(sndUna, bytesAcked);
              const action = cc.onAck({
                now,
                bytesAcked,
                sndUna,
                sndMax,
                bytesInFlight: seqDiff(sndMax, sndUna),
                rttMs: 50,
                ...(e.rtt !== undefined ? { latestRttMs: e.rtt } : {}),
                appLimited: e.appLimited,
              });
              if (!before.inRecovery) {
                expect(action).toBe("none");
                expect(cc.cwnd).toBeGreaterThanOrEqual(before.cwnd);
                if (e.appLimited) expect(cc.cwnd).toBe(before.cwnd);
              } else if (seqGe(sndUna, before.recover!)) {
                expect(action).toBe("recovery-end");
                expect(cc.inRecovery).toBe(false);
              }
            }
            if (e.kind === "dup" && flight > 0) {
              const action = cc.onDuplicateAck({ ...loss, lost: sack ? e.lost : undefined });
              if (action === "retransmit") expect(cc.inRecovery).toBe(true);
              if (before.inRecovery) expect(action).toBe("none");
            }
            if (e.kind === "loss" && flight > 0) cc.onLossDetected(loss);
            if (e.kind === "rto" && flight > 0) {
              cc.onRetransmitTimeout(loss);
              expect(cc.cwnd).toBe(MSS);
              expect(cc.inRecovery).toBe(false);
              expect(cc.recover).toBe(sndMax);
            }
            if (e.kind === "spurious") cc.onSpuriousRetransmit(now);
            if (e.kind === "idle") cc.onIdleRestart(now);
            expect(Number.isFinite(cc.cwnd)).toBe(true);
            expect(cc.cwnd).toBeGreaterThanOrEqual(MSS);
            expect(cc.ssthresh).toBeGreaterThanOrEqual(2 * MSS);
            expect(cc.sendWindow).toBeGreaterThanOrEqual(cc.cwnd);
            expect(cc.sendWindow).toBeLessThanOrEqual(cc.cwnd + 2 * MSS);
            if (cc.inRecovery) expect(cc.recover).toBeDefined();
          }
        },
      ),
    );
  });
});

describe("switching algorithm mid-connection (TCP_CONGESTION)", () => {
  test("the new controller continues from the old cwnd and ssthresh", () => {
    const old = createCongestionController("cubic", { mss: MSS, now: 0, sack: true });
    old.onLossDetected({ now: 0, sndUna: 0, sndMax: 100 * MSS, bytesInFlight: 100 * MSS });
    const next = createCongestionController("newreno", {
      mss: MSS,
      now: 5,
      from: { cwnd: old.cwnd, ssthresh: old.ssthresh },
    });
    expect(next.name).toBe("newreno");
    expect({ cwnd: next.cwnd, ssthresh: next.ssthresh }).toEqual({
      cwnd: 70 * MSS,
      ssthresh: 70 * MSS,
    });
    expect(next.inRecovery).toBe(false);
    next.setMss(1000); // no longer pristine: the window stays
    expect(next.cwnd).toBe(70 * MSS);
  });
});
