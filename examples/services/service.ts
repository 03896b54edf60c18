/**
 * The shape every sample service shares: a listening stream socket with one async task
 * per connection, or a bound datagram socket with one loop over datagrams. The services
 * themselves (`echo.ts`, `discard.ts`, `chargen.ts`, `../http/server.ts`) only say what
 * to do with one connection or one datagram.
 *
 * The family is a parameter: a port serves TCP or UDP on the stack, a `path` serves a
 * Unix-domain stream or datagram socket (sockets/unix/) with the same handler.
 *
 * Stopping (SIGINT on the host): stop accepting, then shut down the write side of every
 * open connection (a FIN after what is queued), and after a grace period reset whatever
 * is still open (SO_LINGER 0 and close: an RST, like Linux).
 */

import { unlinkSync } from "node:fs";
import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";

export interface RunningService {
  readonly name: string;
  readonly protocol: "tcp" | "udp" | "unix" | "unixgram";
  /** The port (0 for a Unix-domain service). */
  readonly port: number;
  /** The bound address, as text ("::" on a dual-stack host, "0.0.0.0" on IPv4 only). */
  readonly address?: string;
  /** The Unix-domain path, for a service on one. */
  readonly path?: string;
  /** Descriptors of the connections being served now (TCP). */
  readonly connections: ReadonlySet<number>;
  /** Stops accepting and closes connections: FIN first, RST after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServeOptions {
  name: string;
  /** The TCP or UDP port (0: an ephemeral one); not used with `path`. */
  port?: number;
  /**
   * Local address to bind. By default "::" (any, both families: an inet6 socket takes
   * IPv4 clients as ::ffff:a.b.c.d) when the stack has IPv6, else "0.0.0.0".
   */
  address?: string;
  /** A Unix-domain path (or "@abstract") instead of an address and port. */
  path?: string;
  backlog?: number;
}

/** What happens on one accepted connection. It must not close `fd`: the caller does. */
export type ConnectionHandler = (fd: number) => Promise<void>;

/**
 * Listens on a TCP port (or a Unix-domain `path`) and runs `handle` as its own async
 * task for each connection.
 */
export function serveStream(
  api: SocketApi,
  clock: Clock,
  options: ServeOptions,
  handle: ConnectionHandler,
): RunningService {
  const listenFd = bindService(api, "stream", options);
  // A device read hands the stack up to 256 packets at once, and every handshake they
  // complete joins the accept queue before this task runs again: a backlog of 128 overflowed
  // under a burst of connects (tcpListenOverflows in `bun run bench`). 1024 is within
  // Linux's SOMAXCONN (4096) and above nginx's 511.
  api.listen(listenFd, options.backlog ?? 1024);
  const connections = new Set<number>();
  let stopped = false;

  async function serve(fd: number): Promise<void> {
    try {
      await handle(fd);
    } catch {
      // The peer reset or the host is stopping: nothing to tell anyone.
    } finally {
      // Once stopping, stop() closes every connection itself: a plain close here would
      // leave unsent data and the FIN to a stack about to disappear.
      if (!stopped && connections.delete(fd)) api.close(fd);
    }
  }

  async function acceptLoop(): Promise<void> {
    while (!stopped) {
      let fd: number;
      try {
        fd = await api.accept(listenFd);
      } catch (error) {
        // ECONNABORTED: a connection was reset while it waited in the queue; try again.
        // Anything else (EBADF once stopped) ends the loop rather than spinning on it.
        if (!stopped && errorCode(error) === "ECONNABORTED") continue;
        return;
      }
      connections.add(fd);
      void serve(fd);
    }
  }
  void acceptLoop();

  return {
    ...where(api, listenFd, "stream", options),
    connections,
    async stop(graceMs = 1000) {
      if (stopped) return;
      stopped = true;
      api.close(listenFd);
      unlinkQuietly(options.path);
      for (const fd of connections) shutdownQuietly(api, fd);
      // Wait until every connection has closed both ways, or the grace period is over.
      const deadline = clock.now() + graceMs;
      while (clock.now() < deadline && [...connections].some((fd) => !fullyClosed(api, fd))) {
        await sleep(clock, Math.min(STOP_POLL_MS, deadline - clock.now()));
      }
      for (const fd of [...connections]) {
        connections.delete(fd);
        if (fullyClosed(api, fd)) api.close(fd);
        else resetQuietly(api, fd);
      }
    },
  };
}

/**
 * Binds a UDP port (or a Unix-domain `path`) and calls `handle` for each datagram, one
 * at a time. A reply goes to the datagram's `address` and `port` (a path and 0 for Unix).
 */
