/**
 * epoll: an interest set with a ready list, level-triggered (the epoll(7) default).
 *
 * Registering a descriptor makes this instance one of its watchers; every readiness
 * change the stack signals (the `onChange` hooks) puts the descriptor on the ready list.
 * `wait` looks only at the ready list, never at the whole interest set, so it stays
 * cheap with thousands of idle connections. Level-triggered: a descriptor stays on the
 * list while it is still ready after being reported, and leaves it when a check finds
 * it idle. Reported descriptors move to the back of the list, so a busy one cannot
 * starve the others when `maxEvents` is small.
 */
import type { Clock } from "../stack/clock.ts";
import { SocketError } from "./errors.ts";
import { ALWAYS_REPORTED, POLLIN } from "./poll_events.ts";
import { nextChangeAmong, Pollable, type Watcher } from "./pollable.ts";

interface Interest {
  readonly fd: number;
  readonly target: Pollable;
  events: number;
}

export class EpollInstance extends Pollable implements Watcher {
  private readonly byFd = new Map<number, Interest>();
  private readonly byTarget = new Map<Pollable, Interest>();
  /** Interests that may be ready; checked (and pruned) by `collect`. */
  private readonly ready = new Set<Interest>();

  add(fd: number, target: Pollable, events: number): void {
    if (target === this) {
      throw new SocketError("EINVAL", "epoll_ctl", "an epoll set cannot watch itself");
    }
    if (this.byFd.has(fd)) {
      throw new SocketError("EEXIST", "epoll_ctl", `${fd} is already in the set`);
    }
    if (target instanceof EpollInstance && target.reaches(this)) {
      throw new SocketError("ELOOP", "epoll_ctl", "epoll sets would watch each other in a circle");
    }
    const interest: Interest = { fd, target, events };
    this.byFd.set(fd, interest);
    this.byTarget.set(target, interest);
    target.watch(this);
    this.markReady(interest);
  }

  modify(fd: number, events: number): void {
    const interest = this.interest(fd);
    interest.events = events;
    this.markReady(interest);
  }

  remove(fd: number): void {
    const interest = this.interest(fd);
    this.forget(interest);
  }

  get size(): number {
    return this.byFd.size;
  }

  /** epoll_wait(): up to `maxEvents` ready descriptors, waiting up to `timeoutMs` (-1: forever). */
  async wait(
    maxEvents: number,
    timeoutMs: number,
    clock: Clock,
  ): Promise<{ fd: number; events: number }[]> {
    if (!Number.isInteger(maxEvents) || maxEvents <= 0) {
      throw new SocketError("EINVAL", "epoll_wait", "maxEvents must be a positive integer");
    }
    const deadline = timeoutMs < 0 ? Number.POSITIVE_INFINITY : clock.now() + timeoutMs;
    for (;;) {
      if (this.isClosed)
        throw new SocketError("EBADF", "epoll_wait", "the epoll descriptor was closed");
      const events = this.collect(maxEvents);
      if (events.length > 0 || clock.now() >= deadline) return events;
      await nextChangeAmong([this], deadline, clock);
    }
  }

  changedReadiness(target: Pollable): void {
    const interest = this.byTarget.get(target);
    if (interest !== undefined) this.markReady(interest);
  }

  closedDescriptor(target: Pollable): void {
    const interest = this.byTarget.get(target);
    if (interest !== undefined) this.forget(interest);
  }

  /** An epoll descriptor is itself readable when some descriptor in it is ready. */
  readiness(): number {
    for (const interest of this.ready) {
      if (reportable(interest) !== 0) return POLLIN;
      this.ready.delete(interest);
    }
    return 0;
  }

  release(): void {
    for (const interest of this.byFd.values()) interest.target.unwatch(this);
    this.byFd.clear();
    this.byTarget.clear();
    this.ready.clear();
  }

  /** True if `other` is this set or is watched by it, directly or through nested sets. */
  reaches(other: EpollInstance): boolean {
    if (other === this) return true;
    for (const target of this.byTarget.keys()) {
      if (target instanceof EpollInstance && target.reaches(other)) return true;
    }
    return false;
  }

  private collect(maxEvents: number): { fd: number; events: number }[] {
    const events: { fd: number; events: number }[] = [];
    const reported: Interest[] = [];
    for (const interest of this.ready) {
      if (events.length >= maxEvents) break;
      const mask = reportable(interest);
      this.ready.delete(interest);
      if (mask === 0) continue;
      events.push({ fd: interest.fd, events: mask });
      reported.push(interest);
    }
    // Level-triggered: still ready next time; to the back of the line for fairness.
    for (const interest of reported) this.ready.add(interest);
    return events;
  }

  private markReady(interest: Interest): void {
    this.ready.add(interest);
    this.changed(); // wakes epoll_wait callers and whoever polls this epoll descriptor
  }

  private forget(interest: Interest): void {
    interest.target.unwatch(this);
    this.byFd.delete(interest.fd);
    this.byTarget.delete(interest.target);
    this.ready.delete(interest);
  }

  private interest(fd: number): Interest {
    const interest = this.byFd.get(fd);
    if (interest === undefined)
      throw new SocketError("ENOENT", "epoll_ctl", `${fd} is not in the set`);
    return interest;
  }
}

/** The events of `interest` that hold now; POLLERR and POLLHUP are reported unasked. */
function reportable(interest: Interest): number {
  return interest.target.readiness() & (interest.events | ALWAYS_REPORTED);
}
