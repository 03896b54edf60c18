/**
 * Sample: a TCP echo server written the simplest way, one async task per client.
 *
 * `accept()` waits for the next connection; each connection gets its own little loop
 * (`recv` until the client closes, `send` back what came). `await` does what a thread
 * per client does in C, without threads: while one task waits for data, the others run.
 * Flow control comes for free: `send` waits while the send buffer is full, so a client
 * that stops reading slows its own echo down and nobody else's.
 *
 * Compare with `echo_epoll.ts`, the same server as one event loop.
 */
import type { SocketApi } from "../sockets/api.ts";

export interface EchoServer {
  readonly port: number;
  /** Stops accepting; connections still open are closed. */
  stop(): void;
}

export function startEchoServer(api: SocketApi, port: number): EchoServer {
  const listener = api.socket("inet", "stream");
  api.setsockopt(listener, "SO_REUSEADDR", true);
  api.bind(listener, "0.0.0.0", port);
  api.listen(listener, 16);
  const clients = new Set<number>();

  async function serveClient(client: number): Promise<void> {
    try {
      for (;;) {
        const data = await api.recv(client, 16 * 1024);
        if (data.length === 0) break; // end of stream: the client sent FIN
        await api.send(client, data);
      }
    } catch {
      // ECONNRESET and the like: the client is gone.
    } finally {
      if (clients.delete(client)) api.close(client); // our FIN
    }
  }

  (async () => {
    for (;;) {
      const client = await api.accept(listener).catch(() => undefined);
      if (client === undefined) return; // the listener was closed by stop()
      clients.add(client);
      void serveClient(client);
    }
  })();

  return {
    port: api.getsockname(listener).port,
    stop() {
      api.close(listener);
      for (const client of clients) api.close(client);
      clients.clear();
    },
  };
}

// Run on a host of its own: sudo bun examples/echo_server.ts [port]; then nc 10.0.0.2 7
if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, address }) => {
      const server = startEchoServer(api, Number(args[0] ?? 7));
      console.log(`echo server (one task per client): try  nc ${address} ${server.port}`);
      return server.stop;
    }),
  );
}
