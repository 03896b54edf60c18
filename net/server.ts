/**
 * `net.Server` over our TCP: a listening descriptor of the socket API and one accept
 * loop that turns each established connection into a `net.Socket` (socket.ts).
 *
 * As in Node: `listening` is emitted on the next tick after listen(); a bind that clashes
 * is an `error` event with code EADDRINUSE and syscall "listen" (not a throw); close()
 * stops accepting at once and emits `close` when the last connection has closed;
 * connections beyond `maxConnections` are closed as they arrive (and `drop` says so).
 */
import { EventEmitter } from "node:events";
import { rmSync } from "node:fs";
import type { SocketApi } from "../sockets/api.ts";
import { checkPort, type ListenOptions, normalizeListenArgs } from "./arguments.ts";
import { argumentError, netError, toNetError } from "./errors.ts";
import { isIPv4, isIPv6 } from "./ip.ts";
import type { AddressInfo, NetSocket } from "./socket.ts";
import { familyOf } from "./socket.ts";

/** Node's default backlog (511, as libuv's SOMAXCONN guess). */
const DEFAULT_BACKLOG = 511;

export interface ServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused: nothing is read until `resume()`. */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

/** Makes the host's `Socket` for an accepted descriptor. */
export type AcceptedSocketFactory = (
  fd: number,
  options: ServerOptions & { paused: boolean; unix: boolean },
) => NetSocket;

export class NetServer extends EventEmitter {
  /** Connections beyond this many are closed on arrival (undefined: no limit). */
  maxConnections: number | undefined = undefined;

  #api: SocketApi;
  #makeSocket: AcceptedSocketFactory;
  #options: ServerOptions;
  #fd: number | undefined;
  /** The address listened on: an endpoint, or a Unix-domain socket's path. */
  #address: AddressInfo | string | undefined;
  #connections = new Set<NetSocket>();
  #unix = false;
  #closing = false;

  constructor(
    api: SocketApi,
    makeSocket: AcceptedSocketFactory,
    options: ServerOptions = {},
    listener?: (socket: NetSocket) => void,
  ) {
    super();
    this.#api = api;
    this.#makeSocket = makeSocket;
    this.#options = options;
    if (listener !== undefined) this.on("connection", listener);
  }

  get listening(): boolean {
    return this.#fd !== undefined;
  }

  /** listen([port[, host[, backlog]]][, cb]) or listen(options[, cb]). */
  listen(...args: unknown[]): this {
    const [options, callback] = normalizeListenArgs(args);
    if (this.#fd !== undefined) {
      throw argumentError(
        "Error",
        "ERR_SERVER_ALREADY_LISTEN",
        "Listen method has been called more than once without closing.",
      );
    }
    if (callback !== undefined) this.once("listening", callback);
    this.#closing = false;
    if (options.path !== undefined) {
      this.#openUnix(options.path, options);
      return this;
    }
    const port = options.port === undefined ? 0 : checkPort(options.port, "options.port");
    this.#open(listenAddress(options), port, options);
    return this;
  }

