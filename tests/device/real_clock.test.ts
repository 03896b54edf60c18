/**
 * The real clock: never fires early, and a cancelled timer never fires. (No assertion on
 * how late a timer may be: that is the scheduler's business, not a correctness rule.)
 */
import { expect, test } from "bun:test";
import { RealClock } from "../../device/real_clock.ts";

test("timers fire at or after their deadline, and cancelled ones never", async () => {
  const clock = new RealClock();
  const start = clock.now();
  const results: { deadline: number; firedAt: number }[] = [];
  const cancelled: number[] = [];
  const done: Promise<void>[] = [];
  for (const offset of [0, 0.3, 1.7, 5, 12.5, -3]) {
    const deadline = start + offset;
    done.push(
      new Promise((resolve) =>
        clock.at(deadline, () => resolve(void results.push({ deadline, firedAt: clock.now() }))),
      ),
    );
  }
  clock.at(start + 2, () => cancelled.push(1)).cancel();
  await Promise.all(done);
  await Bun.sleep(10);
  expect(results.length).toBe(6);
  for (const r of results) expect(r.firedAt).toBeGreaterThanOrEqual(r.deadline);
  expect(cancelled).toEqual([]);
});

test("now() is epoch milliseconds and never goes backwards", () => {
  const clock = new RealClock();
  const first = clock.now();
  expect(Math.abs(first - Date.now())).toBeLessThan(1000);
  let previous = first;
  for (let i = 0; i < 1000; i++) {
    const now = clock.now();
    expect(now).toBeGreaterThanOrEqual(previous);
    previous = now;
  }
});
