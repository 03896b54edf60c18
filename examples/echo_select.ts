/**
 * Sample: the echo server of `echo_epoll.ts` as one `select` loop, the way servers were
 * written before poll and epoll: every socket non-blocking, and on each turn the full
 * sets of descriptors to watch are handed to `select`, which returns the ready ones.
 *
 *   read set   the listener and every client       → accept / recv
 *   write set  the clients with bytes still unsent → send the rest
 *
 * select's cost grows with the number of descriptors watched (each is checked on every
 * call), where epoll's grows with the number that are ready: fine for a handful of
 * clients, which is why epoll_wait exists. Any descriptor can be in the sets, so the
 * same loop serves a TCP port and a Unix-domain path (`listeners`).
 */
import type { SocketApi } from "../sockets/api.ts";

export interface SelectEchoServer {
  /** Ends the loop (within one select timeout) and closes every socket. */
  stop(): Promise<void>;
}

/** Echoes on every listening descriptor in `listeners` (TCP or Unix-domain streams). */
export function startSelectEchoServer(api: SocketApi, listeners: number[]): SelectEchoServer {
  for (const fd of listeners) api.setNonBlocking(fd, true);
  /** Bytes received from each client and not yet echoed back. */
  const unsent = new Map<number, Uint8Array>();
  let running = true;

  function closeClient(client: number): void {
    api.close(client);
    unsent.delete(client);
  }

  async function acceptAll(listener: number): Promise<void> {
    for (;;) {
      const client = await api.accept(listener).catch(() => undefined); // EAGAIN: no more
      if (client === undefined) return;
      api.setNonBlocking(client, true);
      unsent.set(client, new Uint8Array(0));
    }
  }

  /** Sends what is pending, as much as fits now (non-blocking: a partial count). */
  async function flush(client: number): Promise<void> {
    const pending = unsent.get(client)!;
    try {
      unsent.set(client, pending.subarray(await api.send(client, pending)));
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") closeClient(client);
    }
  }

  async function readable(client: number): Promise<void> {
    let data: Uint8Array;
    try {
      data = await api.recv(client, 16 * 1024);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") closeClient(client);
      return;
    }
    if (data.length === 0) return closeClient(client); // the client closed
    unsent.set(client, data);
    await flush(client);
  }

  async function loop(): Promise<void> {
    while (running) {
      // A client with bytes still to send waits for writability, not for more input.
      const clients = [...unsent.keys()];
      const writing = clients.filter((fd) => unsent.get(fd)!.length > 0);
      const reading = clients.filter((fd) => unsent.get(fd)!.length === 0);
      const ready = await api.select([...listeners, ...reading], writing, [], 100);
      for (const fd of ready.read) {
        if (listeners.includes(fd)) await acceptAll(fd);
        else if (unsent.has(fd)) await readable(fd);
      }
      for (const fd of ready.write) if (unsent.has(fd)) await flush(fd);
    }
    for (const client of [...unsent.keys()]) closeClient(client);
  }
  const finished = loop();

  return {
    async stop() {
      running = false;
      await finished;
    },
  };
}

// Run on a host of its own: sudo bun examples/echo_select.ts [port] [unix-path]
if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, address }) => {
      const tcp = api.socket("inet", "stream");
      api.setsockopt(tcp, "SO_REUSEADDR", true);
      api.bind(tcp, "0.0.0.0", Number(args[0] ?? 7));
      api.listen(tcp, 16);
      const listeners = [tcp];
      const path = args[1];
      if (path !== undefined) {
        const unix = api.socket("unix", "stream");
        api.bind(unix, path);
        api.listen(unix, 16);
        listeners.push(unix);
      }
      const server = startSelectEchoServer(api, listeners);
      const tries = [`nc ${address} ${api.getsockname(tcp).port}`];
      if (path !== undefined) tries.push(`nc -U ${path}`);
      console.log(`echo server (one select loop): try  ${tries.join("  or  ")}`);
      return async () => {
        await server.stop();
        for (const fd of listeners) api.close(fd);
      };
    }),
  );
}
