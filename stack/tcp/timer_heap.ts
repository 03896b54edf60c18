/**
 * A binary min-heap of (deadline, connection) with lazy deletion, so that finding the
 * next timer among thousands of idle connections costs O(log n), not O(n).
 *
 * Each TCB remembers the deadline it is filed under (`scheduledAt`). Moving a timer
 * earlier files a new entry; moving it later leaves the old one, which fires early,
 * finds nothing due and refiles the TCB. Entries whose deadline no longer matches their
 * TCB's `scheduledAt` are stale and skipped.
 */
import type { Tcb } from "./tcb.ts";

interface Entry {
  at: number;
  tcb: Tcb;
}

export class TimerHeap {
  private readonly heap: Entry[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** Files `tcb` under its earliest timer if that is sooner than where it is filed. */
  schedule(tcb: Tcb): void {
    const at = tcb.closed ? Number.POSITIVE_INFINITY : tcb.nextTimerAt();
    if (at >= tcb.scheduledAt) return;
    tcb.scheduledAt = at;
    this.push({ at, tcb });
  }

  /** The earliest live deadline, or Infinity. */
  peek(): number {
    this.dropStale();
    return this.heap[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns a TCB whose filed deadline is at or before `now`. */
  popDue(now: number): Tcb | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.pop();
    top.tcb.scheduledAt = Number.POSITIVE_INFINITY;
    return top.tcb;
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || (!top.tcb.closed && top.at === top.tcb.scheduledAt)) return;
      this.pop();
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
