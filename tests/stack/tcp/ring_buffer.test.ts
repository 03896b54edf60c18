/**
 * The byte ring behind every send and receive buffer (stack/tcp/ring_buffer.ts), against
 * a plain array as the model: any mix of writes, reads, peeks, discards and growth,
 * across the wrap and the storage doubling, keeps exactly the model's bytes.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { RingBuffer } from "../../../stack/tcp/ring_buffer.ts";

const operation = fc.oneof(
  fc.record({ op: fc.constant("write" as const), length: fc.nat(9000), seed: fc.nat(255) }),
  fc.record({ op: fc.constant("read" as const), length: fc.nat(9000) }),
  fc.record({ op: fc.constant("peek" as const), offset: fc.nat(5000), length: fc.nat(5000) }),
  fc.record({ op: fc.constant("discard" as const), length: fc.nat(9000) }),
  fc.record({ op: fc.constant("grow" as const), by: fc.nat(20_000) }),
  fc.record({ op: fc.constant("compact" as const) }),
);

describe("RingBuffer", () => {
  test("property: behaves as an array of bytes bounded by its capacity", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40_000 }),
        fc.array(operation, { maxLength: 60 }),
        (capacity, ops) => {
          const ring = new RingBuffer(capacity);
          let model: number[] = [];
          let limit = capacity;
          for (const o of ops) {
            if (o.op === "write") {
              const data = Uint8Array.from({ length: o.length }, (_, i) => (i + o.seed) & 0xff);
              const taken = ring.write(data);
              expect(taken).toBe(Math.min(o.length, limit - model.length));
              model.push(...data.subarray(0, taken));
            } else if (o.op === "read") {
              const into = new Uint8Array(o.length);
              const n = ring.read(into);
              expect(n).toBe(Math.min(o.length, model.length));
              expect([...into.subarray(0, n)]).toEqual(model.slice(0, n));
              model = model.slice(n);
            } else if (o.op === "peek") {
              if (o.offset + o.length > model.length) {
                expect(() => ring.peek(o.offset, new Uint8Array(o.length))).toThrow();
              } else {
                const into = new Uint8Array(o.length);
                ring.peek(o.offset, into);
                expect([...into]).toEqual(model.slice(o.offset, o.offset + o.length));
              }
            } else if (o.op === "discard") {
              const n = Math.min(o.length, model.length);
              ring.discard(n);
              model = model.slice(n);
            } else if (o.op === "grow") {
              ring.grow(limit + o.by);
              limit += o.by;
            } else {
              ring.compact();
              limit = Math.max(model.length, 1);
            }
            expect(ring.length).toBe(model.length);
            expect(ring.capacity).toBe(limit);
            expect(ring.free).toBe(limit - model.length);
          }
          const rest = new Uint8Array(model.length);
          ring.peek(0, rest);
          expect([...rest]).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("an emptied ring with small storage holds none (an idle connection's buffers go back to the pool); a grown one keeps its storage", () => {
    const ring = new RingBuffer(256 * 1024);
    expect(ring.storageBytes).toBe(0);
    ring.write(new Uint8Array([1, 2, 3]));
    expect(ring.storageBytes).toBeGreaterThan(0);
    ring.read(new Uint8Array(3));
    expect(ring.storageBytes).toBe(0);
    // The next write takes a block again and stores correctly (a pooled block's old
    // contents never show).
    ring.write(new Uint8Array([9, 8]));
    const out = new Uint8Array(2);
    ring.peek(0, out);
    expect([...out]).toEqual([9, 8]);
    ring.discard(2);
    expect(ring.storageBytes).toBe(0);
    // Bulk: storage grows past the first size and is kept when emptied (no churn).
    ring.write(new Uint8Array(10_000));
    ring.discard(10_000);
    expect(ring.storageBytes).toBeGreaterThanOrEqual(10_000);
  });
});
