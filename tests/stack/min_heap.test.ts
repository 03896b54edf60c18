/**
 * The binary min-heap behind the VirtualClock and TCP's timer queue: whatever is pushed
 * and popped, in any interleaving, each pop returns the least item left.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MinHeap } from "../../stack/min_heap.ts";

describe("MinHeap", () => {
  test("example: pops in order, peek leaves the least in place", () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [5, 3, 8, 1, 3]) heap.push(n);
    expect(heap.peek()).toBe(1);
    expect(heap.size).toBe(5);
    const out: (number | undefined)[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual([1, 3, 3, 5, 8]);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  test("property: interleaved pushes and pops always pop the least item left", () => {
    const op = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant("pop" as const));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const o of ops) {
          if (o === "pop") {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(o);
            model.push(o);
          }
          expect(heap.size).toBe(model.length);
          expect([...heap.values()].sort((a, b) => a - b)).toEqual(
            [...model].sort((a, b) => a - b),
          );
        }
      }),
    );
  });
});
