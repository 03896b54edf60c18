/**
 * select(2): the oldest readiness call, as a thin layer over the readiness `poll` uses.
 *
 * Three sets of descriptors (to read, to write, with exceptional conditions) and a
 * timeout; it returns the subset of each that is ready. Which poll bits count for which
 * set is Linux's (fs/select.c):
 *
 *   read    POLLIN | POLLHUP | POLLERR   data, a connection to accept, end of stream, an error
 *   write   POLLOUT | POLLERR            writing will not block, or will fail at once
 *   except  POLLPRI                      urgent data (TCP's out-of-band byte)
 *
 * So, unlike poll, a hang-up alone never ends the wait of a descriptor that is only in
 * the write or except set. Any descriptor may be in the sets: TCP, UDP and Unix
 * sockets, and epoll instances (readable when they have events).
 *
 * Where this differs from select(2): sets are arrays of descriptor numbers (no FD_SETSIZE
 * of 1024), the ready sets are returned rather than written over the arguments, and the
 * timeout is milliseconds on the socket API's clock (virtual in tests): 0 returns at
 * once, null waits forever; a negative timeout is EINVAL, as select(2) answers.
 */
import type { Clock } from "../stack/clock.ts";
import { SocketError } from "./errors.ts";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI } from "./poll_events.ts";
import { nextChangeAmong, type Pollable } from "./pollable.ts";

/** fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET (the RDNORM/WRNORM bits are ours as IN/OUT). */
export const SELECT_READ = POLLIN | POLLHUP | POLLERR;
export const SELECT_WRITE = POLLOUT | POLLERR;
export const SELECT_EXCEPT = POLLPRI;

export interface SelectSets {
  read: number[];
  write: number[];
  except: number[];
}

/** One descriptor of the sets: what it is, and in which sets it was asked for. */
interface Interest {
  readonly fd: number;
  readonly target: Pollable;
  /** The poll bits that make it ready for any of the sets it is in. */
  wanted: number;
}

export async function selectDescriptors(
  sets: Partial<SelectSets>,
  timeoutMs: number | null,
  lookup: (fd: number) => Pollable | undefined,
  clock: Clock,
): Promise<SelectSets> {
  if (timeoutMs !== null && !(timeoutMs >= 0)) {
    throw new SocketError("EINVAL", "select", `timeout ${timeoutMs} ms is negative`);
  }
  const interests = gather(sets, lookup);
  const deadline = timeoutMs === null ? Number.POSITIVE_INFINITY : clock.now() + timeoutMs;
  const targets = interests.map((interest) => interest.target);
  for (;;) {
    for (const { fd, target } of interests) {
      if (target.isClosed)
        throw new SocketError("EBADF", "select", `${fd} was closed during select`);
    }
    const ready = readySets(sets, interests);
    const count = ready.read.length + ready.write.length + ready.except.length;
    if (count > 0 || clock.now() >= deadline) return ready;
    await nextChangeAmong(targets, deadline, clock);
  }
}

/** Every descriptor once, with the bits of all its sets; EBADF for one not open. */
function gather(
  sets: Partial<SelectSets>,
  lookup: (fd: number) => Pollable | undefined,
): Interest[] {
  const byFd = new Map<number, Interest>();
  const add = (fds: readonly number[] | undefined, bits: number) => {
    for (const fd of fds ?? []) {
      const target = lookup(fd);
      if (target === undefined) {
        throw new SocketError("EBADF", "select", `${fd} is not an open descriptor`);
      }
      const interest = byFd.get(fd) ?? { fd, target, wanted: 0 };
      interest.wanted |= bits;
      byFd.set(fd, interest);
    }
  };
  add(sets.read, SELECT_READ);
  add(sets.write, SELECT_WRITE);
  add(sets.except, SELECT_EXCEPT);
  return [...byFd.values()].sort((a, b) => a.fd - b.fd);
}

/** The ready subset of each set, in ascending order (as a loop over FD_ISSET finds them). */
function readySets(sets: Partial<SelectSets>, interests: readonly Interest[]): SelectSets {
  const ready: SelectSets = { read: [], write: [], except: [] };
  const inRead = new Set(sets.read ?? []);
  const inWrite = new Set(sets.write ?? []);
  const inExcept = new Set(sets.except ?? []);
  for (const { fd, target, wanted } of interests) {
    const mask = target.readiness() & wanted;
    if (mask === 0) continue;
    if (inRead.has(fd) && (mask & SELECT_READ) !== 0) ready.read.push(fd);
    if (inWrite.has(fd) && (mask & SELECT_WRITE) !== 0) ready.write.push(fd);
    if (inExcept.has(fd) && (mask & SELECT_EXCEPT) !== 0) ready.except.push(fd);
  }
  return ready;
}
