import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { SackBlock } from "../../../../stack/tcp/sack/block.ts";
import { DUP_THRESH, Scoreboard } from "../../../../stack/tcp/sack/scoreboard.ts";
import { seqAdd, seqDiff } from "../../../../stack/tcp/seq.ts";

const MSS = 1000;

/** Segment n of a flight starting at sequence number `base`: [base + n·MSS, base + (n+1)·MSS). */
const segment = (n: number, base = 0): SackBlock => ({
  left: seqAdd(base, n * MSS),
  right: seqAdd(base, (n + 1) * MSS),
});
const segmentsBlock = (from: number, to: number, base = 0): SackBlock => ({
  left: seqAdd(base, from * MSS),
  right: seqAdd(base, to * MSS),
});

describe("RFC 6675 scenario: ten segments sent, the first lost", () => {
  // HighACK + 1 = SND.UNA = 0; SND.MAX = 10 000; segments 1, 2, 3 then arrive.
  const base = 0xffff_f000; // and it all happens across the 2^32 wrap
  const una = base;
  const max = seqAdd(base, 10 * MSS);

  test("IsLost turns true after DupThresh segments' worth is SACKed above", () => {
    const sb = new Scoreboard({ mss: MSS });
    sb.update([segment(1, base)], una, max);
    expect(sb.isLost(una)).toBe(false);
    expect(sb.pipe(una, max, una)).toBe(9000);
    sb.update([segmentsBlock(1, 3, base)], una, max);
    expect(sb.isLost(una)).toBe(false); // 2000 bytes: not more than (DupThresh − 1)·SMSS
    expect(sb.pipe(una, max, una)).toBe(8000);
    sb.update([segmentsBlock(1, 4, base)], una, max);
    expect(sb.isLost(una)).toBe(true);
    // The lost segment leaves the pipe: 10 000 − 3000 SACKed − 1000 lost.
    expect(sb.pipe(una, max, una)).toBe(6000);
  });

  test("NextSeg: rule 1 the lost segment, then new data (2), then rescue (4)", () => {
    const sb = new Scoreboard({ mss: MSS });
    sb.update([segmentsBlock(1, 4, base)], una, max);
    const input = { sndUna: una, sndMax: max, highRxt: una, rescueRxt: undefined, newDataBytes: 0 };
    expect(sb.nextSeg(input)).toEqual({ seq: una, length: MSS, rule: 1 });
    // (C.2) HighRxt moves past the retransmission; (b) counts it in the pipe again.
    const highRxt = seqAdd(una, MSS);
    expect(sb.pipe(una, max, highRxt)).toBe(7000);
    expect(sb.nextSeg({ ...input, highRxt, newDataBytes: 5000 })).toEqual({
      seq: max,
      length: MSS,
      rule: 2,
    });
    expect(sb.nextSeg({ ...input, highRxt, newDataBytes: 300 })).toEqual({
      seq: max,
      length: 300,
      rule: 2,
    });
    // No new data: the rescue retransmission carries the highest outstanding octet.
    expect(sb.nextSeg({ ...input, highRxt })).toEqual({
      seq: seqAdd(max, -MSS),
      length: MSS,
      rule: 4,
    });
    // (4.3) set RescueRxt to the end of the first retransmission: no rescue until HighACK passes it.
    expect(sb.nextSeg({ ...input, highRxt, rescueRxt: highRxt })).toBeUndefined();
  });

  test("three discontiguous SACKed segments make everything below them lost", () => {
    const sb = new Scoreboard({ mss: MSS });
    sb.update([segment(6, base), segment(4, base), segment(2, base)], una, max);
    expect(sb.ranges).toHaveLength(3);
    expect(sb.isLost(una)).toBe(true);
    expect(sb.isLost(seqAdd(una, 1500))).toBe(true); // three ranges above, 3000 bytes
    expect(sb.isLost(seqAdd(una, 3000))).toBe(false); // two ranges, 2000 bytes
    // Hole [0,2000) is lost; [3000,4000), [5000,6000) and [7000,10000) are in flight.
    expect(sb.pipe(una, max, una)).toBe(5000);
    const next = sb.nextSeg({
      sndUna: una,
      sndMax: max,
      highRxt: seqAdd(una, 1000),
      rescueRxt: undefined,
      newDataBytes: 0,
    });
    expect(next).toEqual({ seq: seqAdd(una, 1000), length: MSS, rule: 1 });
  });

  test("rule 3: an un-SACKed hole below the highest SACK that is not yet lost", () => {
    const sb = new Scoreboard({ mss: MSS });
    sb.update([segment(1, base)], una, max);
    const input = { sndUna: una, sndMax: max, highRxt: una, rescueRxt: una, newDataBytes: 0 };
    expect(sb.nextSeg(input)).toEqual({ seq: una, length: MSS, rule: 3 });
  });
});

