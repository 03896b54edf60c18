/**
 * Sample: the echo server of `echo_server.ts` written as one event loop over epoll, the
 * way nginx or a C server does it: every socket non-blocking, one `epollWait` telling
 * which are ready, and per-client bytes that could not be sent yet kept until the socket
 * is writable again (EPOLLOUT).
 *
 *   listener readable  → accept until EAGAIN, register each client for EPOLLIN
 *   client readable    → recv; echo what fits; keep the rest and wait for EPOLLOUT
 *   client writable    → send the rest; when done, wait for EPOLLIN again
 *   recv gives 0 bytes → the client closed: close ours
 */
import { EPOLLIN, EPOLLOUT, type SocketApi } from "../sockets/api.ts";

export interface EpollEchoServer {
  readonly port: number;
  /** Ends the loop (within one epollWait timeout) and closes every socket. */
  stop(): Promise<void>;
}

export function startEpollEchoServer(api: SocketApi, port: number): EpollEchoServer {
  const listener = api.socket("inet", "stream");
  api.setsockopt(listener, "SO_REUSEADDR", true);
  api.bind(listener, "0.0.0.0", port);
  api.listen(listener, 16);
  api.setNonBlocking(listener, true);
  const epoll = api.epollCreate();
  api.epollCtl(epoll, "add", listener, EPOLLIN);
  /** Bytes received from each client and not yet echoed back. */
  const unsent = new Map<number, Uint8Array>();
  let running = true;

  async function acceptReady(): Promise<void> {
    for (;;) {
      const client = await api.accept(listener).catch(() => undefined); // EAGAIN: no more
      if (client === undefined) return;
      api.setNonBlocking(client, true);
      api.epollCtl(epoll, "add", client, EPOLLIN);
      unsent.set(client, new Uint8Array(0));
    }
  }

  function closeClient(client: number): void {
    api.epollCtl(epoll, "del", client, 0);
    api.close(client);
    unsent.delete(client);
  }

  /** Sends what is pending, as much as fits now; waits for EPOLLOUT if some is left. */
  async function flush(client: number): Promise<void> {
    const pending = unsent.get(client) ?? new Uint8Array(0);
    let sent = 0;
    try {
      sent = await api.send(client, pending); // non-blocking: a partial count
    } catch (error) {
      if (errno(error) !== "EAGAIN") return closeClient(client); // EPIPE, ECONNRESET
    }
    const rest = pending.subarray(sent);
    unsent.set(client, rest);
    api.epollCtl(epoll, "mod", client, rest.length > 0 ? EPOLLOUT : EPOLLIN);
  }

  async function readReady(client: number): Promise<void> {
    let data: Uint8Array;
    try {
      data = await api.recv(client, 16 * 1024);
    } catch (error) {
      if (errno(error) === "EAGAIN") return;
      return closeClient(client); // reset
    }
    if (data.length === 0) return closeClient(client);
    unsent.set(client, data);
    await flush(client);
  }

  async function loop(): Promise<void> {
    while (running) {
      const events = await api.epollWait(epoll, 64, 100);
      for (const { fd, events: ready } of events) {
        if (fd === listener) await acceptReady();
        else if (!unsent.has(fd)) continue;
        else if (ready & EPOLLOUT) await flush(fd);
        else await readReady(fd); // EPOLLIN, or EPOLLHUP/EPOLLERR: recv says which
      }
    }
    for (const client of [...unsent.keys()]) closeClient(client);
    api.close(listener);
    api.close(epoll);
  }
  const finished = loop();

  return {
    port: api.getsockname(listener).port,
    async stop() {
      running = false;
      await finished;
    },
  };
}

function errno(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

// Run on a host of its own: sudo bun examples/echo_epoll.ts [port]; then nc 10.0.0.2 7
if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, address }) => {
      const server = startEpollEchoServer(api, Number(args[0] ?? 7));
      console.log(`echo server (one epoll loop): try  nc ${address} ${server.port}`);
      return server.stop;
    }),
  );
}
