import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { IdentificationTable } from "../../../stack/ipv4/identification.ts";
import { Random } from "../../../stack/random.ts";

const HOST = 0x0a000002;

describe("IdentificationTable (RFC 791 §3.2, RFC 7739 §5.3)", () => {
  test("one flow counts up by one, wrapping at 16 bits: 65,536 datagrams before a repeat", () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(0xffffffff), fc.nat(255), (seed, destination, protocol) => {
        const table = new IdentificationTable(new Random(seed));
        const first = table.next(HOST, destination, protocol);
        for (let i = 1; i < 100; i++) {
          expect(table.next(HOST, destination, protocol)).toBe((first + i) & 0xffff);
        }
      }),
      { numRuns: 50 },
    );
  });

  test("traffic to others does not move a flow's counter (no idle-scan side channel)", () => {
    const table = new IdentificationTable(new Random(1));
    const watched = 0x0a000001;
    let previous = table.next(HOST, watched, 6);
    let jumps = 0;
    for (let other = 0; other < 200; other++) {
      for (let i = 0; i < 10; i++) table.next(HOST, 0x0b000000 + other, 6);
      const id = table.next(HOST, watched, 6);
      if (id !== ((previous + 1) & 0xffff)) jumps++;
      previous = id;
    }
    // 2,048 buckets: a few of 200 destinations may share the watched flow's bucket.
    expect(jumps).toBeLessThanOrEqual(3);
  });

  test("seeded tables replay; differently seeded ones start elsewhere", () => {
    const a = new IdentificationTable(new Random(5));
    const b = new IdentificationTable(new Random(5));
    const c = new IdentificationTable(new Random(6));
    const ids = (t: IdentificationTable) => [1, 2, 3].map((d) => t.next(HOST, d, 17));
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).not.toEqual(ids(c));
  });
});
