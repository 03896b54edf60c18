/**
 * Unix-domain sockets (unix(7)): real kernel AF_UNIX sockets, so any process on the
 * machine (nc -U, socat, Python, a Postgres client) can talk to ours, behind the same
 * descriptor table, blocking rules, readiness and `SocketError`s as our TCP and UDP.
 *
 * The kernel does the protocol: the path or abstract name, the connection, the byte
 * stream or the datagram queue, flow control, the credentials. This class is the BSD
 * behaviour of our API on top, as `tcp_socket.ts` is for TCP:
 *  - the kernel descriptor is always non-blocking; a call that would block waits for
 *    `changed()` (fed by `reactor.ts` from the kernel's epoll events) and tries again,
 *    or answers EAGAIN when our descriptor is non-blocking or MSG_DONTWAIT is given;
 *  - two waits the kernel gives no event for (a connect while the listener's backlog is
 *    full, a datagram to a socket whose queue is full and that we are not connected to)
 *    also retry on a short timer, as a sleeping Linux process would be woken;
 *  - errors are the kernel's own errno (so EPROTOTYPE, ECONNREFUSED, EADDRINUSE for a
 *    stale path, ... are exactly Linux's), with a sentence naming the path;
 *  - readiness is asked of the kernel each time (poll(2), timeout 0), so POLLIN,
 *    POLLOUT, POLLHUP and POLLRDHUP mean what unix_poll/unix_dgram_poll say they mean.
 *
 * Read `address.ts` for names, `reactor.ts` for readiness, `libc.ts` for why ffi.
 */
import { RealClock } from "../../device/real_clock.ts";
import { SocketError } from "../errors.ts";
import { NO_FLAGS, type ReceiveFlags, type SendFlags } from "../message_flags.ts";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP } from "../poll_events.ts";
import { closedWhileWaiting, nextChangeAmong, Pollable, WOULD_BLOCK } from "../pollable.ts";
import { decodeUnixAddress, encodeUnixAddress, SOCKADDR_UN_BYTES } from "./address.ts";
import { EAGAIN, EINTR, unixError } from "./kernel_errors.ts";
import * as libc from "./libc.ts";
import { kernelReadiness } from "./reactor.ts";

export type UnixSocketType = "stream" | "dgram";

/** Linux's SOMAXCONN: listen() clamps larger backlogs to it (as the kernel does). */
const MAX_BACKLOG = 4096;
/** Retry timer for waits without a kernel event: first delay, and the most it grows to. */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 50;
const ALL_EVENTS = POLLIN | POLLPRI | POLLOUT | POLLERR | POLLHUP | POLLRDHUP;
const realClock = new RealClock();

/**
 * Bytes are received here and copied out at their exact size, so a recv asking for
 * 64 KB that gets 10 bytes does not keep 64 KB alive. 256 KB holds the largest datagram
 * at Linux's default buffer sizes (212,960 bytes); a larger request gets its own buffer.
 */
const scratch = new Uint8Array(256 * 1024);
const fromAddress = new Uint8Array(SOCKADDR_UN_BYTES);
const fromLength = new Uint32Array(1);
const from = { address: fromAddress, length: fromLength };

export interface UnixDatagram {
  data: Uint8Array;
  /** The sender's name: a path, "@abstract", or "" for an unnamed socket. */
  address: string;
}

export class UnixSocket extends Pollable {
  /** The kernel's descriptor (not our number for it); -1 once released. */
  private fd: number;

  private constructor(
    readonly type: UnixSocketType,
    fd: number,
  ) {
    super();
    this.fd = fd;
    kernelReadiness().register(fd, this);
  }

  /** socket(AF_UNIX, SOCK_STREAM | SOCK_DGRAM, 0). */
  static open(type: UnixSocketType): UnixSocket {
    const fd = libc.socket(kernelType(type));
    if (fd < 0) throw unixError(libc.errno(), "socket");
    return new UnixSocket(type, fd);
  }

  /** socketpair(AF_UNIX, type, 0): two sockets connected to each other, both unnamed. */
  static pair(type: UnixSocketType): [UnixSocket, UnixSocket] {
    const fds = libc.socketpair(kernelType(type));
    if (fds === undefined) throw unixError(libc.errno(), "socketpair");
    return [new UnixSocket(type, fds[0]), new UnixSocket(type, fds[1])];
  }

