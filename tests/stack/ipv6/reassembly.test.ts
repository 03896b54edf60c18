import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NextHeader } from "../../../stack/ipv6/datagram.ts";
import { type Ipv6Fragment, Ipv6Reassembly } from "../../../stack/ipv6/reassembly.ts";
import { Stats } from "../../../stack/stats.ts";
import { concat, fragmentHeader, HOST6, ipv6Packet, PEER6 } from "./fixtures/packets6.ts";

/** A fragment as IPv6 input hands it over, built from real fragment bytes. */
function fragment(
  data: Uint8Array,
  start: number,
  end: number,
  more: boolean,
  id = 77,
): Ipv6Fragment {
  const packet = ipv6Packet({
    nextHeader: NextHeader.FRAGMENT,
    payload: concat(
      fragmentHeader({ nextHeader: NextHeader.UDP, offset: start, more, identification: id }),
      data.subarray(start, end),
    ),
  });
  return {
    source: PEER6,
    destination: HOST6,
    identification: id,
    fragmentOffset: start,
    moreFragments: more,
    nextHeader: NextHeader.UDP,
    unfragmentable: packet.subarray(0, 40),
    nextHeaderAt: 6,
    data: packet.subarray(48),
    packet,
    broadcast: false,
  };
}

/** Cut points at multiples of 8 (every piece but the last a multiple of 8, as §4.5 asks). */
function pieces(length: number, cuts: number[]): [number, number][] {
  const points = [
    ...new Set([0, ...cuts.map((c) => c * 8).filter((p) => p < length), length]),
  ].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < points.length; i++) out.push([points[i]!, points[i + 1]!]);
  return out;
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const fragmentation = fc.integer({ min: 9, max: 5000 }).chain((length) =>
  fc.record({
    data: fc.uint8Array({ minLength: length, maxLength: length }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: Math.ceil(length / 8) - 1 }), {
      minLength: 1,
      maxLength: 24,
    }),
    duplicates: fc.array(fc.nat(), { maxLength: 4 }),
    seed: fc.integer(),
  }),
);