describe("Update: validation, D-SACK, cumulative ACKs", () => {
  test("blocks outside (SND.UNA, SND.MAX] are ignored; a block straddling SND.UNA is trimmed", () => {
    const sb = new Scoreboard({ mss: MSS });
    const update = sb.update(
      [
        { left: 5000, right: 12_000 }, // beyond SND.MAX
        { left: 3000, right: 2000 }, // inverted
        { left: 500, right: 1500 },
      ],
      1000,
      10_000,
    );
    expect(update).toEqual({ newlySacked: 500, dsack: false, invalid: 2 });
    expect(sb.ranges).toEqual([{ left: 1000, right: 1500 }]);
    expect(sb.onCumulativeAck(1000)).toBe(true); // stopped inside SACKed data: reneged
    expect(sb.empty).toBe(true);
  });

  test("D-SACK (RFC 2883): first block below the ACK, or inside the second, is not recorded", () => {
    const sb = new Scoreboard({ mss: MSS });
    expect(sb.update([{ left: 0, right: 1000 }], 2000, 10_000)).toEqual({
      newlySacked: 0,
      dsack: true,
      invalid: 0,
    });
    const inside = sb.update(
      [
        { left: 4000, right: 5000 },
        { left: 3000, right: 6000 },
      ],
      2000,
      10_000,
    );
    expect(inside).toEqual({ newlySacked: 3000, dsack: true, invalid: 0 });
    expect(sb.ranges).toEqual([{ left: 3000, right: 6000 }]);
  });

  test("a cumulative ACK prunes what it covers; a repeated block is not new", () => {
    const sb = new Scoreboard({ mss: MSS });
    sb.update([segment(2), segment(5)], 0, 10_000);
    expect(sb.update([segment(5)], 0, 10_000).newlySacked).toBe(0);
    expect(sb.onCumulativeAck(4000)).toBe(false);
    expect(sb.ranges).toEqual([segment(5)]);
    expect(sb.onCumulativeAck(7000)).toBe(false);
    expect(sb.empty).toBe(true);
  });

  test("memory is bounded: past maxRanges the range nearest SND.UNA is forgotten", () => {
    const sb = new Scoreboard({ mss: 10, maxRanges: 4 });
    for (let i = 1; i <= 10; i++) sb.update([{ left: i * 20, right: i * 20 + 10 }], 0, 1000);
    expect(sb.ranges).toHaveLength(4);
    expect(sb.ranges[0]).toEqual({ left: 140, right: 150 });
    expect(sb.highSacked).toBe(210);
  });
});

// ---- Properties against a byte-by-byte model of RFC 6675 §4 ----

/** A small random flight: SND.UNA, SND.MAX and the SACK blocks of a few ACKs. */
const flight = fc
  .record({
    base: fc.integer({ min: 0, max: 0xffff_ffff }),
    length: fc.integer({ min: 1, max: 300 }),
    mss: fc.integer({ min: 5, max: 40 }),
    acks: fc.array(fc.array(fc.tuple(fc.nat(320), fc.nat(60)), { maxLength: 4 }), {
      maxLength: 12,
    }),
    highRxt: fc.nat(300),
  })
  .map((f) => ({
    ...f,
    sndUna: f.base,
    sndMax: seqAdd(f.base, f.length),
    blocks: f.acks.map((ack) =>
      ack.map(([start, size]) => ({
        left: seqAdd(f.base, start - 10),
        right: seqAdd(f.base, start - 10 + size),
      })),
    ),
  }));

/** The model: a boolean per octet of [SND.UNA, SND.MAX), per RFC 6675 §4's definitions. */
function model(f: { length: number; base: number; blocks: SackBlock[][] }): boolean[] {
  const sacked = new Array<boolean>(f.length).fill(false);
  for (const ack of f.blocks) {
    ack.forEach((b, index) => {
      const left = seqDiff(b.left, f.base);
      const right = seqDiff(b.right, f.base);
      if (left >= right || right > f.length || right <= 0) return;
      // The scoreboard's D-SACK rule: a first block inside the second is a duplicate report.
      const second = ack[1];
      if (index === 0 && second !== undefined) {
        const l2 = seqDiff(second.left, f.base);
        const r2 = seqDiff(second.right, f.base);
        if (l2 <= left && right <= r2) return;
      }
      for (let i = Math.max(0, left); i < right; i++) sacked[i] = true;
    });
  }
  return sacked;
}

/** IsLost by definition: DupThresh SACKed runs, or > (DupThresh−1)·SMSS SACKed octets, above s. */
function modelLost(sacked: boolean[], s: number, mss: number): boolean {
  let runs = 0;
  let bytes = 0;
  for (let i = s + 1; i < sacked.length; i++) {
    if (sacked[i]) bytes++;
    if (sacked[i] && !sacked[i - 1]) runs++;
  }
  return runs >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss;
}

function fill(f: {
  mss: number;
  sndUna: number;
  sndMax: number;
  blocks: SackBlock[][];
}): Scoreboard {
  const sb = new Scoreboard({ mss: f.mss });
  for (const ack of f.blocks) sb.update(ack, f.sndUna, f.sndMax);
  return sb;
}

