import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { SackBlock } from "../../../../stack/tcp/sack/block.ts";
import {
  chooseSackBlocks,
  maxSackBlocks,
  SackBlockReporter,
} from "../../../../stack/tcp/sack/receiver_blocks.ts";
import { seqAdd, seqLe, seqLt } from "../../../../stack/tcp/seq.ts";

const block = (left: number, right: number): SackBlock => ({ left, right });

describe("RFC 2018 §7, case 3: the 2nd, 4th, 6th and 8th of eight 500-byte segments dropped", () => {
  test("each ACK reports the newest block first, then the most recently reported ones", () => {
    const reporter = new SackBlockReporter();
    const max = maxSackBlocks(true);
    // Out-of-order ranges held by the receiver (RCV.NXT = 5500) after each arrival.
    reporter.noteArrival(6000);
    expect(reporter.blocks([block(6000, 6500)], max)).toEqual([block(6000, 6500)]);
    reporter.noteArrival(7000);
    expect(reporter.blocks([block(6000, 6500), block(7000, 7500)], max)).toEqual([
      block(7000, 7500),
      block(6000, 6500),
    ]);
    reporter.noteArrival(8000);
    const held = [block(6000, 6500), block(7000, 7500), block(8000, 8500)];
    expect(reporter.blocks(held, max)).toEqual([
      block(8000, 8500),
      block(7000, 7500),
      block(6000, 6500),
    ]);
    // "Suppose at this point, the 4th packet is received out of order."
    reporter.noteArrival(6500);
    expect(reporter.blocks([block(6000, 7500), block(8000, 8500)], max)).toEqual([
      block(6000, 7500),
      block(8000, 8500),
    ]);
    // "Suppose at this point, the 2nd segment is received": ACK 7500, it advanced the
    // ACK so it has no block; the one remaining block is reported.
    expect(reporter.blocks([block(8000, 8500)], max)).toEqual([block(8000, 8500)]);
    // The hole fills: no SACK option at all.
    expect(reporter.blocks([], max)).toEqual([]);
  });

  test("4 blocks fit without timestamps, 3 with (RFC 2018 §3)", () => {
    expect(maxSackBlocks(false)).toBe(4);
    expect(maxSackBlocks(true)).toBe(3);
    const ranges = [block(10, 20), block(30, 40), block(50, 60), block(70, 80), block(90, 100)];
    expect(chooseSackBlocks(ranges, [90], 4)).toEqual([
      block(90, 100),
      block(10, 20),
      block(30, 40),
      block(50, 60),
    ]);
  });
});

/** Disjoint, non-adjacent out-of-order ranges above a random RCV.NXT (maybe across the wrap). */
const receiverQueue = fc
  .record({
    rcvNxt: fc.integer({ min: 0, max: 0xffff_ffff }),
    pieces: fc.array(
      fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 })),
      {
        maxLength: 10,
      },
    ),
    recent: fc.array(fc.nat(70_000), { maxLength: 8 }),
    maxBlocks: fc.integer({ min: 1, max: 4 }),
  })
  .map((q) => {
    const ranges: SackBlock[] = [];
    let at = q.rcvNxt;
    for (const [gap, size] of q.pieces) {
      const left = seqAdd(at, gap);
      ranges.push({ left, right: seqAdd(left, size) });
      at = seqAdd(left, size);
    }
    return { ...q, ranges, recent: q.recent.map((r) => seqAdd(q.rcvNxt, r)) };
  });

const holds = (b: SackBlock, seq: number) => seqLe(b.left, seq) && seqLt(seq, b.right);

describe("properties", () => {
  test("at most maxBlocks distinct held ranges, as many as fit, newest arrival's range first", () => {
    fc.assert(
      fc.property(receiverQueue, ({ ranges, recent, maxBlocks }) => {
        const chosen = chooseSackBlocks(ranges, recent, maxBlocks);
        expect(chosen.length).toBe(Math.min(maxBlocks, ranges.length));
        for (const b of chosen) expect(ranges).toContainEqual(b);
        for (const [i, a] of chosen.entries()) {
          for (const b of chosen.slice(i + 1)) {
            expect(seqLe(a.right, b.left) || seqLe(b.right, a.left)).toBe(true); // no overlap
          }
        }
        const latest = recent[0];
        const holding = latest === undefined ? undefined : ranges.find((r) => holds(r, latest));
        if (holding !== undefined) expect(chosen[0]).toEqual(holding);
      }),
    );
  });

  test("the reporter: the range holding the latest arrival is always the first block", () => {
    fc.assert(
      fc.property(receiverQueue, ({ ranges, recent, maxBlocks }) => {
        const reporter = new SackBlockReporter();
        for (const seq of [...recent].reverse()) reporter.noteArrival(seq);
        const chosen = reporter.blocks(ranges, maxBlocks);
        const latest = recent[0];
        const holding = latest === undefined ? undefined : ranges.find((r) => holds(r, latest));
        if (holding !== undefined) expect(chosen[0]).toEqual(holding);
        expect(chosen.length).toBeLessThanOrEqual(maxBlocks);
      }),
    );
  });
});
