/** Sequence arithmetic modulo 2^32 (RFC 9293 §3.4), across the wrap. */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
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
  tsClock,
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

describe("the one home of wrap-around arithmetic", () => {
  test("tsClock: milliseconds plus the offset, wrapped to 32 bits (RFC 7323 §5.4)", () => {
    expect(tsClock(1000.7, 5)).toBe(1005);
    expect(tsClock(10, 0xfffffffa)).toBe(4);
    expect(seqGt(tsClock(10, 0xfffffffa), tsClock(0, 0xfffffffa))).toBe(true);
  });

  test("no file of stack/ but seq.ts takes a signed 32-bit distance itself", () => {
    const root = join(import.meta.dir, "../../../stack");
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
      });
    // `(a - b) | 0` is the distance trick of seq.ts; anywhere else it is arithmetic on
    // sequence numbers or timestamps that belongs there.
    const offenders = files(root)
      .filter((file) => !file.endsWith("/tcp/seq.ts"))
      .filter((file) => /\([^()]*-[^()]*\)\s*\|\s*0\b/.test(readFileSync(file, "utf8")))
      .map((file) => relative(root, file));
    expect(offenders).toEqual([]);
  });
});
