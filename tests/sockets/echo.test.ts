/**
 * The same echo server (RFC 862) written in both concurrency models the socket API
 * supports, each serving several clients at once over the memory link:
 *  - one async task per client, with blocking calls;
 *  - one event loop over non-blocking sockets with epoll (level-triggered).
 */
import { describe, expect, test } from "bun:test";
import type { SocketError } from "../../sockets/errors.ts";
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT } from "../../sockets/poll.ts";
import type { SocketApi } from "../../sockets/socket_api.ts";
import { type SocketHosts, socketHosts } from "../helpers/socket_hosts.ts";

const PORT = 7;
const CLIENTS = 6;

function payload(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 0xff);
}

/** Echo, one task per client: recv until end of stream, send back what came. */
function taskPerClientServer(api: SocketApi): () => void {
  const listenFd = api.socket("inet", "stream");
  api.bind(listenFd, "0.0.0.0", PORT);
  api.listen(listenFd);
  const serve = async (fd: number) => {
    for (let data = await api.recv(fd, 8192); data.length > 0; data = await api.recv(fd, 8192)) {
      await api.send(fd, data);
    }
    api.close(fd);
  };
  void (async () => {
    for (;;) {
      const fd = await api.accept(listenFd).catch(() => undefined);
      if (fd === undefined) return; // the listener was closed
      void serve(fd);
    }
  })();
  return () => api.close(listenFd);
}

/** Echo, one event loop: non-blocking sockets, epoll, a pending-output queue per client. */
function epollServer(api: SocketApi): () => void {
  const listenFd = api.socket("inet", "stream");
  api.bind(listenFd, "0.0.0.0", PORT);
  api.listen(listenFd);
  api.setNonBlocking(listenFd, true);
  const ep = api.epollCreate();
  api.epollCtl(ep, "add", listenFd, EPOLLIN);
  const unsent = new Map<number, Uint8Array>();
  let stopped = false;

  const acceptAll = async () => {
    for (;;) {
      const fd = await api.accept(listenFd).catch((e: SocketError) => {
        if (e.code === "EAGAIN") return undefined;
        throw e;
      });
      if (fd === undefined) return;
      api.setNonBlocking(fd, true);
      api.epollCtl(ep, "add", fd, EPOLLIN);
    }
  };
  const flush = async (fd: number) => {
    const rest = unsent.get(fd);
    if (rest === undefined) return;
    const n = await api
      .send(fd, rest)
      .catch((e: SocketError) => (e.code === "EAGAIN" ? 0 : Promise.reject(e)));
    if (n === rest.length) unsent.delete(fd);
    else unsent.set(fd, rest.subarray(n));
    // Wait for POLLOUT only while output is pending; stop reading until it drains.
    api.epollCtl(ep, "mod", fd, unsent.has(fd) ? EPOLLOUT : EPOLLIN);
  };
  const onClient = async (fd: number, events: number) => {
    if (events & EPOLLOUT) return flush(fd);
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    const data = await api.recv(fd, 8192).catch(() => new Uint8Array(0));
    if (data.length === 0) {
      unsent.delete(fd);
      api.close(fd); // also leaves the epoll set
      return;
    }
    unsent.set(fd, data);
    await flush(fd);
  };
  void (async () => {
    while (!stopped) {
      for (const { fd, events } of await api.epollWait(ep, 64, 50)) {
        if (fd === listenFd) await acceptAll();
        else await onClient(fd, events);
      }
    }
  })();
  return () => {
    stopped = true;
    api.close(listenFd);
  };
}

