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
import { MinHeap } from "./min_heap.ts";

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
  private readonly heap = new MinHeap<Scheduled>(earlier);

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  at(atMs: number, callback: () => void): Timer {
    const entry: Scheduled = { atMs, order: this.nextOrder++, callback, cancelled: false };
    this.heap.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    let count = 0;
    for (const entry of this.heap.values()) if (!entry.cancelled) count++;
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
      this.heap.pop();
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
      this.heap.pop();
      if (head.atMs > this.nowMs) this.nowMs = head.atMs;
      head.callback();
    }
  }

  private peekLive(): Scheduled | undefined {
    while (this.heap.peek()?.cancelled) this.heap.pop();
    return this.heap.peek();
  }
}

function earlier(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