  /** bind(): a path (the kernel creates the file), "@name" (abstract), "" (autobind). */
  bind(path: string): void {
    const address = encodeUnixAddress(path, "bind");
    if (libc.bind(this.fd, address) < 0) throw unixError(libc.errno(), "bind", path);
  }

  /** listen(): stream only (a datagram socket is EOPNOTSUPP, the kernel says). */
  listen(backlog: number): void {
    const clamped = Math.max(0, Math.min(MAX_BACKLOG, Math.floor(backlog)));
    if (libc.listen(this.fd, clamped) < 0) throw unixError(libc.errno(), "listen");
  }

  accept(): Promise<UnixSocket> {
    return this.retryUntilDone("accept", () => {
      const fd = libc.accept(this.fd);
      if (fd >= 0) return new UnixSocket(this.type, fd);
      return this.wouldBlockOr(libc.errno(), "accept");
    });
  }

  /**
   * connect(): a stream connects at once or is refused (there is no handshake to wait
   * for); it waits only while the listener's backlog is full (non-blocking: EAGAIN, as
   * Linux). A datagram socket only sets its default peer.
   */
  connect(path: string): Promise<void> {
    const address = encodeUnixAddress(path, "connect");
    return this.retryOnTimer("connect", () => {
      if (libc.connect(this.fd, address) === 0) return undefined;
      return this.wouldBlockOr(libc.errno(), "connect", path);
    });
  }

  /**
   * send(): on a stream, all of `data`, waiting while the kernel's buffer is full
   * (non-blocking: what fits, or EAGAIN); on a datagram socket, one datagram to the
   * connected peer.
   */
  send(data: Uint8Array, flags: SendFlags = NO_FLAGS): Promise<number> {
    if (this.type === "dgram") return this.sendDatagram(data, undefined, "send", flags);
    const nonBlocking = this.nonBlocking || flags.dontWait === true;
    let sent = 0;
    return this.retryUntilDone(
      "send",
      () => {
        do {
          const n = libc.send(this.fd, data.subarray(sent));
          if (n < 0) {
            const errno = libc.errno();
            if (errno === EINTR) continue;
            if (errno === EAGAIN) break;
            if (sent > 0) return sent; // the error comes with the next call
            throw unixError(errno, "send");
          }
          sent += n;
        } while (sent < data.length);
        if (sent === data.length) {
          if (flags.eof === true) this.shutdown(false, true);
          return sent;
        }
        return nonBlocking && sent > 0 ? sent : WOULD_BLOCK;
      },
      flags.dontWait,
    );
  }

  /**
   * sendto(): a datagram to `path`. On a stream socket the kernel answers EISCONN
   * (connected) or EOPNOTSUPP, as Linux does: a stream has no per-call destination.
   */
  sendTo(data: Uint8Array, path: string, flags: SendFlags = NO_FLAGS): Promise<number> {
    return this.sendDatagram(data, path, "sendto", flags);
  }

  /** recv(): up to `maxBytes` (a stream: empty at end of stream; a datagram: cut to fit). */
  async receive(maxBytes: number, flags: ReceiveFlags = NO_FLAGS): Promise<Uint8Array> {
    return (await this.receiveCore(maxBytes, flags, undefined, "recv")).data;
  }

  /** recv() into the caller's buffer: the count. */
  async receiveInto(into: Uint8Array, flags: ReceiveFlags = NO_FLAGS): Promise<number> {
    return (await this.receiveCore(into.length, flags, into, "recv")).data.length;
  }

  /** recvfrom(): with the sender's name ("" when it has none). */
  receiveFrom(maxBytes: number, flags: ReceiveFlags = NO_FLAGS): Promise<UnixDatagram> {
    return this.receiveCore(maxBytes, flags, undefined, "recvfrom");
  }

  shutdown(read: boolean, write: boolean): void {
    const how = read && write ? libc.SHUT_RDWR : read ? libc.SHUT_RD : libc.SHUT_WR;
    if (libc.shutdown(this.fd, how) < 0) throw unixError(libc.errno(), "shutdown");
  }

  /** getsockname(): our name ("" if unnamed). */
  localName(): string {
    return this.name("local", "getsockname");
  }

  /** getpeername(): the peer's name ("" if it has none); ENOTCONN without a peer. */
  peerName(): string {
    return this.name("peer", "getpeername");
  }

