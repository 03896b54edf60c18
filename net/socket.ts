/**
 * `net.Socket` over our TCP: a `stream.Duplex` whose bytes go through a descriptor of the
 * BSD-style socket API (sockets/api.ts), so every library written for `node:net` can run
 * over the stack unchanged.
 *
 * Flow control is the stream's own, mapped onto TCP's windows:
 *  - reading: one `recv` at a time, and none while the stream's buffer is above its
 *    high-water mark (the consumer paused or is slow). Unread bytes then stay in the
 *    connection's receive buffer, and the window we advertise shrinks to zero
 *    (RFC 9293 §3.8.6.2.2) until reading resumes: the sender is held back by TCP itself.
 *  - writing: `_write` completes when `send` has queued the chunk in the send buffer;
 *    while that buffer is full, chunks wait in the stream, `write()` returns false once
 *    they pass the high-water mark, and `drain` follows when TCP has made room.
 *
 * Events come in Node's order: `connect`, `ready`; `data`...; `end` at the peer's FIN
 * (then, unless `allowHalfOpen`, our own FIN); `error` (with Node's `code` and `syscall`);
 * `close(hadError)` last.
 *
 * Read next: server.ts (accepting), errors.ts (the error shapes), arguments.ts.
 */
import { lookup as dnsLookup } from "node:dns";
import { Duplex } from "node:stream";
import type { SocketApi } from "../sockets/api.ts";
import { type ConnectOptions, checkPort, normalizeConnectArgs } from "./arguments.ts";
import { abortError, netError, toNetError } from "./errors.ts";
import { IdleTimer } from "./idle_timer.ts";
import { isIPv4, isIPv6 } from "./ip.ts";

/** What one `recv` asks for: enough for a burst of full segments. */
const READ_CHUNK_BYTES = 64 * 1024;

/** Marks the options of a socket made by a server for a connection it accepted. */
export const ACCEPTED_DESCRIPTOR: unique symbol = Symbol("accepted descriptor");

export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (default false: end it too). */
  allowHalfOpen?: boolean;
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Destroys the socket when aborted. */
  signal?: AbortSignal;
  /** Internal: the descriptor of an accepted connection (server.ts). */
  [ACCEPTED_DESCRIPTOR]?: { fd: number; paused: boolean; unix: boolean };
}

/** An endpoint as `address()` gives it. */
export interface AddressInfo {
  address: string;
  family: "IPv4" | "IPv6";
  port: number;
}

type Callback = () => void;

export class NetSocket extends Duplex {
  /** True from `connect()` until the handshake completes or fails. */
  connecting = false;
  /** Bytes delivered to the reader so far. */
  bytesRead = 0;
  /** The server that accepted this connection, if any. */
  server: unknown = undefined;

  #api: SocketApi;
  #fd: number | undefined;
  /** A Unix-domain stream (connect({ path })): no addresses, no TCP options. */
  #unix = false;
  #connected = false;
  /** Work waiting for the handshake: queued writes, the FIN of end(). */
  #afterConnect: Callback[] = [];
  #reading = false;
  #wantRead = false;
  #sentBytes = 0;
  #local: AddressInfo | undefined;
  #peer: AddressInfo | undefined;
  #idle = new IdleTimer(() => this.emit("timeout"));
  /** Options set before there is a descriptor, applied when it exists. */
  #noDelay: boolean | undefined;
  #keepAlive: boolean | undefined;