describe("properties", () => {
  test("ranges are sorted, disjoint, merged, inside the window, and hold exactly the SACKed octets", () => {
    fc.assert(
      fc.property(flight, (f) => {
        const sb = fill(f);
        const sacked = model(f);
        const ranges = sb.ranges.map(
          (r) => [seqDiff(r.left, f.base), seqDiff(r.right, f.base)] as const,
        );
        for (const [i, [left, right]] of ranges.entries()) {
          expect(left).toBeGreaterThanOrEqual(0);
          expect(right).toBeLessThanOrEqual(f.length);
          expect(left).toBeLessThan(right);
          if (i > 0) expect(left).toBeGreaterThan(ranges[i - 1]![1]); // a gap between ranges
        }
        expect(sb.sackedBytes).toBe(sacked.filter(Boolean).length);
        sacked.forEach((s, i) => {
          const seq = seqAdd(f.base, i);
          expect(sb.isSacked(seq)).toBe(s);
          // sackedEnd: the end of the SACKed run holding i; nextSackedStart: the next run above.
          const gap = sacked.indexOf(false, i);
          const end = s ? (gap === -1 ? f.length : gap) : undefined;
          const sackedEnd = sb.sackedEnd(seq);
          expect(sackedEnd === undefined ? undefined : seqDiff(sackedEnd, f.base)).toBe(end);
          const next = sacked.findIndex((x, j) => j > i && x && !sacked[j - 1]);
          const nextStart = sb.nextSackedStart(seq);
          expect(nextStart === undefined ? -1 : seqDiff(nextStart, f.base)).toBe(next);
        });
      }),
    );
  });

  test("newlySacked counts exactly the octets an ACK adds", () => {
    fc.assert(
      fc.property(flight, (f) => {
        const sb = new Scoreboard({ mss: f.mss });
        let total = 0;
        for (const ack of f.blocks) total += sb.update(ack, f.sndUna, f.sndMax).newlySacked;
        expect(total).toBe(sb.sackedBytes);
      }),
    );
  });

  test("IsLost and SetPipe agree with the octet-by-octet definitions; pipe never counts SACKed octets", () => {
    fc.assert(
      fc.property(flight, (f) => {
        const sb = fill(f);
        const sacked = model(f);
        const highRxt = seqAdd(f.base, Math.min(f.highRxt, f.length));
        let pipe = 0;
        let unsacked = 0;
        sacked.forEach((s, i) => {
          if (!s) expect(sb.isLost(seqAdd(f.base, i))).toBe(modelLost(sacked, i, f.mss));
          if (s) return;
          unsacked++;
          if (!modelLost(sacked, i, f.mss)) pipe++; // (a)
          if (i < Math.min(f.highRxt, f.length)) pipe++; // (b) S1 <= HighRxt
        });
        const got = sb.pipe(f.sndUna, f.sndMax, highRxt);
        expect(got).toBe(pipe);
        expect(got).toBeGreaterThanOrEqual(0);
        expect(got).toBeLessThanOrEqual(2 * unsacked);
      }),
    );
  });

  test("NextSeg returns a segment of at most SMSS, never starting on a SACKed octet, per its rule", () => {
    fc.assert(
      fc.property(flight, fc.nat(100), (f, newData) => {
        const sb = fill(f);
        const sacked = model(f);
        const rxt = Math.min(f.highRxt, f.length);
        const next = sb.nextSeg({
          sndUna: f.sndUna,
          sndMax: f.sndMax,
          highRxt: seqAdd(f.base, rxt),
          rescueRxt: undefined,
          newDataBytes: newData,
        });
        const highest = sacked.lastIndexOf(true);
        const firstCandidate = sacked.findIndex((s, i) => !s && i >= rxt && i < highest);
        if (next === undefined) {
          expect(sacked.every(Boolean) && newData === 0).toBe(true);
          return;
        }
        expect(next.length).toBeGreaterThan(0);
        expect(next.length).toBeLessThanOrEqual(f.mss);
        const at = seqDiff(next.seq, f.base);
        if (next.rule === 2) {
          expect(at).toBe(f.length);
          return;
        }
        for (let i = at; i < at + next.length; i++) {
          expect(i).toBeLessThan(f.length);
          if (next.rule !== 4) expect(sacked[i]).toBe(false);
        }
        if (next.rule === 1 || next.rule === 3) expect(at).toBe(firstCandidate);
        if (next.rule === 1) expect(modelLost(sacked, at, f.mss)).toBe(true);
        if (next.rule === 3) expect(modelLost(sacked, at, f.mss)).toBe(false);
        if (next.rule === 4) {
          expect(firstCandidate).toBe(-1);
          expect(sacked[at + next.length - 1]).toBe(false); // the highest un-SACKed octet
          expect(sacked.slice(at + next.length).every(Boolean)).toBe(true);
        }
      }),
    );
  });
});
