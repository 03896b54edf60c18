/**
 * What every descriptor (socket or epoll instance) has in common: a readiness mask and
 * a way to wait for it to change.
 *
 * The stack tells the socket layer that something may have changed through the
 * `onChange` hooks of its connections, listeners and endpoints (called synchronously,
 * inside packet processing). A socket turns that into two things:
 *  - waiters: a blocking call (`recv`, `accept`, ...) that found nothing to do parks a
 *    waiter, and retries when it is woken; `close()` fails the waiters with EBADF.
 *  - watchers: epoll instances that registered interest get the socket put on their
 *    ready list, so `epollWait` never scans every descriptor.
 * Waking only resolves promises; the retry runs later, in a microtask, so no user code
 * ever runs inside the stack's packet processing.
 */
import type { Clock, Timer } from "../stack/clock.ts";
import { SocketError } from "./errors.ts";

export interface Waiter {
  wake(): void;
  /** The descriptor was closed under the waiting call. */
  fail(): void;
}

/** Something that wants to hear about every readiness change of a descriptor (epoll). */
export interface Watcher {
  changedReadiness(target: Pollable): void;
  /** The descriptor was closed: forget it (Linux drops a closed fd from epoll sets). */
  closedDescriptor(target: Pollable): void;
}

export abstract class Pollable {
  /** fcntl(O_NONBLOCK): calls answer EAGAIN instead of waiting. */
  nonBlocking = false;
  /** Set by close(): the descriptor number may already name something else. */
  isClosed = false;
  // Per descriptor, so kept small: an idle connection has one waiter (its pending recv)
  // and usually no watcher, so an array (not a Set) and a Set made on first watch.
  private waiters: Waiter[] = [];
  private watchers: Set<Watcher> | undefined;

  /** The poll(2) readiness bits right now (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP). */
  abstract readiness(): number;

  /** Releases the descriptor's resources; called once, from close(). */
  abstract release(): void;

  /** The hook the stack calls: wake every waiter and tell every watcher. */
  changed(): void {
    if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter.wake();
    }
    if (this.watchers === undefined) return;
    for (const watcher of this.watchers) watcher.changedReadiness(this);
  }

  /** Resolves at the next change; rejects with EBADF if the socket is closed first. */
  nextChange(syscall: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ wake: resolve, fail: () => reject(closedWhileWaiting(syscall)) });
    });
  }

  /** Registers a one-shot waiter by hand (poll(2) waits on several descriptors at once). */
  addWaiter(waiter: Waiter): void {
    if (!this.waiters.includes(waiter)) this.waiters.push(waiter);
  }

  removeWaiter(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at >= 0) this.waiters.splice(at, 1);
  }

  watch(watcher: Watcher): void {
    this.watchers ??= new Set();
    this.watchers.add(watcher);
  }

  unwatch(watcher: Watcher): void {
    this.watchers?.delete(watcher);
  }

  /** The descriptor was closed: every pending call fails as on a closed fd. */
  closed(): void {
    this.isClosed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.fail();
    const watchers = [...(this.watchers ?? [])];
    this.watchers?.clear();
    for (const watcher of watchers) watcher.closedDescriptor(this);
  }

  /**
   * The loop every blocking call runs: try; if it would block, either answer EAGAIN
   * (non-blocking, or `dontWait` for this call: MSG_DONTWAIT) or wait for the next
   * change and try again.
   */
  async retryUntilDone<T>(
    syscall: string,
    attempt: () => T | typeof WOULD_BLOCK,
    dontWait = false,
  ): Promise<T> {
    for (;;) {
      const result = attempt();
      if (result !== WOULD_BLOCK) return result;
      if (this.nonBlocking || dontWait) throw new SocketError("EAGAIN", syscall);
      await this.nextChange(syscall);
    }
  }
}

/** What an attempt returns when the call would have to wait. */
export const WOULD_BLOCK: unique symbol = Symbol("would block");

/** EBADF for a call whose descriptor was closed while it waited, as on a closed fd. */
export function closedWhileWaiting(syscall: string): SocketError {
  return new SocketError("EBADF", syscall, "the descriptor was closed while the call waited");
}

/**
 * Resolves at the first change of any of `targets` (or when one is closed), or at
 * `deadlineMs` on the clock, whichever comes first. poll(2) and epoll_wait(2) wait here.
 */
export function nextChangeAmong(
  targets: readonly Pollable[],
  deadlineMs: number,
  clock: Clock,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: Timer | undefined;
    const finish = () => {
      for (const target of targets) target.removeWaiter(waiter);
      timer?.cancel();
      resolve();
    };
    const waiter: Waiter = { wake: finish, fail: finish };
    for (const target of targets) target.addWaiter(waiter);
    if (deadlineMs !== Number.POSITIVE_INFINITY) timer = clock.at(deadlineMs, finish);
  });
}
