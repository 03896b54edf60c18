import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { simulate } from "./sim.ts";

const SEGMENTS = 300;

/** Drops of first transmissions only, at least 4 segments apart, none among the last 4. */
const sparseDrops = fc
  .uniqueArray(fc.integer({ min: 0, max: SEGMENTS - 5 }), { maxLength: 20 })
  .map((xs) => xs.sort((a, b) => a - b).filter((x, i, all) => i === 0 || x - all[i - 1]! >= 4));

/** A 32-bit mix (murmur3's finalizer) of the seed, segment and transmission. */
function hash(seed: number, index: number, transmission: number): number {
  let h = Math.imul(seed ^ (index * 0x10001) ^ (transmission << 24), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe("loss recovery end to end, wired as controller.ts says", () => {
  for (const congestion of ["newreno", "cubic"] as const) {
    test(`${congestion}, no loss: done in about log2 + a few round trips, no retransmission`, () => {
      const r = simulate({ congestion, sack: true, segments: SEGMENTS, drop: () => false });
      expect(r.completed).toBe(true);
      expect(r.retransmissions).toBe(0);
      expect(r.finishedAtMs).toBeLessThanOrEqual(6 * 100);
    });

    test(`${congestion} + SACK: scattered losses are repaired without a timeout, each resent once`, () => {
      fc.assert(
        fc.property(sparseDrops, (drops) => {
          const dropped = new Set(drops);
          const r = simulate({
            congestion,
            sack: true,
            segments: SEGMENTS,
            drop: (index, transmission) => transmission === 0 && dropped.has(index),
          });
          expect(r.completed).toBe(true);
          expect(r.timeouts).toBe(0);
          // RFC 6675 NextSeg rule (4) may add one rescue retransmission per recovery.
          expect(r.retransmissions - r.rescues).toBe(drops.length);
          expect(r.minCwnd).toBeGreaterThanOrEqual(2 * 1000);
        }),
        { numRuns: 60 },
      );
    }, 30_000);

    test(`${congestion} without SACK: NewReno partial ACKs repair several losses in one window`, () => {
      // Segments 40, 45 and 50 lost from one flight: one fast retransmit, then two partial ACKs.
      const dropped = new Set([40, 45, 50]);
      const r = simulate({
        congestion,
        sack: false,
        segments: SEGMENTS,
        drop: (index, transmission) => transmission === 0 && dropped.has(index),
      });
      expect(r.completed).toBe(true);
      expect(r.timeouts).toBe(0);
      expect(r.fastRetransmits).toBe(1);
      expect(r.retransmissions).toBe(3);
    });

    test(`${congestion}: any loss pattern, retransmissions included, still delivers everything`, () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.integer({ min: 0, max: 0x7fff_ffff }),
          fc.integer({ min: 1, max: 25 }),
          (sack, seed, percent) => {
            const r = simulate({
              congestion,
              sack,
              segments: 120,
              // Up to `percent` % of the first three transmissions of each segment lost.
              drop: (index, transmission) =>
                transmission < 3 && hash(seed, index, transmission) % 100 < percent,
            });
            expect(r.completed).toBe(true);
            expect(r.minCwnd).toBeGreaterThanOrEqual(1000);
          },
        ),
        { numRuns: 60 },
      );
    }, 30_000);
  }

  test("SACK repairs a burst of losses in one window faster than NewReno", () => {
    const dropped = new Set([60, 62, 64, 66, 68, 70]);
    const run = (sack: boolean) =>
      simulate({
        congestion: "newreno",
        sack,
        segments: SEGMENTS,
        drop: (index, transmission) => transmission === 0 && dropped.has(index),
      });
    const withSack = run(true);
    const without = run(false);
    expect(withSack.timeouts + without.timeouts).toBe(0);
    expect(withSack.finishedAtMs).toBeLessThan(without.finishedAtMs);
  });
});
