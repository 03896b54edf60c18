/**
 * The shape every sample service shares: a listening TCP socket with one async task per
 * connection, or a bound UDP socket with one loop over datagrams. The services
 * themselves (`echo.ts`, `discard.ts`, `chargen.ts`, `../http/server.ts`) only say what
 * to do with one connection or one datagram.
 *
 * Stopping (SIGINT on the host): stop accepting, then shut down the write side of every
 * open connection (a FIN after what is queued), and after a grace period reset whatever
 * is still open (SO_LINGER 0 and close: an RST, like Linux).
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";

export interface RunningService {
  readonly name: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /** The bound address, as text ("::" on a dual-stack host, "0.0.0.0" on IPv4 only). */
  readonly address: string;
  /** Descriptors of the connections being served now (TCP). */
  readonly connections: ReadonlySet<number>;
  /** Stops accepting and closes connections: FIN first, RST after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServeOptions {
  name: string;
  port: number;
  /**
   * Local address to bind. By default "::" (any, both families: an inet6 socket takes
   * IPv4 clients as ::ffff:a.b.c.d) when the stack has IPv6, else "0.0.0.0".
   */
  address?: string;
  backlog?: number;
}

/** What happens on one accepted connection. It must not close `fd`: the caller does. */
export type ConnectionHandler = (fd: number) => Promise<void>;

/** Listens on a TCP port and runs `handle` as its own async task for each connection. */
export function serveTcp(
  api: SocketApi,
  clock: Clock,
  options: ServeOptions,
  handle: ConnectionHandler,
): RunningService {
  const address = bindAddress(api, options);
  const listenFd = api.socket(familyOf(address), "stream");
  api.setsockopt(listenFd, "SO_REUSEADDR", true);
  api.bind(listenFd, address, options.port);
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
    name: options.name,
    protocol: "tcp",
    port: options.port === 0 ? api.getsockname(listenFd).port : options.port,
    address,
    connections,
    async stop(graceMs = 1000) {
      if (stopped) return;
      stopped = true;
      api.close(listenFd);
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

/** Binds a UDP port and calls `handle` for each datagram, one at a time. */
export function serveUdp(
  api: SocketApi,
  options: ServeOptions,
  handle: (
    fd: number,
    datagram: { data: Uint8Array; address: string; port: number },
  ) => Promise<void>,
): RunningService {
  const address = bindAddress(api, options);
  const fd = api.socket(familyOf(address), "dgram");
  api.bind(fd, address, options.port);
  let stopped = false;
  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        await handle(fd, await api.recvfrom(fd, 65535));
      } catch (error) {
        // EBADF: closed under the waiting recvfrom. ECONNREFUSED etc. are reported once.
        if (stopped || errorCode(error) === "EBADF") return;
      }
    }
  }
  void loop();
  return {
    name: options.name,
    protocol: "udp",
    port: options.port === 0 ? api.getsockname(fd).port : options.port,
    address,
    connections: new Set(),
    async stop() {
      if (stopped) return;
      stopped = true;
      api.close(fd);
    },
  };
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
