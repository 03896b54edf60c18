/**
 * The TUN device's watcher thread (see `tun.ts`): it never reads a packet, it only waits
 * for the file descriptor to become readable and wakes the main thread.
 *
 * Why a thread at all: a blocking read in libuv's thread pool cannot be cancelled, so the
 * fd could never be closed cleanly. poll(2) with a 200 ms timeout can: the loop rechecks
 * the stop flag at least that often.
 *
 * Shared flags (Int32Array over a SharedArrayBuffer):
 *   [0] READY: 1 = "the fd is readable, drain it"; the main thread sets it back to 0.
 *   [1] STOP:  1 = "exit the loop".
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

declare const self: Worker;

const READY = 0;
const STOP = 1;
/** poll(2) events (asm-generic/poll.h). */
const POLLIN = 0x1;
const POLL_TIMEOUT_MS = 200;

const libc = dlopen("libc.so.6", {
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
});

self.onmessage = (event: MessageEvent) => {
  const { fd, flags } = event.data as { fd: number; flags: SharedArrayBuffer };
  watch(fd, new Int32Array(flags));
  postMessage("stopped");
};

function watch(fd: number, flags: Int32Array): void {
  // struct pollfd { int fd; short events; short revents; }: 8 bytes.
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  const pollfdPointer = ptr(pollfd);
  while (Atomics.load(flags, STOP) === 0) {
    view.setInt16(6, 0, true);
    const ready = libc.symbols.poll(pollfdPointer, 1, POLL_TIMEOUT_MS);
    if (ready <= 0 || Atomics.load(flags, STOP) !== 0) continue;
    if ((view.getInt16(6, true) & POLLIN) === 0) {
      // POLLERR or POLLHUP without data: nothing to drain; do not spin on it.
      Atomics.wait(flags, STOP, 0, POLL_TIMEOUT_MS);
      continue;
    }
    Atomics.store(flags, READY, 1);
    Atomics.notify(flags, READY);
    // Sleep until the main thread has drained (it stores 0 and notifies); the timeout
    // only bounds how long a stop request can go unnoticed.
    Atomics.wait(flags, READY, 1, POLL_TIMEOUT_MS);
  }
}
