/**
 * A binary min-heap of (deadline, connection) with lazy deletion, so that finding the
 * next timer among thousands of idle connections costs O(log n), not O(n).
 *
 * Each TCB remembers the deadline it is filed under (`scheduledAt`). Moving a timer
 * earlier files a new entry; moving it later leaves the old one, which fires early,
 * finds nothing due and refiles the TCB. Entries whose deadline no longer matches their
 * TCB's `scheduledAt` are stale and skipped.
 */
import { MinHeap } from "../min_heap.ts";
import type { Tcb } from "./tcb.ts";

interface Entry {
  at: number;
  tcb: Tcb;
}

export class TimerHeap {
  private readonly heap = new MinHeap<Entry>((a, b) => a.at < b.at);

  get size(): number {
    return this.heap.size;
  }

  /** Files `tcb` under its earliest timer if that is sooner than where it is filed. */
  schedule(tcb: Tcb): void {
    const at = tcb.closed ? Number.POSITIVE_INFINITY : tcb.nextTimerAt();
    if (at >= tcb.scheduledAt) return;
    tcb.scheduledAt = at;
    this.heap.push({ at, tcb });
  }

  /** The earliest live deadline, or Infinity. */
  peek(): number {
    this.dropStale();
    return this.heap.peek()?.at ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns a TCB whose filed deadline is at or before `now`. */
  popDue(now: number): Tcb | undefined {
    this.dropStale();
    const top = this.heap.peek();
    if (top === undefined || top.at > now) return undefined;
    this.heap.pop();
    top.tcb.scheduledAt = Number.POSITIVE_INFINITY;
    return top.tcb;
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || (!top.tcb.closed && top.at === top.tcb.scheduledAt)) return;
      this.heap.pop();
    }
  }
}
