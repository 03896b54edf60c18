/**
 * Stream sockets between two whole stacks over the memory link: the real TCP under
 * the socket API, on a virtual clock.
 */
import { describe, expect, test } from "bun:test";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from "../../sockets/poll.ts";
import {
  connectedPair,
  patternBytes,
  type SocketHosts,
  socketHosts,
} from "../helpers/socket_hosts.ts";

const bytes = patternBytes;

/** Reads until end of stream. */
async function readAll(
  hosts: SocketHosts,
  api: SocketHosts["a"]["api"],
  fd: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const part = await hosts.run(api.recv(fd, 65536));
    if (part.length === 0) break;
    parts.push(part);
  }
  return Buffer.concat(parts);
}

describe("TCP over the memory link", () => {
  test("connect / accept / send / recv / close, both directions", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    expect(b.api.getpeername(accepted)).toEqual({
      address: "10.0.0.2",
      port: a.api.getsockname(client).port,
    });
    expect(a.api.getpeername(client)).toEqual({ address: "10.0.0.1", port: 7 });

    const request = bytes(100_000, 1);
    const sending = a.api.send(client, request);
    const received = await run(
      (async () => {
        const parts: Uint8Array[] = [];
        let total = 0;
        while (total < request.length) {
          const part = await b.api.recv(accepted, 65536);
          parts.push(part);
          total += part.length;
        }
        return Buffer.concat(parts);
      })(),
    );
    expect(await sending).toBe(request.length);
    expect(Buffer.compare(received, request)).toBe(0);

    await run(b.api.send(accepted, bytes(5000, 2)));
    b.api.close(accepted);
    const reply = await readAll(hosts, a.api, client);
    expect(Buffer.compare(reply, bytes(5000, 2))).toBe(0);
    a.api.close(client);
    await hosts.advance(100);
    // B closed first (the active closer) and waits in TIME-WAIT; A's side is gone.
    expect([...b.stack.tcp.connections()].map((c) => c.state)).toEqual(["TIME-WAIT"]);
    expect([...a.stack.tcp.connections()]).toEqual([]);
  });

  test("ECONNREFUSED to a port nobody listens on", async () => {
    const { a, run } = socketHosts();
    const fd = a.api.socket("inet", "stream");
    await expect(run(a.api.connect(fd, "10.0.0.1", 9))).rejects.toThrow(
      "connect: connection refused by 10.0.0.1:9 (ECONNREFUSED)",
    );
  });

  test("ENETUNREACH for 0.0.0.0, broadcast and multicast destinations", async () => {
    const { a } = socketHosts();
    for (const address of ["0.0.0.0", "255.255.255.255", "224.0.0.1"]) {
      const fd = a.api.socket("inet", "stream");
      await expect(a.api.connect(fd, address, 80)).rejects.toMatchObject({ code: "ENETUNREACH" });
    }
  });

  test("ETIMEDOUT when nothing answers the SYNs", async () => {
    const { a, run } = socketHosts({ faults: { loss: 1 }, tcp: { synRetries: 2 } });
    const fd = a.api.socket("inet", "stream");
    await expect(run(a.api.connect(fd, "10.0.0.1", 80), 120_000)).rejects.toMatchObject({
      code: "ETIMEDOUT",
    });
  }, 30_000);

  test("non-blocking: connect EINPROGRESS → POLLOUT; recv EAGAIN → POLLIN after data", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const server = b.api.socket("inet", "stream");
    b.api.bind(server, "0.0.0.0", 80);
    b.api.listen(server);
    b.api.setNonBlocking(server, true);
    await expect(b.api.accept(server)).rejects.toMatchObject({ code: "EAGAIN" });
    const fd = a.api.socket("inet", "stream");
    a.api.setNonBlocking(fd, true);
    await expect(a.api.connect(fd, "10.0.0.1", 80)).rejects.toMatchObject({ code: "EINPROGRESS" });
    expect(await run(a.api.poll([{ fd, events: POLLOUT }], 1000))).toEqual([
      { fd, revents: POLLOUT },
    ]);
    expect(a.api.getsockopt(fd, "SO_ERROR")).toBe(0);
    expect(await run(b.api.poll([{ fd: server, events: POLLIN }], 1000))).toEqual([
      { fd: server, revents: POLLIN },
    ]);
    const accepted = await b.api.accept(server);
    await expect(a.api.recv(fd, 100)).rejects.toMatchObject({ code: "EAGAIN" });
    await b.api.send(accepted, bytes(10));
    expect(await run(a.api.poll([{ fd, events: POLLIN }], 1000))).toEqual([
      { fd, revents: POLLIN },
    ]);
    expect((await a.api.recv(fd, 100)).length).toBe(10);
  });

  test("non-blocking connect refused: POLLERR|POLLHUP and SO_ERROR = ECONNREFUSED", async () => {
    const { a, run } = socketHosts();
    const fd = a.api.socket("inet", "stream");
    a.api.setNonBlocking(fd, true);
    await expect(a.api.connect(fd, "10.0.0.1", 81)).rejects.toMatchObject({ code: "EINPROGRESS" });
    const [ready] = await run(a.api.poll([{ fd, events: POLLOUT }], 1000));
    expect(ready!.revents & (POLLERR | POLLHUP | POLLOUT)).toBe(POLLERR | POLLHUP | POLLOUT);
    expect(a.api.getsockopt(fd, "SO_ERROR")).toBe("ECONNREFUSED");
  });

  test("SO_LINGER {on, 0}: close sends RST; the peer's recv gets ECONNRESET, then EPIPE on send", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    const resetsBefore = a.stack.stats.get("tcpOutRsts");
    a.api.setsockopt(client, "SO_LINGER", { onoff: true, linger: 0 });
    a.api.close(client);
    await hosts.advance(5);
    expect(a.stack.stats.get("tcpOutRsts")).toBe(resetsBefore + 1);
    expect([...a.stack.tcp.connections()]).toEqual([]); // no TIME-WAIT after an abort
    const [ready] = await b.api.poll([{ fd: accepted, events: POLLIN }], 0);
    expect(ready!.revents).toBe(POLLIN | POLLERR | POLLHUP);
    await expect(run(b.api.recv(accepted, 10))).rejects.toThrow(
      "recv: connection reset by 10.0.0.2:",
    );
    await expect(run(b.api.send(accepted, bytes(1)))).rejects.toMatchObject({ code: "EPIPE" });
  });

  test("shutdown(write): the peer reads end of stream, the other direction still works; send is EPIPE", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await run(a.api.send(client, bytes(3)));
    a.api.shutdown(client, "write");
    await expect(a.api.send(client, bytes(1))).rejects.toThrow(
      "send: the sending side is shut down (EPIPE)",
    );
    expect((await readAll(hosts, b.api, accepted)).length).toBe(3);
    expect((await b.api.poll([{ fd: accepted, events: POLLIN | POLLRDHUP }], 0))[0]!.revents).toBe(
      POLLIN | POLLRDHUP,
    );
    await run(b.api.send(accepted, bytes(4)));
    b.api.shutdown(accepted, "write");
    expect((await readAll(hosts, a.api, client)).length).toBe(4);
    await hosts.advance(10);
    // FIN both ways: both ends are hung up.
    const [aBits] = await a.api.poll([{ fd: client, events: POLLIN }], 0);
    const [bBits] = await b.api.poll([{ fd: accepted, events: POLLIN }], 0);
    expect(aBits!.revents & POLLHUP).toBe(POLLHUP);
    expect(bBits!.revents & POLLHUP).toBe(POLLHUP);
  });

  test("closing a listener resets connections not yet accepted", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const server = b.api.socket("inet", "stream");
    b.api.bind(server, "0.0.0.0", 7);
    b.api.listen(server);
    const client = a.api.socket("inet", "stream");
    await run(a.api.connect(client, "10.0.0.1", 7));
    b.api.close(server);
    await expect(run(a.api.recv(client, 10))).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  test("SO_REUSEADDR lets a restarted server bind over its TIME-WAIT connection", async () => {
    const hosts = socketHosts();
    const { a, b } = hosts;
    const { server, client, accepted } = await connectedPair(hosts);
    b.api.close(server);
    b.api.close(accepted); // B closes first: its connection ends in TIME-WAIT
    await hosts.advance(5);
    a.api.close(client);
    await hosts.advance(20);
    expect([...b.stack.tcp.connections()].map((c) => c.state)).toEqual(["TIME-WAIT"]);
    const plain = b.api.socket("inet", "stream");
    expect(() => b.api.bind(plain, "0.0.0.0", 7)).toThrow("EADDRINUSE");
    const reusing = b.api.socket("inet", "stream");
    b.api.setsockopt(reusing, "SO_REUSEADDR", true);
    b.api.bind(reusing, "0.0.0.0", 7);
    b.api.listen(reusing);
  });

  test("socket options: accepted sockets inherit the listener's; TCP_INFO and TCP_CONGESTION are live", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const server = b.api.socket("inet", "stream");
    b.api.setsockopt(server, "SO_RCVBUF", 1 << 20);
    b.api.setsockopt(server, "TCP_NODELAY", true);
    b.api.bind(server, "0.0.0.0", 7);
    b.api.listen(server);
    const client = a.api.socket("inet", "stream");
    a.api.setsockopt(client, "TCP_CONGESTION", "reno");
    await run(a.api.connect(client, "10.0.0.1", 7));
    const accepted = await run(b.api.accept(server));
    expect(b.api.getsockopt(accepted, "SO_RCVBUF")).toBe(1 << 20);
    expect(b.api.getsockopt(accepted, "TCP_NODELAY")).toBe(true);
    expect(a.api.getsockopt(client, "TCP_CONGESTION")).toBe("newreno");
    expect(b.api.getsockopt(accepted, "TCP_CONGESTION")).toBe("cubic");
    expect(a.api.getsockopt(client, "TCP_INFO")).toMatchObject({
      state: "ESTABLISHED",
      congestion: "newreno",
    });
    expect(b.api.getsockopt(server, "TCP_INFO")).toEqual({ state: "LISTEN" });
  });

  test("an ephemeral port held by a TIME-WAIT connection is reused only for another peer", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const servers = [7, 8].map((port) => {
      const server = b.api.socket("inet", "stream");
      b.api.bind(server, "0.0.0.0", port);
      b.api.listen(server);
      return server;
    });
    // A closes first, so A's side waits in TIME-WAIT on its ephemeral port.
    const first = a.api.socket("inet", "stream");
    await run(a.api.connect(first, "10.0.0.1", 7));
    const accepted = await run(b.api.accept(servers[0]!));
    const used = a.api.getsockname(first).port;
    a.api.close(first);
    await hosts.advance(5);
    b.api.close(accepted);
    await hosts.advance(50);
    expect([...a.stack.tcp.connections()].map((c) => c.state)).toEqual(["TIME-WAIT"]);
    // A plain bind() to that port is refused; a connect() may pick it again for port 8,
    // never for the same peer and port 7 (the four-tuple would collide).
    const plain = a.api.socket("inet", "stream");
    expect(() => a.api.bind(plain, "0.0.0.0", used)).toThrow("EADDRINUSE");
    const same = a.api.socket("inet", "stream");
    a.api.setsockopt(same, "SO_REUSEADDR", true);
    a.api.bind(same, "0.0.0.0", used);
    await expect(run(a.api.connect(same, "10.0.0.1", 7))).rejects.toMatchObject({
      code: "EADDRNOTAVAIL",
    });
    const other = a.api.socket("inet", "stream");
    a.api.setsockopt(other, "SO_REUSEADDR", true);
    a.api.close(same);
    a.api.bind(other, "0.0.0.0", used);
    await run(a.api.connect(other, "10.0.0.1", 8));
    expect(a.api.getsockname(other).port).toBe(used);
  });

  test("a blocking send larger than the buffers waits for the reader (flow control)", async () => {
    const small = {
      sendBufferBytes: 16384,
      receiveBufferBytes: 16384,
      maxReceiveBufferBytes: 16384,
    };
    const hosts = socketHosts({ tcp: small });
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    const data = bytes(200_000, 3);
    let sent: number | undefined;
    const sending = a.api.send(client, data).then((n) => {
      sent = n;
    });
    await hosts.advance(200);
    expect(sent).toBeUndefined(); // nobody reads: the send buffer and the window are full
    expect(a.api.getsockopt(client, "TCP_INFO")).toMatchObject({ state: "ESTABLISHED" });
    const reading = (async () => {
      const parts: Uint8Array[] = [];
      for (let total = 0; total < data.length; ) {
        const part = await b.api.recv(accepted, 4096);
        parts.push(part);
        total += part.length;
      }
      return Buffer.concat(parts);
    })();
    const received = await run(reading);
    await run(sending);
    expect(sent).toBe(data.length);
    expect(Buffer.compare(received, data)).toBe(0);
  });
});
