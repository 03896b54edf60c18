/**
 * The simulated link: faithful without faults, reproducible from a seed, and each fault
 * at roughly its configured rate. Time moves only through the VirtualClock.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { FaultOptions } from "../../device/faults.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../../device/memory_link.ts";
import { VirtualClock } from "../../stack/clock.ts";

interface Arrival {
  atMs: number;
  bytes: Uint8Array;
}

/** A packet whose first two bytes are its sequence number, the rest filler. */
function numbered(n: number, size = 64): Uint8Array {
  const packet = new Uint8Array(size).fill(0xab);
  packet[0] = n >> 8;
  packet[1] = n & 0xff;
  return packet;
}

const numberOf = (packet: Uint8Array) => (packet[0]! << 8) | packet[1]!;

function record(end: MemoryLinkEnd, clock: VirtualClock): Arrival[] {
  const arrivals: Arrival[] = [];
  end.onReceive((bytes) => arrivals.push({ atMs: clock.now(), bytes: bytes.slice() }));
  return arrivals;
}

/** Sends `count` numbered packets A→B, `gapMs` apart, and runs the clock until idle. */
function transfer(seed: number, faults: FaultOptions, count: number, gapMs = 1) {
  const clock = new VirtualClock();
  const [a, b] = createMemoryLink(clock, { seed, faults });
  const arrivals = record(b, clock);
  for (let i = 0; i < count; i++) {
    a.send(numbered(i));
    clock.advance(gapMs);
  }
  clock.runUntilIdle();
  return { arrivals, counters: { ...a.faults } };
}

describe("memory link without faults", () => {
  test("every packet arrives exactly once, in order, unchanged, after the delay", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 20, max: 1500 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 3 }),
        (sizes, delayMs, gapMs) => {
          const clock = new VirtualClock();
          const [a, b] = createMemoryLink(clock, { seed: 1, faults: { delayMs } });
          const arrivals = record(b, clock);
          const sentAt: number[] = [];
          const reused = new Uint8Array(1500); // the sender reuses one buffer
          sizes.forEach((size, i) => {
            reused.set(numbered(i, size));
            sentAt.push(clock.now());
            a.send(reused.subarray(0, size));
            reused.fill(0);
            clock.advance(gapMs);
          });
          clock.runUntilIdle();
          expect(arrivals.map((x) => numberOf(x.bytes))).toEqual(sizes.map((_, i) => i));
          arrivals.forEach((x, i) => {
            expect(x.bytes).toEqual(numbered(i, sizes[i]));
            expect(x.atMs).toBe(sentAt[i]! + delayMs);
          });
          expect(a.faults).toMatchObject({ sent: sizes.length, delivered: sizes.length, lost: 0 });
        },
      ),
    );
  });

  test("nothing is delivered inside send(); packets due together come as one batch and one flush", () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryLink(clock, { seed: 7 });
    const events: string[] = [];
    b.onReceive(
      (p) => events.push(`packet ${numberOf(p)}`),
      () => events.push("flush"),
    );
    a.send(numbered(0));
    a.send(numbered(1));
    expect(events).toEqual([]);
    clock.advance(0);
    expect(events).toEqual(["packet 0", "packet 1", "flush"]);
  });

  test("both directions work, and a closed end neither sends nor receives", async () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryLink(clock, { seed: 3 });
    const atA = record(a, clock);
    const atB = record(b, clock);
    b.send(numbered(5));
    a.send(numbered(6));
    clock.runUntilIdle();
    expect(atA.map((x) => numberOf(x.bytes))).toEqual([5]);
    expect(atB.map((x) => numberOf(x.bytes))).toEqual([6]);
    a.send(numbered(7));
    await b.close();
    a.send(numbered(8));
    b.send(numbered(9));
    clock.runUntilIdle();
    expect(atB.length).toBe(1);
    expect(atA.length).toBe(1);
  });

  test("a packet larger than the MTU is dropped and counted", () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryLink(clock, { seed: 1, mtu: 576 });
    const arrivals = record(b, clock);
    a.send(numbered(0, 577));
    a.send(numbered(1, 576));
    clock.runUntilIdle();
    expect(arrivals.map((x) => numberOf(x.bytes))).toEqual([1]);
    expect(a.faults.oversize).toBe(1);
  });

  test("a rate limit serializes packets back to back, and a full queue tail-drops", () => {
    const clock = new VirtualClock();
    // 100 000 B/s: a 1000-byte packet takes 10 ms on the wire.
    const [a, b] = createMemoryLink(clock, {
      seed: 1,
      faults: { rateBytesPerSecond: 100_000 },
      queueBytes: 5000,
    });
    const arrivals = record(b, clock);
    for (let i = 0; i < 10; i++) a.send(numbered(i, 1000));
    clock.runUntilIdle();
    // The 5000-byte queue holds packets 0..4 (0 being serialized); 5..9 are dropped.
    expect(arrivals.map((x) => x.atMs)).toEqual([10, 20, 30, 40, 50]);
    expect(a.faults.queueDrops).toBe(5);
    // Once the queue has drained, packets are accepted again.
    a.send(numbered(10, 1000));
    clock.runUntilIdle();
    expect(arrivals.length).toBe(6);
  });
});