describe("IPv6 reassembly (RFC 8200 §4.5)", () => {
  test("any fragmentation, in any order, with exact duplicates, yields the packet exactly", () => {
    fc.assert(
      fc.property(fragmentation, ({ data, cuts, duplicates, seed }) => {
        const ranges = pieces(data.length, cuts);
        const sent = shuffle(
          [...ranges, ...duplicates.map((d) => ranges[d % ranges.length]!)],
          seed,
        );
        const stats = new Stats();
        const reassembly = new Ipv6Reassembly(stats);
        let result: Uint8Array | undefined;
        for (const [start, end] of sent) {
          const r = reassembly.add(fragment(data, start, end, end < data.length), 0);
          expect(r.kind).not.toBe("failed");
          if (r.kind === "complete") {
            result = r.packet;
            expect(r.resumeAt).toBe(40);
            expect(r.nextHeader).toBe(NextHeader.UDP);
            break;
          }
        }
        expect(result).toBeDefined();
        expect(result!.subarray(40)).toEqual(data);
        expect(result![6]).toBe(NextHeader.UDP); // §4.5: from the Fragment header
        expect((result![4]! << 8) | result![5]!).toBe(data.length); // Payload Length recomputed
        expect(reassembly.bytesInUse).toBe(0);
        expect(reassembly.packetsInProgress).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test("any overlap that is not an exact duplicate discards the whole packet (RFC 5722)", () => {
    fc.assert(
      fc.property(fragmentation, fc.nat(), fc.nat(), ({ data, cuts, seed }, a, b) => {
        const ranges = pieces(data.length, cuts);
        // An overlapping piece: from one cut point to another, not equal to any piece.
        const points = [...new Set(ranges.flat())];
        const start = points[a % (points.length - 1)]!;
        const end = Math.min(data.length, start + 8 * (1 + (b % 4)) + (ranges.length > 1 ? 8 : 0));
        if (ranges.some(([s, e]) => s === start && e === end)) return;
        const stats = new Stats();
        const reassembly = new Ipv6Reassembly(stats);
        const sent = shuffle(ranges, seed);
        // One piece, then a piece that overlaps it without being it.
        const [first] = sent;
        const r1 = reassembly.add(fragment(data, first![0], first![1], first![1] < data.length), 0);
        if (r1.kind === "complete") return; // a single piece
        const overlap = reassembly.add(fragment(data, start, end, end < data.length), 0);
        if (start < first![1] && end > first![0]) {
          expect(overlap).toMatchObject({ kind: "failed" });
          expect(stats.get("ipv6ReasmFails") + reassembly.packetsInProgress).toBeGreaterThanOrEqual(
            0,
          );
          expect(reassembly.packetsInProgress).toBe(0);
          expect(reassembly.bytesInUse).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("an overlap with identical bytes is still discarded whole (RFC 5722 §4)", () => {
    const data = new Uint8Array(64).fill(1);
    const reassembly = new Ipv6Reassembly(new Stats());
    expect(reassembly.add(fragment(data, 0, 32, true), 0).kind).toBe("incomplete");
    expect(reassembly.add(fragment(data, 16, 48, true), 0)).toMatchObject({
      kind: "failed",
      detail: "overlapping fragments (RFC 5722)",
    });
    expect(reassembly.bytesInUse).toBe(0);
    // The rest starts a new packet, which never completes without its first part.
    expect(reassembly.add(fragment(data, 48, 64, false), 0).kind).toBe("incomplete");
  });

  test("an exact duplicate is dropped alone and the packet still completes", () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => i);
    const reassembly = new Ipv6Reassembly(new Stats());
    expect(reassembly.add(fragment(data, 0, 16, true), 0).kind).toBe("incomplete");
    expect(reassembly.add(fragment(data, 0, 16, true), 0).kind).toBe("duplicate");
    const done = reassembly.add(fragment(data, 16, 40, false), 0);
    expect(done.kind).toBe("complete");
  });

  test("conflicting ends and data past the end discard the packet", () => {
    const data = new Uint8Array(64);
    const a = new Ipv6Reassembly(new Stats());
    a.add(fragment(data, 16, 32, false), 0);
    // A second last fragment claims a different end than 32.
    expect(a.add(fragment(data, 48, 64, false), 0)).toMatchObject({ kind: "failed" });
    const b = new Ipv6Reassembly(new Stats());
    b.add(fragment(data, 8, 16, false), 0);
    expect(b.add(fragment(data, 16, 32, true), 0)).toMatchObject({
      kind: "failed",
      detail: "data beyond the last fragment",
    });
  });

  test("loss: nothing completes; after 60 s the packet is dropped, reported only if its first fragment came", () => {
    fc.assert(
      fc.property(fragmentation, fc.nat(), ({ data, cuts, seed }, lost) => {
        const ranges = pieces(data.length, cuts);
        if (ranges.length < 2) return;
        const missing = lost % ranges.length;
        const stats = new Stats();
        const reassembly = new Ipv6Reassembly(stats);
        for (const [i, [start, end]] of shuffle([...ranges.entries()], seed)) {
          if (i === missing) continue;
          expect(reassembly.add(fragment(data, start, end, end < data.length), 1000).kind).toBe(
            "incomplete",
          );
        }
        expect(reassembly.nextDeadline()).toBe(61_000);
        const reports: Uint8Array[] = [];
        reassembly.expire(60_999, (e) => reports.push(e.firstFragment));
        expect(reassembly.packetsInProgress).toBe(1);
        reassembly.expire(61_000, (e) => reports.push(e.firstFragment));
        expect(reassembly.packetsInProgress).toBe(0);
        expect(reassembly.bytesInUse).toBe(0);
        expect(stats.get("ipv6ReasmTimeout")).toBe(1);
        expect(reports.length).toBe(missing === 0 ? 0 : 1);
        if (reports.length === 1)
          expect(reports[0]!.subarray(48)).toEqual(data.subarray(0, ranges[0]![1]));
      }),
      { numRuns: 200 },
    );
  });

  test("memory stays within its budget under a flood of partial packets, evicting the oldest", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 40 }),
            slot: fc.integer({ min: 0, max: 60 }),
            size: fc.integer({ min: 1, max: 150 }),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        (flood) => {
          const limits = { maxBytes: 20_000, maxPackets: 8 };
          const stats = new Stats();
          const reassembly = new Ipv6Reassembly(stats, limits);
          const data = new Uint8Array(64 * 1024);
          flood.forEach(({ id, slot, size }, i) => {
            const start = slot * 1200;
            reassembly.add(fragment(data, start, start + size * 8, true, id), i);
            expect(reassembly.bytesInUse).toBeLessThanOrEqual(limits.maxBytes);
            expect(reassembly.packetsInProgress).toBeLessThanOrEqual(limits.maxPackets);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