  /** The kernel descriptor, for the socket options (`options.ts`). */
  get kernelFd(): number {
    return this.fd;
  }

  readiness(): number {
    if (this.fd < 0) return 0;
    return libc.pollNow(this.fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP) & ALL_EVENTS;
  }

  /** close(): the kernel closes the socket; a bound path stays (unix(7): unlink it). */
  release(): void {
    if (this.fd < 0) return;
    kernelReadiness().unregister(this.fd);
    libc.close(this.fd);
    this.fd = -1;
  }

  private sendDatagram(
    data: Uint8Array,
    path: string | undefined,
    syscall: string,
    flags: SendFlags,
  ): Promise<number> {
    const to = path === undefined ? undefined : encodeUnixAddress(path, syscall);
    return this.retryOnTimer(
      syscall,
      () => {
        const n = libc.send(this.fd, data, to);
        if (n >= 0) return n;
        return this.wouldBlockOr(libc.errno(), syscall, path);
      },
      flags.dontWait,
    );
  }

  /**
   * Every form of recv. With `waitAll` (MSG_WAITALL, a blocking stream read) it gathers
   * until `maxBytes` have come, returning fewer only at end of stream or on an error.
   */
  private receiveCore(
    maxBytes: number,
    flags: ReceiveFlags,
    target: Uint8Array | undefined,
    syscall: string,
  ): Promise<UnixDatagram> {
    const nonBlocking = this.nonBlocking || flags.dontWait === true;
    const waitAll =
      flags.waitAll === true && flags.peek !== true && !nonBlocking && this.type === "stream";
    // A gathering read keeps its bytes across waits, so it cannot use the shared scratch.
    const buffer =
      target ?? (waitAll || maxBytes > scratch.length ? new Uint8Array(maxBytes) : scratch);
    const kernelFlags = flags.peek === true ? libc.MSG_PEEK : 0;
    let got = 0;
    let address = "";
    const done = (): UnixDatagram => ({
      data: buffer === target ? target.subarray(0, got) : buffer.slice(0, got),
      address,
    });
    return this.retryUntilDone(
      syscall,
      () => {
        for (;;) {
          const n = libc.receive(this.fd, buffer.subarray(got, maxBytes), kernelFlags, from);
          if (n < 0) {
            const errno = libc.errno();
            if (errno === EINTR) continue;
            if (got > 0 && errno !== EAGAIN) return done(); // the error waits for the next call
            return this.wouldBlockOr(errno, syscall);
          }
          if (got === 0) address = decodeUnixAddress(fromAddress, fromLength[0]!);
          got += n;
          if (!waitAll || n === 0 || got >= maxBytes) return done();
        }
      },
      flags.dontWait,
    );
  }

  /** EAGAIN means "wait"; anything else is the call's error. */
  private wouldBlockOr(errno: number, syscall: string, path?: string): typeof WOULD_BLOCK {
    if (errno === EAGAIN || errno === EINTR) return WOULD_BLOCK;
    throw unixError(errno, syscall, path);
  }

  /**
   * `retryUntilDone` for the waits the kernel sends no event for: it also tries again
   * on a timer (1 ms, doubling to 50 ms), on the real clock, as these are kernel queues.
   */
  private async retryOnTimer<T>(
    syscall: string,
    attempt: () => T | typeof WOULD_BLOCK,
    dontWait = false,
  ): Promise<T> {
    let delayMs = FIRST_RETRY_MS;
    for (;;) {
      const result = attempt();
      if (result !== WOULD_BLOCK) return result;
      if (this.nonBlocking || dontWait) throw new SocketError("EAGAIN", syscall);
      await nextChangeAmong([this], realClock.now() + delayMs, realClock);
      if (this.isClosed) throw closedWhileWaiting(syscall);
      delayMs = Math.min(MAX_RETRY_MS, delayMs * 2);
    }
  }

  private name(which: "local" | "peer", syscall: string): string {
    const length = libc.socketName(this.fd, which, fromAddress);
    if (length < 0) throw unixError(libc.errno(), syscall);
    return decodeUnixAddress(fromAddress, length);
  }
}

function kernelType(type: UnixSocketType): number {
  if (type === "stream") return libc.SOCK_STREAM;
  if (type === "dgram") return libc.SOCK_DGRAM;
  throw new SocketError("EINVAL", "socket", `unknown socket type ${String(type)}`);
}