export function serveDatagram(
  api: SocketApi,
  options: ServeOptions,
  handle: (
    fd: number,
    datagram: { data: Uint8Array; address: string; port: number },
  ) => Promise<void>,
): RunningService {
  const fd = bindService(api, "dgram", options);
  // UDP carries at most 65,507 bytes; a Unix datagram as much as the sender's SO_SNDBUF
  // allows (212,960 bytes at Linux's defaults).
  const maxBytes = options.path === undefined ? 65535 : UNIX_DATAGRAM_BYTES;
  let stopped = false;
  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        await handle(fd, await api.recvfrom(fd, maxBytes));
      } catch (error) {
        // EBADF: closed under the waiting recvfrom. ECONNREFUSED etc. are reported once.
        if (stopped || errorCode(error) === "EBADF") return;
      }
    }
  }
  void loop();
  return {
    ...where(api, fd, "dgram", options),
    connections: new Set(),
    async stop() {
      if (stopped) return;
      stopped = true;
      api.close(fd);
      unlinkQuietly(options.path);
    },
  };
}

/** The largest Unix datagram a service reads (above Linux's default limit). */
const UNIX_DATAGRAM_BYTES = 256 * 1024;

/** A bound socket of the service's family (a Unix path must not exist: `clearStalePath`). */
function bindService(api: SocketApi, type: "stream" | "dgram", options: ServeOptions): number {
  const address = bindAddress(api, options);
  const fd = api.socket(options.path === undefined ? familyOf(address) : "unix", type);
  try {
    if (options.path !== undefined) api.bind(fd, options.path);
    else {
      if (type === "stream") api.setsockopt(fd, "SO_REUSEADDR", true);
      api.bind(fd, address, options.port ?? 0);
    }
  } catch (error) {
    api.close(fd);
    throw error;
  }
  return fd;
}

/**
 * A Unix path left behind by a server that died stays EADDRINUSE until it is unlinked
 * (unix(7)). As servers do, this removes `path` if it is a socket nobody answers on
 * (connect is refused), and leaves a live one alone (its bind will then fail).
 */
export async function clearStalePath(
  api: SocketApi,
  path: string,
  type: "stream" | "dgram",
): Promise<void> {
  if (path.startsWith("@")) return; // abstract names vanish with their socket
  const probe = api.socket("unix", type);
  try {
    await api.connect(probe, path);
  } catch (error) {
    if (errorCode(error) === "ECONNREFUSED") unlinkQuietly(path);
  } finally {
    api.close(probe);
  }
}

function where(
  api: SocketApi,
  fd: number,
  type: "stream" | "dgram",
  options: ServeOptions,
): Pick<RunningService, "name" | "protocol" | "port" | "path" | "address"> {
  if (options.path !== undefined) {
    const protocol = type === "stream" ? "unix" : "unixgram";
    return { name: options.name, protocol, port: 0, path: options.path };
  }
  const port = options.port === 0 ? api.getsockname(fd).port : (options.port ?? 0);
  const protocol = type === "stream" ? "tcp" : "udp";
  return { name: options.name, protocol, port, address: bindAddress(api, options) };
}

function unlinkQuietly(path: string | undefined): void {
  if (path === undefined || path.startsWith("@")) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** How often stop() looks at the connections during the grace period. */
const STOP_POLL_MS = 20;

/**
 * True once both sides have closed and our FIN is acknowledged (TIME-WAIT, or gone):
 * closing then loses nothing. RFC 9293 §3.6.
 */
function fullyClosed(api: SocketApi, fd: number): boolean {
  try {
    const state = (api.getsockopt(fd, "TCP_INFO") as { state?: string }).state;
    return state === "TIME-WAIT" || state === "CLOSED";
  } catch {
    return true; // already reset, or not a connection any more
  }
}

/** A promise resolved after `ms` on the host's clock (virtual in tests). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.at(clock.now() + ms, resolve));
}

/** The errno of a SocketError, or undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String(error.code)
    : undefined;
}

function shutdownQuietly(api: SocketApi, fd: number): void {
  try {
    api.shutdown(fd, "write");
  } catch {
    // Already shut or reset: nothing to do.
  }
}

function resetQuietly(api: SocketApi, fd: number): void {
  try {
    api.setsockopt(fd, "SO_LINGER", { onoff: true, linger: 0 });
  } catch {
    // Already reset by the peer: a plain close is all that is left to do.
  }
  api.close(fd);
}

/** The address a service binds: as asked, else every address of every family the stack has. */
function bindAddress(api: SocketApi, options: ServeOptions): string {
  return options.address ?? (api.hasIpv6 ? "::" : "0.0.0.0");
}

/** An IPv6 address (it has a colon) needs an inet6 socket. */
function familyOf(address: string): "inet" | "inet6" {
  return address.includes(":") ? "inet6" : "inet";
}
