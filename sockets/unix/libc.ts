/**
 * The libc socket calls behind Unix-domain sockets, through `bun:ffi`.
 *
 * Why ffi and not Bun's own `Bun.listen({ unix })` / `Bun.connect({ unix })`: those give
 * stream sockets only, by path only, and push data into a callback. A Unix-domain socket
 * as the BSD API (and unix(7)) has it also needs SOCK_DGRAM, the abstract namespace,
 * socketpair(2), SO_PEERCRED, MSG_PEEK and a receive queue that stays in the kernel until
 * the program reads it (so the sender feels back-pressure as with any socket). ffi gives
 * exactly the kernel's calls; every descriptor is opened non-blocking, and blocking is
 * ours, as for TCP (readiness comes from `reactor.ts`).
 *
 * Every call returns -1 and sets errno on failure; `errno()` (device/libc.ts) reads it.
 */
import { dlopen, FFIType, type Pointer, ptr, read } from "bun:ffi";

export { errno } from "../../device/libc.ts";

const { i32, u32, u64, i64_fast } = FFIType;
const pointer = FFIType.ptr;

const lib = dlopen("libc.so.6", {
  socket: { args: [i32, i32, i32], returns: i32 },
  socketpair: { args: [i32, i32, i32, pointer], returns: i32 },
  bind: { args: [i32, pointer, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  accept4: { args: [i32, pointer, pointer, i32], returns: i32 },
  connect: { args: [i32, pointer, u32], returns: i32 },
  // ssize_t results as `i64_fast`: a plain number, not a BigInt per call.
  sendto: { args: [i32, pointer, u64, i32, pointer, u32], returns: i64_fast },
  recvfrom: { args: [i32, pointer, u64, i32, pointer, pointer], returns: i64_fast },
  shutdown: { args: [i32, i32], returns: i32 },
  getsockname: { args: [i32, pointer, pointer], returns: i32 },
  getpeername: { args: [i32, pointer, pointer], returns: i32 },
  getsockopt: { args: [i32, i32, i32, pointer, pointer], returns: i32 },
  setsockopt: { args: [i32, i32, i32, pointer, u32], returns: i32 },
  poll: { args: [pointer, u64, i32], returns: i32 },
  epoll_create1: { args: [i32], returns: i32 },
  epoll_ctl: { args: [i32, i32, i32, pointer], returns: i32 },
  epoll_wait: { args: [i32, pointer, i32, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
});

/** socket(2) (linux/socket.h, linux/net.h, asm-generic/fcntl.h). */
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
/** send/recv flags (linux/socket.h). */
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
/** Never SIGPIPE: a write to a closed peer is EPIPE, as for our TCP. */
export const MSG_NOSIGNAL = 0x4000;
/** shutdown(2). */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
/** getsockopt levels and names (asm-generic/socket.h). */
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_PEERCRED = 17;
/** epoll_ctl(2). */
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLET = 1 << 31;

/** A buffer for calls that need a pointer but no bytes (a zero-length send). */
const EMPTY = new Uint8Array(1);
const addressOf = (bytes: Uint8Array): Pointer => ptr(bytes.byteLength > 0 ? bytes : EMPTY);

export function socket(type: number): number {
  return lib.symbols.socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/** socketpair(2): the two kernel descriptors, or undefined with errno set. */
export function socketpair(type: number): [number, number] | undefined {
  const fds = new Int32Array(2);
  const result = lib.symbols.socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ptr(fds));
  return result < 0 ? undefined : [fds[0]!, fds[1]!];
}

export function bind(fd: number, address: Uint8Array): number {
  return lib.symbols.bind(fd, ptr(address), address.byteLength);
}

export function listen(fd: number, backlog: number): number {
  return lib.symbols.listen(fd, backlog);
}

/** accept4(2) with no peer address; the new descriptor is non-blocking too. */
export function accept(fd: number): number {
  return lib.symbols.accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

export function connect(fd: number, address: Uint8Array): number {
  return lib.symbols.connect(fd, ptr(address), address.byteLength);
}

/** sendto(2), never blocking; `to` absent sends on a connected socket. */
export function send(fd: number, data: Uint8Array, to?: Uint8Array): number {
  const flags = MSG_DONTWAIT | MSG_NOSIGNAL;
  const length = data.byteLength;
  if (to === undefined)
    return Number(lib.symbols.sendto(fd, addressOf(data), length, flags, null, 0));
  return Number(lib.symbols.sendto(fd, addressOf(data), length, flags, ptr(to), to.byteLength));
}

/**
 * recvfrom(2) into `into`, never blocking. With `from` (a sockaddr_un buffer) and
 * `fromLength` (one u32, set to its size), the sender's address is written there.
 */
export function receive(
  fd: number,
  into: Uint8Array,
  flags: number,
  from?: { address: Uint8Array; length: Uint32Array },
): number {
  const all = flags | MSG_DONTWAIT;
  if (from === undefined) {
    return Number(lib.symbols.recvfrom(fd, addressOf(into), into.byteLength, all, null, null));
  }
  from.length[0] = from.address.byteLength;
  const at = addressOf(into);
  return Number(
    lib.symbols.recvfrom(fd, at, into.byteLength, all, ptr(from.address), ptr(from.length)),
  );
}

export function shutdown(fd: number, how: number): number {
  return lib.symbols.shutdown(fd, how);
}

/** getsockname(2) / getpeername(2) into `address`; the length used, or -1. */
export function socketName(fd: number, which: "local" | "peer", address: Uint8Array): number {
  const length = new Uint32Array([address.byteLength]);
  const call = which === "local" ? lib.symbols.getsockname : lib.symbols.getpeername;
  return call(fd, ptr(address), ptr(length)) < 0 ? -1 : length[0]!;
}

/** getsockopt(2) into `value`; the length the kernel wrote, or -1. */
export function getOption(fd: number, level: number, name: number, value: Uint8Array): number {
  const length = new Uint32Array([value.byteLength]);
  return lib.symbols.getsockopt(fd, level, name, ptr(value), ptr(length)) < 0 ? -1 : length[0]!;
}

export function setOption(fd: number, level: number, name: number, value: Uint8Array): number {
  return lib.symbols.setsockopt(fd, level, name, ptr(value), value.byteLength);
}

/** poll(2) on one descriptor with timeout 0: its readiness bits right now. */
const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
const pollView = new DataView(pollfd.buffer);
const pollPointer = ptr(pollfd);
export function pollNow(fd: number, events: number): number {
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, events, true);
  pollView.setInt16(6, 0, true);
  if (lib.symbols.poll(pollPointer, 1, 0) < 0) return 0;
  return pollView.getUint16(6, true);
}

export function epollCreate(): number {
  return lib.symbols.epoll_create1(SOCK_CLOEXEC);
}

/**
 * struct epoll_event { uint32_t events; epoll_data_t data; }: packed on x86-64 (12
 * bytes, data at 4), naturally aligned elsewhere (16 bytes, data at 8).
 */
export const EPOLL_EVENT_BYTES = process.arch === "x64" ? 12 : 16;
const EPOLL_DATA = process.arch === "x64" ? 4 : 8;

export function epollControl(epfd: number, op: number, fd: number, events: number): number {
  const event = new Uint8Array(EPOLL_EVENT_BYTES);
  const view = new DataView(event.buffer);
  view.setUint32(0, events >>> 0, true);
  view.setInt32(EPOLL_DATA, fd, true);
  return lib.symbols.epoll_ctl(epfd, op, fd, ptr(event));
}

/** epoll_wait(2) with timeout 0 into `events`; the descriptors (our `data`) that fired. */
export function epollDrain(epfd: number, events: Uint8Array, into: number[]): number {
  const base = ptr(events);
  const count = lib.symbols.epoll_wait(epfd, base, events.byteLength / EPOLL_EVENT_BYTES, 0);
  for (let i = 0; i < count; i++) into.push(read.i32(base, i * EPOLL_EVENT_BYTES + EPOLL_DATA));
  return count;
}

export function close(fd: number): number {
  return lib.symbols.close(fd);
}
