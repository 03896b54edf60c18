/** Sequence arithmetic modulo 2^32 (RFC 9293 §3.4), across the wrap. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqInWindow,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
} from "../../../stack/tcp/seq.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const distance = fc.integer({ min: 1, max: 2 ** 31 - 1 });

describe("seq", () => {
  test("examples at the wrap", () => {
    expect(seqAdd(0xffffffff, 2)).toBe(1);
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqDiff(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqInWindow(0, 0xfffffffe, 2)).toBe(true);
    expect(seqInWindow(2, 0xfffffffe, 2)).toBe(false);
  });

  test("a + d is after a for any d in (0, 2^31), wherever a is", () => {
    fc.assert(
      fc.property(u32, distance, (a, d) => {
        const b = seqAdd(a, d);
        expect(seqLt(a, b)).toBe(true);
        expect(seqLe(a, b)).toBe(true);
        expect(seqGt(b, a)).toBe(true);
        expect(seqGe(b, a)).toBe(true);
        expect(seqLt(b, a)).toBe(false);
        expect(seqDiff(b, a)).toBe(d);
        expect(seqMax(a, b)).toBe(b);
        expect(seqMin(a, b)).toBe(a);
        expect(seqInWindow(seqAdd(a, d - 1), a, b)).toBe(true);
        expect(seqInWindow(b, a, b)).toBe(false);
      }),
    );
  });

  test("add then diff round-trips and stays in 32 bits", () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (a, n) => {
        const b = seqAdd(a, n);
        expect(b >>> 0).toBe(b);
        expect(seqDiff(b, a)).toBe(n);
      }),
    );
  });
});
