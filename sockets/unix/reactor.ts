/**
 * Readiness of kernel descriptors (our Unix-domain sockets), fed into the same
 * `Pollable.changed()` hook the stack's `onChange` calls for TCP and UDP, so blocking
 * calls, poll, select and epoll treat both families alike.
 *
 *   kernel socket ──event──▶ epoll fd (edge-triggered) ──POLLIN──▶ watcher thread
 *        ──Atomics.notify──▶ this thread: epoll_wait(0) ──▶ socket.changed() for each
 *
 * One epoll descriptor for the whole process holds every Unix socket, registered
 * edge-triggered (EPOLLET) for input, output and hang-up: the kernel queues an event
 * each time something new happens (data arrived, buffer space freed, peer closed), so a
 * socket whose data nobody reads yet does not wake us again and again. What the socket
 * *is* ready for is asked of the kernel afresh (`pollNow`), never remembered here.
 *
 * The thread that waits is `device/tun_reader_worker.ts`, the TUN's: it only waits
 * with poll(2) for a descriptor to become readable and wakes this thread, and an epoll
 * descriptor is readable when it has events. Bun's event loop has no way to watch a
 * descriptor it did not open itself; a thread blocked in poll(2) does.
 *
 * The watcher never keeps the process alive (it is unref'd): the stack's device does
 * that for a program on our API. A ref'd worker (or any ref'd handle left running) was
 * seen to stall `setImmediate` under `bun test` (Bun 1.4.5) until the handle's next
 * event, which froze every later test that steps a virtual clock.
 */
import type { Pollable } from "../pollable.ts";
import * as libc from "./libc.ts";

/** The kernel's events we ask for (Linux values; EPOLLRDHUP: the peer shut its writing). */
const EPOLLIN = 0x1;
const EPOLLPRI = 0x2;
const EPOLLOUT = 0x4;
const EPOLLRDHUP = 0x2000;
const INTEREST = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | libc.EPOLLET;
/** Shared flags with the watcher (see tun_reader_worker.ts). */
const READY = 0;
/** Events taken per epoll_wait call. */
const BATCH = 128;
/**
 * After a wake-up, keep looking for events this long after the last one (as the TUN's
 * busy-poll does): a reply usually follows within microseconds, and catching it here
 * saves the two thread hand-offs of a wake-up. Bounded by MAX_BUSY_POLL_MS per wake-up.
 */
const BUSY_POLL_MS = Number(process.env.TSTCP_UNIX_BUSY_POLL_US ?? 50) / 1000;
const MAX_BUSY_POLL_MS = 2;

class KernelReadiness {
  private readonly epfd: number;
  private readonly targets = new Map<number, Pollable>();
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private readonly events = new Uint8Array(BATCH * libc.EPOLL_EVENT_BYTES);
  private readonly fired: number[] = [];

  constructor() {
    this.epfd = libc.epollCreate();
    if (this.epfd < 0) throw new Error(`epoll_create1 failed (errno ${libc.errno()})`);
    this.worker = new Worker(new URL("../../device/tun_reader_worker.ts", import.meta.url).href);
    this.worker.postMessage({ fd: this.epfd, flags: this.flags.buffer });
    this.worker.unref();
    void this.loop();
  }

  /** Starts reporting `fd`'s changes to `target`. */
  register(fd: number, target: Pollable): void {
    if (libc.epollControl(this.epfd, libc.EPOLL_CTL_ADD, fd, INTEREST) < 0) {
      throw new Error(`epoll_ctl(ADD, ${fd}) failed (errno ${libc.errno()})`);
    }
    this.targets.set(fd, target);
  }

  /** Stops reporting `fd` (before it is closed, so a reused number is not confused). */
  unregister(fd: number): void {
    if (!this.targets.delete(fd)) return;
    libc.epollControl(this.epfd, libc.EPOLL_CTL_DEL, fd, 0);
  }

  /** Takes every queued event now; the number taken. */
  private drain(): number {
    const fired = this.fired;
    let total = 0;
    for (;;) {
      fired.length = 0;
      const count = libc.epollDrain(this.epfd, this.events, fired);
      for (const fd of fired) this.targets.get(fd)?.changed();
      total += Math.max(0, count);
      if (count < BATCH) return total;
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      const waited = Atomics.waitAsync(this.flags, READY, 0);
      if (waited.async) await waited.value;
      if (this.drain() > 0 && BUSY_POLL_MS > 0) await this.busyPoll();
      Atomics.store(this.flags, READY, 0);
      Atomics.notify(this.flags, READY);
    }
  }

  /** Drains again between turns of the microtask queue (where the woken calls run). */
  private async busyPoll(): Promise<void> {
    const started = performance.now();
    let until = started + BUSY_POLL_MS;
    for (let now = started; now < until && now - started < MAX_BUSY_POLL_MS; ) {
      await null;
      const taken = this.drain();
      now = performance.now();
      if (taken > 0) until = now + BUSY_POLL_MS;
    }
  }
}

let shared: KernelReadiness | undefined;

/** The process's one reactor, started with the first Unix socket. */
export function kernelReadiness(): KernelReadiness {
  shared ??= new KernelReadiness();
  return shared;
}
