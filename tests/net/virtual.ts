/**
 * Running our hosts on a VirtualClock (createHostPair's `clock` option): time moves only
 * here, so retransmission timeouts cost no real time and a run replays exactly.
 */
import type { PairedHost } from "../../index.ts";
import type { VirtualClock } from "../../stack/clock.ts";

/** Lets every queued continuation run (setImmediate comes after nextTick and microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Advances the clock until `promise` settles: 1 ms steps while packets flow, doubling up
 * to 64 ms while the link is quiet (waiting for a retransmission timer).
 */
export async function run<T>(
  clock: VirtualClock,
  hosts: readonly PairedHost[],
  promise: Promise<T>,
  limitMs = 600_000,
): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => {});
  const sent = () => hosts.reduce((sum, host) => sum + host.device.faults.sent, 0);
  const end = clock.now() + limitMs;
  let step = 1;
  await settle();
  while (!done && clock.now() < end) {
    const before = sent();
    clock.advance(step);
    await settle();
    step = sent() === before ? Math.min(step * 2, 64) : 1;
  }
  if (!done) throw new Error(`still pending after ${limitMs} ms of virtual time`);
  return watched;
}
