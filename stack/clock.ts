/**
 * Time, as the protocol core sees it.
 *
 * Nothing in `stack/` reads the wall clock or calls `setTimeout`: every function that
 * needs the time takes `now` (milliseconds, any fixed origin) as an argument, and every
 * timer is a deadline stored as data (`retransmitAt`, `timeWaitUntil`, ...). The stack
 * reports its earliest deadline through `nextDeadline()`; whoever drives it (the device
 * driver, or a test) arranges to call `poll(now)` then.
 *
 * `Clock` is how a driver gets `now` and waits for a deadline. `VirtualClock` is the
 * test clock: time moves only when the test says so, so a whole TCP exchange with
 * retransmissions runs in milliseconds and replays exactly. The real clock, which does
 * use `setTimeout`, lives in `device/real_clock.ts`.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since an arbitrary fixed origin. */
  now(): number;
  /** Runs `callback` once, at or after `atMs` (never before). */
  at(atMs: number, callback: () => void): Timer;
}

interface Scheduled {
  atMs: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that tests advance by hand. Timers fire in deadline order (ties in the order
 * they were scheduled), and never before their deadline.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private nextOrder = 0;
  // A binary min-heap on (atMs, order).
  private readonly heap: Scheduled[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  at(atMs: number, callback: () => void): Timer {
    const entry: Scheduled = { atMs, order: this.nextOrder++, callback, cancelled: false };
    this.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    let count = 0;
    for (const entry of this.heap) if (!entry.cancelled) count++;
    return count;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.nowMs + ms);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      const head = this.peekLive();
      if (head === undefined || head.atMs > targetMs) break;
      this.pop();
      if (head.atMs > this.nowMs) this.nowMs = head.atMs;
      head.callback();
    }
    if (targetMs > this.nowMs) this.nowMs = targetMs;
  }

  /**
   * Fires timers in order until none are left, or until `limitMs` of virtual time has
   * passed (a guard against a protocol that re-arms a timer forever). Returns true if it
   * stopped because nothing was left.
   */
  runUntilIdle(limitMs = 24 * 3600 * 1000): boolean {
    const endMs = this.nowMs + limitMs;
    for (;;) {
      const head = this.peekLive();
      if (head === undefined) return true;
      if (head.atMs > endMs) {
        this.nowMs = endMs;
        return false;
      }
      this.pop();
      if (head.atMs > this.nowMs) this.nowMs = head.atMs;
      head.callback();
    }
  }

  private peekLive(): Scheduled | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(entry: Scheduled): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Scheduled | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function earlier(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