/** A client: connects, sends `data` in pieces, half-closes, reads everything back. */
async function echoClient(api: SocketApi, data: Uint8Array): Promise<Uint8Array> {
  const fd = api.socket("inet", "stream");
  await api.connect(fd, "10.0.0.1", PORT);
  const reading = (async () => {
    const parts: Uint8Array[] = [];
    for (let part = await api.recv(fd, 5000); part.length > 0; part = await api.recv(fd, 5000))
      parts.push(part);
    return Buffer.concat(parts);
  })();
  for (let i = 0; i < data.length; i += 3000) await api.send(fd, data.subarray(i, i + 3000));
  api.shutdown(fd, "write");
  const echoed = await reading;
  api.close(fd);
  return echoed;
}

async function runClients(hosts: SocketHosts): Promise<void> {
  const inputs = Array.from({ length: CLIENTS }, (_, i) => payload(20_000 + i * 7919, i));
  const outputs = await hosts.run(Promise.all(inputs.map((data) => echoClient(hosts.a.api, data))));
  for (let i = 0; i < CLIENTS; i++) expect(Buffer.compare(outputs[i]!, inputs[i]!)).toBe(0);
}

describe("echo server over the memory link", () => {
  test("one async task per client", async () => {
    const hosts = socketHosts({
      tcp: { sendBufferBytes: 8192, receiveBufferBytes: 8192, maxReceiveBufferBytes: 8192 },
    });
    const stop = taskPerClientServer(hosts.b.api);
    await runClients(hosts);
    stop();
  });

  test("one epoll event loop over non-blocking sockets", async () => {
    const hosts = socketHosts({
      tcp: { sendBufferBytes: 8192, receiveBufferBytes: 8192, maxReceiveBufferBytes: 8192 },
    });
    const stop = epollServer(hosts.b.api);
    await runClients(hosts);
    stop();
    await hosts.advance(100);
    expect(hosts.b.api.openDescriptors).toBe(1); // only the epoll descriptor is left
  });

  test("with loss, duplication and reordering on the link", async () => {
    const faults = { loss: 0.05, duplicate: 0.02, reorder: 0.05, delayMs: 2 };
    const hosts = socketHosts({ seed: 7, faults });
    const stop = epollServer(hosts.b.api);
    await runClients(hosts);
    stop();
  });
});

describe("many connections", () => {
  test("an epoll loop serves 1000 connections; each wait reports only the active ones", async () => {
    const hosts = socketHosts({
      tcp: { sendBufferBytes: 4096, receiveBufferBytes: 4096, maxReceiveBufferBytes: 4096 },
    });
    const { a, b, run } = hosts;
    const COUNT = 1000;
    const server = b.api.socket("inet", "stream");
    b.api.bind(server, "0.0.0.0", PORT);
    b.api.listen(server, COUNT);
    const ep = b.api.epollCreate();
    const clients = await run(
      Promise.all(
        Array.from({ length: COUNT }, async () => {
          const fd = a.api.socket("inet", "stream");
          await a.api.connect(fd, "10.0.0.1", PORT);
          return fd;
        }),
      ),
    );
    await hosts.advance(5); // the handshakes' last ACKs reach B
    b.api.setNonBlocking(server, true);
    const accepted: number[] = [];
    for (;;) {
      const fd = await b.api.accept(server).catch(() => undefined);
      if (fd === undefined) break;
      b.api.epollCtl(ep, "add", fd, EPOLLIN);
      accepted.push(fd);
    }
    expect(accepted.length).toBe(COUNT);
    expect(await b.api.epollWait(ep, COUNT, 0)).toEqual([]);
    // Three clients speak; the wait reports exactly their connections.
    for (const i of [3, 500, 999]) await run(a.api.send(clients[i]!, payload(10, i)));
    await hosts.advance(5);
    const events = await b.api.epollWait(ep, COUNT, 0);
    expect(events.length).toBe(3);
    expect(events.every((e) => e.events === EPOLLIN)).toBe(true);
    for (const fd of clients) a.api.close(fd);
    await hosts.advance(50);
    const hungUp = await b.api.epollWait(ep, COUNT, 0);
    expect(hungUp.length).toBe(COUNT); // every peer's FIN: readable (end of stream)
  });
});