  constructor(api: SocketApi, options: SocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen === true,
      // Node's net.Socket emits close itself, with hadError (see _destroy).
      emitClose: false,
      autoDestroy: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined
        ? { readableHighWaterMark: options.readableHighWaterMark }
        : {}),
      ...(options.writableHighWaterMark !== undefined
        ? { writableHighWaterMark: options.writableHighWaterMark }
        : {}),
    });
    this.#api = api;
    if (options.noDelay !== undefined) this.#noDelay = options.noDelay;
    if (options.keepAlive !== undefined) this.#keepAlive = options.keepAlive;
    const accepted = options[ACCEPTED_DESCRIPTOR];
    if (accepted !== undefined) {
      this.#fd = accepted.fd;
      this.#unix = accepted.unix;
      this.#applyOptions();
      this.#established();
      // Node starts reading an accepted connection at once, unless pauseOnConnect.
      if (accepted.paused) this.pause();
      else this.read(0);
    }
    const signal = options.signal;
    if (signal !== undefined) {
      const abort = () => this.destroy(abortError(signal.reason));
      if (signal.aborted) queueMicrotask(abort);
      else signal.addEventListener("abort", abort, { once: true });
    }
  }

  /** The descriptor in the socket API (`host.sockets`), e.g. for getsockopt TCP_INFO. */
  get fd(): number | undefined {
    return this.#fd;
  }

  /**
   * connect(options[, cb]) or connect(port[, host][, cb]): opens the connection; `connect`
   * (and `ready`) are emitted once ESTABLISHED (RFC 9293 §3.5), `error` if it fails.
   */
  connect(...args: unknown[]): this {
    const [options, callback] = normalizeConnectArgs(args);
    if (this.#fd !== undefined || this.connecting) {
      throw netError("EISCONN", "connect", undefined, "the socket is already connecting");
    }
    if (callback !== undefined) this.once("connect", callback);
    if (options.path !== undefined) {
      // A Unix-domain socket (unix(7)): the same calls, a path for an address.
      this.connecting = true;
      this.#unix = true;
      this.#open(options.path, undefined, options);
      return this;
    }
    const port = checkPort(options.port, "Port", false);
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.noDelay !== undefined) this.#noDelay = options.noDelay;
    if (options.keepAlive !== undefined) this.#keepAlive = options.keepAlive;
    this.connecting = true;
    const host = options.host ?? "localhost";
    if (isIPv4(host) || isIPv6(host)) this.#open(host, port, options);
    else this.#resolve(host, port, options);
    return this;
  }

  #resolve(host: string, port: number, options: ConnectOptions): void {
    const lookup = options.lookup ?? dnsLookup;
    lookup(host, { family: 4 }, (error, address) => {
      if (this.destroyed) return;
      if (error !== null) this.#fail(error);
      else this.#open(address, port, options);
    });
  }

  /** Opens the descriptor and connects: to `address`:`port`, or to the path `address`. */
  #open(address: string, port: number | undefined, options: ConnectOptions): void {
    const api = this.#api;
    const peer = port === undefined ? undefined : { address, port };
    try {
      const family = this.#unix ? "unix" : isIPv6(address) ? "inet6" : "inet";
      this.#fd = api.socket(family, "stream");
      this.#applyOptions();
      if (!this.#unix && (options.localAddress !== undefined || options.localPort !== undefined)) {
        const any = family === "inet6" ? "::" : "0.0.0.0";
        api.bind(this.#fd, options.localAddress ?? any, options.localPort ?? 0);
      }
    } catch (error) {
      this.#failSoon(toNetError(error, "connect", peer));
      return;
    }
    api.connect(this.#fd, address, port).then(
      () => {
        if (this.destroyed) return;
        this.#established();
        this.emit("connect");
        this.emit("ready");
        // A read asked for before the handshake starts now; else Node's read(0).
        if (this.#wantRead) this.#startReading();
        else if (!this.isPaused()) this.read(0);
      },
      (error) => this.#fail(toNetError(error, "connect", peer)),
    );
  }

  /** The handshake is done: learn the names, run what waited for it. */
  #established(): void {
    const fd = this.#fd!;
    this.connecting = false;
    this.#connected = true;
    // A Unix-domain stream has no addresses to give, as Node's pipes.
    if (!this.#unix) this.#learnNames(fd);
    const waiting = this.#afterConnect;
    this.#afterConnect = [];
    for (const run of waiting) run();
    this.#idle.touch();
  }

  #learnNames(fd: number): void {
    try {
      const local = this.#api.getsockname(fd);
      const peer = this.#api.getpeername(fd);
      this.#local = { ...local, family: familyOf(local.address) };
      this.#peer = { ...peer, family: familyOf(peer.address) };
    } catch {
      // Reset already: the names stay unknown, as in Node after an early reset.
    }
  }

  #whenConnected(run: Callback): void {
    if (this.#connected) run();
    else this.#afterConnect.push(run);
  }

  #fail(error: unknown): void {
    this.connecting = false;
    if (!this.destroyed) this.destroy(error as Error);
  }

  #failSoon(error: unknown): void {
    process.nextTick(() => this.#fail(error));
  }

  #applyOptions(): void {
    const fd = this.#fd;
    if (fd === undefined || this.#unix) return; // TCP options mean nothing on a Unix stream
    if (this.#noDelay !== undefined) this.#api.setsockopt(fd, "TCP_NODELAY", this.#noDelay);
    if (this.#keepAlive !== undefined) this.#api.setsockopt(fd, "SO_KEEPALIVE", this.#keepAlive);
  }

  override _read(): void {
    if (!this.#connected) this.#wantRead = true;
    else this.#startReading();
  }

  #startReading(): void {
    this.#wantRead = false;
    if (this.#reading || this.#fd === undefined) return;
    this.#reading = true;
    void this.#readLoop(this.#fd);
  }

  /** recv until the stream wants no more (push returns false), the end, or an error. */
  async #readLoop(fd: number): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        data = await this.#api.recv(fd, READ_CHUNK_BYTES);
      } catch (error) {
        this.#reading = false;
        if (!this.destroyed) this.destroy(toNetError(error, "read") as Error);
        return;
      }
      if (this.destroyed) return;
      if (data.length === 0) {
        this.#reading = false;
        // The peer's FIN (RFC 9293 §3.10.7.4, eighth step). read(0), as Node does, so
        // `end` comes even to a socket nobody reads, once its buffer is empty.
        this.push(null);
        this.read(0);
        return;
      }
      this.bytesRead += data.length;
      this.#idle.touch();
      const more = this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      if (!more) {
        // Stop reading: our receive buffer fills and the window closes until _read.
        this.#reading = false;
        return;
      }
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void) {
    this.#whenConnected(() => void this.#send(chunk, callback));
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error) => void,
  ): void {
    const joined = Buffer.concat(chunks.map((entry) => entry.chunk));
    this.#whenConnected(() => void this.#send(joined, callback));
  }

  async #send(data: Buffer, callback: (error?: Error) => void): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined || this.destroyed) return callback(netError("EPIPE", "write"));
    try {
      await this.#api.send(fd, data);
    } catch (error) {
      callback(toNetError(error, "write") as Error);
      return;
    }
    this.#sentBytes += data.length;
    this.#idle.touch();
    callback();
  }

  /** end(): after the last write, our FIN (RFC 9293 §3.10.4 CLOSE). */
  override _final(callback: (error?: Error) => void): void {
    this.#whenConnected(() => {
      try {
        if (this.#fd !== undefined) this.#api.shutdown(this.#fd, "write");
      } catch {
        // Already reset or closed: the stream ends all the same, as in Node.
      }
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connecting = false;
    this.#idle.clear();
    const fd = this.#fd;
    if (fd !== undefined) {
      this.#fd = undefined;
      try {
        this.#api.close(fd); // FIN, or RST if unread data is left (RFC 1122 §4.2.2.13)
      } catch {
        // Closed already.
      }
    }
    callback(error);
    // Node emits close once the handle is closed: after error, with hadError.
    setImmediate(() => this.emit("close", error !== null && error !== undefined));
  }

  /** end(), then destroy once everything was written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** Closes with a RST instead of a FIN (SO_LINGER {on, 0}; RFC 9293 §3.10.5 ABORT). */
  resetAndDestroy(): this {
    if (this.#fd !== undefined) {
      this.#api.setsockopt(this.#fd, "SO_LINGER", { onoff: true, linger: 0 });
    }
    this.destroy();
    return this;
  }

  /** Emits `timeout` after `ms` without reads or writes (0 turns it off). */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) {
      if (ms > 0) this.once("timeout", callback);
      else this.removeListener("timeout", callback);
    }
    if (!this.destroyed) this.#idle.set(ms);
    return this;
  }

  /** The idle timeout set with setTimeout, in ms (undefined when none). */
  get timeout(): number | undefined {
    return this.#idle.ms;
  }

  /** TCP_NODELAY: no Nagle (RFC 1122 §4.2.3.4). */
  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    this.#applyOptions();
    return this;
  }

  /**
   * SO_KEEPALIVE (RFC 1122 §4.2.3.6). `initialDelay` is not honoured: the stack's
   * keep-alive idle time is fixed (stack/tcp/timers.ts).
   */
  setKeepAlive(enable = false, _initialDelay?: number): this {
    this.#keepAlive = enable;
    this.#applyOptions();
    return this;
  }

  address(): AddressInfo | Record<string, never> {
    return this.#local === undefined ? {} : { ...this.#local };
  }

  get localAddress(): string | undefined {
    return this.#local?.address;
  }
  get localPort(): number | undefined {
    return this.#local?.port;
  }
  get localFamily(): string | undefined {
    return this.#local?.family;
  }
  get remoteAddress(): string | undefined {
    return this.#peer?.address;
  }
  get remotePort(): number | undefined {
    return this.#peer?.port;
  }
  get remoteFamily(): string | undefined {
    return this.#peer?.family;
  }

  /** Bytes handed to TCP, plus those still waiting in the stream (as Node counts). */
  get bytesWritten(): number {
    return this.#sentBytes + this.writableLength;
  }

  /** True until connected (Node: no handle yet, or connecting). */
  get pending(): boolean {
    return !this.#connected || this.connecting;
  }

  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** The stack is driven by its own timers; a socket holds nothing extra to (un)ref. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** Node's `family` of an address as our sockets name it: text with a colon is IPv6. */
export function familyOf(address: string): "IPv4" | "IPv6" {
  return isIPv6(address) ? "IPv6" : "IPv4";
}