describe("memory link with faults", () => {
  const faultOptions = fc.record({
    loss: fc.double({ min: 0, max: 0.5, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.5, noNaN: true }),
    reorder: fc.double({ min: 0, max: 0.5, noNaN: true }),
    corrupt: fc.double({ min: 0, max: 0.5, noNaN: true }),
    delayMs: fc.integer({ min: 0, max: 20 }),
    jitterMs: fc.integer({ min: 0, max: 5 }),
  });

  test("the same seed gives the same fault sequence; another seed a different one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), faultOptions, (seed, faults) => {
        const first = transfer(seed, faults, 200);
        const again = transfer(seed, faults, 200);
        expect(again.arrivals).toEqual(first.arrivals);
        expect(again.counters).toEqual(first.counters);
      }),
      { numRuns: 30 },
    );
    const faults = { loss: 0.3, corrupt: 0.3, duplicate: 0.3, reorder: 0.3 };
    expect(transfer(1, faults, 200).arrivals).not.toEqual(transfer(2, faults, 200).arrivals);
  });

  test("each fault occurs at roughly its configured rate", () => {
    const packets = 4000;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), faultOptions, (seed, faults) => {
        const { counters, arrivals } = transfer(seed, faults, packets, 0);
        // Binomial: with at least ~1900 survivors the standard deviation is at most 0.0115,
        // so 0.06 is over 5 of them and the property does not flake.
        const tolerance = 0.06;
        expect(Math.abs(counters.lost / packets - faults.loss)).toBeLessThan(tolerance);
        const survivors = packets - counters.lost;
        for (const kind of ["duplicate", "reorder", "corrupt"] as const) {
          const counted = {
            duplicate: counters.duplicated,
            reorder: counters.reordered,
            corrupt: counters.corrupted,
          }[kind];
          if (survivors > 500)
            expect(Math.abs(counted / survivors - faults[kind])).toBeLessThan(tolerance);
        }
        expect(arrivals.length).toBe(survivors + counters.duplicated);
        expect(counters.delivered).toBe(arrivals.length);
      }),
      { numRuns: 25 },
    );
  });

  test("corruption flips exactly one bit of a copy", () => {
    const { arrivals, counters } = transfer(11, { corrupt: 1 }, 50);
    expect(counters.corrupted).toBe(50);
    arrivals.forEach((arrival) => {
      let flipped = 0;
      const original = numbered(numberOf(numbered(0))); // filler is the same for all
      for (let i = 2; i < arrival.bytes.length; i++) {
        let diff = arrival.bytes[i]! ^ original[i]!;
        while (diff) {
          flipped += diff & 1;
          diff >>= 1;
        }
      }
      // The flipped bit may be in the 2-byte number instead; then the filler is intact.
      expect(flipped).toBeLessThanOrEqual(1);
    });
    const flippedInFiller = arrivals.filter((x) =>
      x.bytes.subarray(2).some((v) => v !== 0xab),
    ).length;
    expect(flippedInFiller).toBeGreaterThan(40);
  });

  test("a reordered packet is overtaken by the packets sent after it", () => {
    const { arrivals, counters } = transfer(5, { reorder: 0.2, reorderDelayMs: 10 }, 100, 1);
    expect(counters.reordered).toBeGreaterThan(5);
    const order = arrivals.map((x) => numberOf(x.bytes));
    expect(order).not.toEqual([...order].sort((p, q) => p - q));
    expect([...order].sort((p, q) => p - q)).toEqual([...Array(100).keys()]);
  });

  test("delay and jitter never deliver early", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (seed, delayMs, jitterMs) => {
          const { arrivals } = transfer(seed, { delayMs, jitterMs }, 50, 2);
          for (const arrival of arrivals) {
            const sentAt = numberOf(arrival.bytes) * 2;
            expect(arrival.atMs).toBeGreaterThanOrEqual(sentAt + delayMs);
            expect(arrival.atMs).toBeLessThanOrEqual(sentAt + delayMs + jitterMs);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
