/**
 * poll(2) over socket descriptors, and the readiness constants (Linux values).
 *
 * `pollDescriptors` checks each descriptor's readiness; if none is ready it waits for
 * the next change of any of them (the stack's `onChange` hooks) or the timeout, on the
 * driver's clock, and checks again. Timeout 0 returns at once, -1 waits forever.
 * Unlike poll(2), which fills `revents` in the caller's array, it returns only the
 * descriptors with something to report.
 */
import type { Clock } from "../stack/clock.ts";
import { ALWAYS_REPORTED, POLLNVAL } from "./poll_events.ts";
import type { Pollable } from "./pollable.ts";
import { nextChangeAmong } from "./pollable.ts";

export {
  ALWAYS_REPORTED,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLPRI,
  EPOLLRDHUP,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDHUP,
} from "./poll_events.ts";

export interface PollRequest {
  fd: number;
  events: number;
}

export interface PollResult {
  fd: number;
  revents: number;
}

export async function pollDescriptors(
  requests: readonly PollRequest[],
  timeoutMs: number,
  lookup: (fd: number) => Pollable | undefined,
  clock: Clock,
): Promise<PollResult[]> {
  const deadline = timeoutMs < 0 ? Number.POSITIVE_INFINITY : clock.now() + timeoutMs;
  for (;;) {
    const targets: Pollable[] = [];
    const results: PollResult[] = [];
    for (const { fd, events } of requests) {
      if (fd < 0) continue; // poll(2): a negative fd is ignored
      const target = lookup(fd);
      if (target === undefined) {
        results.push({ fd, revents: POLLNVAL });
        continue;
      }
      targets.push(target);
      const revents = target.readiness() & (events | ALWAYS_REPORTED);
      if (revents !== 0) results.push({ fd, revents });
    }
    if (results.length > 0 || clock.now() >= deadline) return results;
    await nextChangeAmong(targets, deadline, clock);
  }
}
