/**
 * The wall clock, for running the stack for real. `stack/clock.ts` has the interface and
 * the virtual clock tests use; this is the only clock that calls `setTimeout`.
 *
 * `now()` is milliseconds since the Unix epoch with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`), so it is monotonic within a process and
 * also gives pcap files real timestamps.
 */
import type { Clock, Timer } from "../stack/clock.ts";

export class RealClock implements Clock {
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Runs `callback` at or after `atMs`; a past deadline runs on the next turn of the loop. */
  at(atMs: number, callback: () => void): Timer {
    let handle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      handle = setTimeout(fire, Math.max(0, atMs - this.now()));
    };
    // setTimeout rounds to whole milliseconds and may fire a fraction early: check, and
    // wait again rather than run before the deadline.
    const fire = () => {
      if (this.now() < atMs) arm();
      else callback();
    };
    arm();
    return {
      cancel() {
        if (handle !== undefined) clearTimeout(handle);
      },
    };
  }
}
