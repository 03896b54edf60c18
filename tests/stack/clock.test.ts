/**
 * The virtual clock is what every timing test stands on: timers fire in deadline order
 * (ties in scheduling order), never before their deadline, and cancelled ones never.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { VirtualClock } from "../../stack/clock.ts";

const schedule = fc.array(
  fc.record({ atMs: fc.integer({ min: 0, max: 10_000 }), cancel: fc.boolean() }),
  { maxLength: 100 },
);

test("timers fire in deadline order, never early, and cancelled ones never", () => {
  fc.assert(
    fc.property(
      schedule,
      fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 10 }),
      (timers, steps) => {
        const clock = new VirtualClock(0);
        const fired: { index: number; atMs: number; firedAt: number }[] = [];
        timers.forEach(({ atMs, cancel }, index) => {
          const timer = clock.at(atMs, () => fired.push({ index, atMs, firedAt: clock.now() }));
          if (cancel) timer.cancel();
        });
        for (const step of steps) clock.advance(step);
        clock.runUntilIdle();
        const expected = timers
          .map((t, index) => ({ ...t, index }))
          .filter((t) => !t.cancel)
          .sort((a, b) => a.atMs - b.atMs || a.index - b.index)
          .map((t) => t.index);
        expect(fired.map((f) => f.index)).toEqual(expected);
        for (const f of fired) expect(f.firedAt).toBe(f.atMs);
        expect(clock.pending).toBe(0);
      },
    ),
  );
});

test("advance fires exactly the timers due by the target, then stops there", () => {
  fc.assert(
    fc.property(schedule, fc.integer({ min: 0, max: 10_000 }), (timers, target) => {
      const clock = new VirtualClock(0);
      const fired: number[] = [];
      for (const { atMs } of timers) clock.at(atMs, () => fired.push(atMs));
      clock.advanceTo(target);
      expect(fired.every((atMs) => atMs <= target)).toBe(true);
      expect(fired.length).toBe(timers.filter((t) => t.atMs <= target).length);
      expect(clock.now()).toBe(target);
    }),
  );
});

test("a timer scheduled by a timer for an earlier time fires at once, not in the past", () => {
  const clock = new VirtualClock(100);
  const fired: number[] = [];
  clock.at(200, () => clock.at(150, () => fired.push(clock.now())));
  clock.runUntilIdle();
  expect(fired).toEqual([200]);
});

test("runUntilIdle stops at its limit when a timer re-arms itself forever", () => {
  const clock = new VirtualClock(0);
  const rearm = () => clock.at(clock.now() + 1000, rearm);
  rearm();
  expect(clock.runUntilIdle(60_000)).toBe(false);
  expect(clock.now()).toBe(60_000);
});
