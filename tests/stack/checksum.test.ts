import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
  updateChecksum,
} from "../../stack/checksum.ts";

/** RFC 1071 §4.1, byte by byte: the plain reference the fast version must agree with. */
function referenceChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) + (i + 1 < bytes.length ? bytes[i + 1]! : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

describe("internetChecksum", () => {
  test("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(onesComplementSum(bytes)).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  test("a captured IPv4 header (checksum b861) verifies to 0", () => {
    const header = Uint8Array.from(
      "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7"
        .replace(/ /g, "")
        .match(/../g)!
        .map((h) => parseInt(h, 16)),
    );
    expect(internetChecksum(header)).toBe(0);
    header[10] = 0;
    header[11] = 0;
    expect(internetChecksum(header)).toBe(0xb861);
  });

  test("agrees with the byte-by-byte reference at any length, offset and initial sum", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.nat(7),
        fc.nat(7),
        fc.nat(0x5ffff),
        (raw, start, endTrim, initial) => {
          // A subarray at an arbitrary (often odd) byteOffset of a larger buffer.
          const bytes = raw.subarray(
            Math.min(start, raw.length),
            Math.max(0, raw.length - endTrim),
          );
          expect(internetChecksum(bytes, initial)).toBe(referenceChecksum(bytes, initial));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("a long run of 0xff bytes (deferred carries) still folds correctly", () => {
    const bytes = new Uint8Array(65535).fill(0xff);
    expect(internetChecksum(bytes)).toBe(referenceChecksum(bytes));
    expect(internetChecksum(bytes.subarray(3))).toBe(referenceChecksum(bytes.subarray(3)));
  });

  test("pseudoHeaderSum equals the checksum of the 12-byte pseudo-header (RFC 768)", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        fc.nat(255),
        fc.nat(0xffff),
        (s, d, p, l) => {
          const pseudo = new Uint8Array(12);
          const view = new DataView(pseudo.buffer);
          view.setUint32(0, s);
          view.setUint32(4, d);
          view.setUint8(9, p);
          view.setUint16(10, l);
          expect(internetChecksum(new Uint8Array(0), pseudoHeaderSum(s, d, p, l))).toBe(
            referenceChecksum(pseudo),
          );
        },
      ),
    );
  });

  test("updateChecksum (RFC 1624) matches recomputing after a word changes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }), fc.nat(0xffff), (raw, word) => {
        const bytes = raw.subarray(0, raw.length & ~1);
        fc.pre(bytes.length >= 2);
        const before = internetChecksum(bytes);
        const oldWord = (bytes[0]! << 8) | bytes[1]!;
        bytes[0] = word >>> 8;
        bytes[1] = word & 0xff;
        const updated = updateChecksum(before, oldWord, word);
        // Both are valid one's complement encodings of the same sum: +0 (0xffff) and
        // -0 (0x0000) are equal, so compare modulo that.
        expect(updated % 0xffff).toBe(internetChecksum(bytes) % 0xffff);
      }),
    );
  });
});

describe("a range of the bytes instead of a view (no subarray per checksum)", () => {
  test("onesComplementSum(bytes, initial, from, to) = onesComplementSum(bytes.subarray(from, to), initial)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.nat({ max: 7 }),
        (bytes, a, b, initial, shift) => {
          // A view at any byte offset of its buffer, so every alignment is exercised.
          const backing = new Uint8Array(bytes.length + 8);
          backing.set(bytes, shift);
          const view = backing.subarray(shift, shift + bytes.length);
          const from = bytes.length === 0 ? 0 : a % (bytes.length + 1);
          const to = from + (b % (bytes.length - from + 1));
          const expected = onesComplementSum(view.slice(from, to), initial);
          expect(onesComplementSum(view, initial, from, to)).toBe(expected);
          expect(internetChecksum(view, initial, from, to)).toBe(~expected & 0xffff);
        },
      ),
    );
  });

  test("sums over several buffers in turn stay right (the cached word views)", () => {
    const buffers = Array.from({ length: 6 }, (_, i) =>
      new Uint8Array(100).map((_, j) => (i * 31 + j * 7) & 0xff),
    );
    for (let round = 0; round < 3; round++) {
      for (const bytes of buffers) {
        expect(internetChecksum(bytes)).toBe(referenceChecksum(bytes));
      }
    }
  });
});