  #open(address: string, port: number, options: ListenOptions): void {
    const api = this.#api;
    if (!isIPv4(address) && !isIPv6(address)) {
      this.#errorSoon(netError("EADDRNOTAVAIL", "listen", { address, port }));
      return;
    }
    let fd: number | undefined;
    try {
      // An IPv6 listener on :: also takes IPv4 clients as ::ffff:a.b.c.d (unless
      // ipv6Only), as Node's does on Linux.
      fd = api.socket(isIPv6(address) ? "inet6" : "inet", "stream");
      if (isIPv6(address) && options.ipv6Only === true) api.setsockopt(fd, "IPV6_V6ONLY", true);
      // Node (libuv) sets SO_REUSEADDR on every listening socket, so a restarted server
      // may bind over its old connections in TIME-WAIT (RFC 9293 §3.6.1).
      api.setsockopt(fd, "SO_REUSEADDR", true);
      api.bind(fd, address, port);
      api.listen(fd, options.backlog ?? DEFAULT_BACKLOG);
      const name = api.getsockname(fd);
      this.#address = { ...name, family: familyOf(name.address) };
    } catch (error) {
      if (fd !== undefined) api.close(fd);
      this.#errorSoon(toNetError(error, "listen", { address, port }));
      return;
    }
    this.#listening(fd, options);
  }

  /** listen({ path }): a Unix-domain stream socket (unix(7)) bound to `path`. */
  #openUnix(path: string, options: ListenOptions): void {
    const api = this.#api;
    let fd: number | undefined;
    try {
      fd = api.socket("unix", "stream");
      api.bind(fd, path);
      api.listen(fd, options.backlog ?? DEFAULT_BACKLOG);
      this.#address = path;
    } catch (error) {
      if (fd !== undefined) api.close(fd);
      this.#errorSoon(toNetError(error, "listen"));
      return;
    }
    this.#unix = true;
    this.#listening(fd, options);
  }

  #listening(fd: number, options: ListenOptions): void {
    this.#fd = fd;
    process.nextTick(() => this.emit("listening"));
    void this.#acceptLoop(fd);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.close();
      else signal.addEventListener("abort", () => this.close(), { once: true });
    }
  }

  async #acceptLoop(fd: number): Promise<void> {
    for (;;) {
      let child: number;
      try {
        child = await this.#api.accept(fd);
      } catch (error) {
        if (this.#fd === fd) this.emit("error", toNetError(error, "accept"));
        return; // closed under the call (EBADF), or a real failure reported
      }
      if (this.#fd !== fd) {
        this.#api.close(child);
        return;
      }
      if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
        this.#drop(child);
        continue;
      }
      const socket = this.#makeSocket(child, {
        ...this.#options,
        paused: this.#options.pauseOnConnect === true,
        unix: this.#unix,
      });
      socket.server = this;
      this.#connections.add(socket);
      socket.once("close", () => {
        this.#connections.delete(socket);
        this.#emitCloseIfDrained();
      });
      this.emit("connection", socket);
    }
  }

  #drop(fd: number): void {
    const local = this.#api.getsockname(fd);
    const peer = this.#api.getpeername(fd);
    this.#api.close(fd);
    this.emit("drop", {
      localAddress: local.address,
      localPort: local.port,
      localFamily: "IPv4",
      remoteAddress: peer.address,
      remotePort: peer.port,
      remoteFamily: "IPv4",
    });
  }

  #errorSoon(error: unknown): void {
    process.nextTick(() => this.emit("error", error));
  }

  /** The listening address (a path for a Unix-domain socket), or null when not listening. */
  address(): AddressInfo | string | null {
    const address = this.#address;
    if (this.#fd === undefined || address === undefined) return null;
    return typeof address === "string" ? address : { ...address };
  }

  /**
   * Stops accepting now (connections not yet accepted are reset, as the kernel does);
   * `close` is emitted once the open connections have all closed.
   */
  close(callback?: (error?: Error) => void): this {
    if (callback !== undefined) {
      if (this.#fd === undefined) {
        this.once("close", () =>
          callback(argumentError("Error", "ERR_SERVER_NOT_RUNNING", "Server is not running.")),
        );
      } else this.once("close", callback);
    }
    const fd = this.#fd;
    this.#fd = undefined;
    this.#closing = true;
    if (fd !== undefined) this.#api.close(fd);
    // A Unix-domain socket's name stays in the file system until unlinked (unix(7));
    // Node removes it when the server closes, and so do we.
    if (fd !== undefined && typeof this.#address === "string")
      rmSync(this.#address, { force: true });
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (!this.#closing || this.#fd !== undefined || this.#connections.size > 0) return;
    this.#closing = false;
    process.nextTick(() => this.emit("close"));
  }

  getConnections(callback: (error: Error | null, count: number) => void): this {
    const count = this.#connections.size;
    process.nextTick(() => callback(null, count));
    return this;
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#fd === undefined) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}

/** Node's default host is "::" (every address); here, until IPv6, 0.0.0.0. */
/**
 * Where to listen: the host given, or without one 0.0.0.0 (Node picks :: when the machine
 * has IPv6; ours stays on IPv4 there so a host started with --no-ipv6 listens as well).
 */
function listenAddress(options: ListenOptions): string {
  const host = options.host;
  if (host === undefined || host === "") return "0.0.0.0";
  return host;
}
