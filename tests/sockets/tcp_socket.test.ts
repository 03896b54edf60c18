/**
 * Stream socket semantics against a fake TCP layer: the test plays the peer
 * (establish, deliver, reset, FIN) and checks what the program sees: errno, waiting,
 * and the calls the socket layer makes into TCP.
 */
import { describe, expect, test } from "bun:test";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from "../../sockets/poll.ts";
import type { SocketApi } from "../../sockets/socket_api.ts";
import { FAKE_OPTIONS, fakeSocketApi, PEER } from "./fake_stack.ts";

/** Lets every pending promise continuation run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A socket connected to 10.0.0.1:80 through the fake. */
async function connected() {
  const env = fakeSocketApi();
  const fd = env.sockets.socket("inet", "stream");
  const done = env.sockets.connect(fd, "10.0.0.1", 80);
  env.stack.tcp.last.establish();
  await done;
  return { ...env, fd, connection: env.stack.tcp.last };
}

function revents(sockets: SocketApi, fd: number): Promise<number> {
  return sockets
    .poll([{ fd, events: POLLIN | POLLOUT | POLLRDHUP }], 0)
    .then((r) => r[0]?.revents ?? 0);
}

describe("connect", () => {
  test("resolves when ESTABLISHED; the local side is the stack's address and an ephemeral port", async () => {
    const { sockets, stack, kicks } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    let resolved = false;
    const done = sockets.connect(fd, "10.0.0.1", 80).then(() => {
      resolved = true;
    });
    await settle();
    expect(resolved).toBe(false);
    expect(stack.tcp.last.state).toBe("SYN-SENT");
    expect(kicks()).toBeGreaterThan(0);
    stack.tcp.last.establish();
    await done;
    expect(sockets.getpeername(fd)).toEqual({ address: "10.0.0.1", port: 80 });
    const local = sockets.getsockname(fd);
    expect(local.address).toBe("10.0.0.2");
    expect(local.port).toBeGreaterThanOrEqual(49152);
    await expect(sockets.connect(fd, "10.0.0.1", 80)).rejects.toMatchObject({ code: "EISCONN" });
  });

  test("ECONNREFUSED on RST, with a sentence naming the peer", async () => {
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    const done = sockets.connect(fd, "10.0.0.1", 9);
    stack.tcp.last.fail("ECONNREFUSED");
    await expect(done).rejects.toThrow("connect: connection refused by 10.0.0.1:9 (ECONNREFUSED)");
    expect(sockets.getsockopt(fd, "SO_ERROR")).toBe(0); // reported once
  });

  test("after a failed connect, connect tries again from the same port", async () => {
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    const first = sockets.connect(fd, "10.0.0.1", 80);
    stack.tcp.last.fail("ECONNREFUSED");
    await expect(first).rejects.toMatchObject({ code: "ECONNREFUSED" });
    const port = sockets.getsockname(fd).port;
    const second = sockets.connect(fd, "10.0.0.1", 80);
    expect(stack.tcp.connections.length).toBe(2);
    stack.tcp.last.establish();
    await second;
    expect(sockets.getsockname(fd).port).toBe(port);
  });

  test("connect may take an ephemeral port the stack still holds (TIME-WAIT) if the four-tuple is new", async () => {
    const { sockets, stack } = fakeSocketApi();
    for (let port = 49152; port <= 65535; port++) stack.tcp.heldPorts.add(port);
    const fd = sockets.socket("inet", "stream");
    const done = sockets.connect(fd, "10.0.0.1", 80);
    stack.tcp.last.establish();
    await done;
    const bound = sockets.socket("inet", "stream");
    expect(() => sockets.bind(bound, "0.0.0.0", 0)).toThrow("EADDRINUSE"); // bind() may not
  });

  test("ETIMEDOUT when the handshake gives up", async () => {
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    const done = sockets.connect(fd, "10.0.0.1", 9);
    stack.tcp.last.fail("ETIMEDOUT");
    await expect(done).rejects.toMatchObject({ code: "ETIMEDOUT", syscall: "connect" });
  });

  test("non-blocking: EINPROGRESS, EALREADY, POLLOUT on success, then 0, then EISCONN", async () => {
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    sockets.setNonBlocking(fd, true);
    await expect(sockets.connect(fd, "10.0.0.1", 80)).rejects.toMatchObject({
      code: "EINPROGRESS",
    });
    await expect(sockets.connect(fd, "10.0.0.1", 80)).rejects.toMatchObject({ code: "EALREADY" });
    expect(await revents(sockets, fd)).toBe(0);
    const waiting = sockets.poll([{ fd, events: POLLOUT }], -1);
    stack.tcp.last.establish();
    expect(await waiting).toEqual([{ fd, revents: POLLOUT }]);
    expect(sockets.getsockopt(fd, "SO_ERROR")).toBe(0);
    await sockets.connect(fd, "10.0.0.1", 80); // Linux: the completed connect reports 0
    await expect(sockets.connect(fd, "10.0.0.1", 80)).rejects.toMatchObject({ code: "EISCONN" });
  });

  test("non-blocking failure: POLLERR|POLLOUT|POLLHUP, SO_ERROR gives the error once", async () => {
    // RFC 9293 MUST-47: the error is reported (SO_ERROR).
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    sockets.setNonBlocking(fd, true);
    await expect(sockets.connect(fd, "10.0.0.1", 9)).rejects.toMatchObject({ code: "EINPROGRESS" });
    stack.tcp.last.fail("ECONNREFUSED");
    const [result] = await sockets.poll([{ fd, events: POLLOUT }], 0);
    expect(result!.revents).toBe(POLLOUT | POLLERR | POLLHUP);
    expect(sockets.getsockopt(fd, "SO_ERROR")).toBe("ECONNREFUSED");
    expect(sockets.getsockopt(fd, "SO_ERROR")).toBe(0);
    expect((await sockets.poll([{ fd, events: POLLOUT }], 0))[0]!.revents & POLLERR).toBe(0);
  });

  test("a fresh socket is POLLOUT|POLLHUP and has no peer (ENOTCONN)", async () => {
    const { sockets } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    expect(await revents(sockets, fd)).toBe(POLLOUT | POLLHUP);
    expect(() => sockets.getpeername(fd)).toThrow("ENOTCONN");
    await expect(sockets.recv(fd, 1)).rejects.toMatchObject({ code: "ENOTCONN" });
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toMatchObject({ code: "ENOTCONN" });
    expect(() => sockets.shutdown(fd, "write")).toThrow("ENOTCONN");
  });
});

describe("send and recv", () => {
  test("send waits while the send buffer is full and resolves when all is queued", async () => {
    const { sockets, fd, connection } = await connected();
    const data = new Uint8Array(FAKE_OPTIONS.sendBufferBytes + 1000).fill(7);
    let count: number | undefined;
    const sending = sockets.send(fd, data).then((n) => {
      count = n;
    });
    await settle();
    expect(count).toBeUndefined();
    expect(connection.sentBytes.length).toBe(FAKE_OPTIONS.sendBufferBytes);
    connection.acknowledge(4000);
    await sending;
    expect(count).toBe(data.length);
    expect(connection.sentBytes.length).toBe(data.length);
  });

  test("non-blocking send: partial count, then EAGAIN", async () => {
    const { sockets, fd } = await connected();
    sockets.setNonBlocking(fd, true);
    const big = new Uint8Array(FAKE_OPTIONS.sendBufferBytes + 10);
    expect(await sockets.send(fd, big)).toBe(FAKE_OPTIONS.sendBufferBytes);
    await expect(sockets.send(fd, big)).rejects.toMatchObject({ code: "EAGAIN", syscall: "send" });
    expect((await revents(sockets, fd)) & POLLOUT).toBe(0);
  });

  test("recv returns what is there, waits when empty, and 0 bytes at end of stream", async () => {
    const { sockets, fd, connection } = await connected();
    connection.deliver([1, 2, 3, 4, 5]);
    expect([...(await sockets.recv(fd, 3))]).toEqual([1, 2, 3]);
    expect([...(await sockets.recv(fd, 100))]).toEqual([4, 5]);
    const waiting = sockets.recv(fd, 100);
    connection.deliver([6]);
    expect([...(await waiting)]).toEqual([6]);
    const eof = sockets.recv(fd, 100);
    connection.peerFin();
    expect((await eof).length).toBe(0);
    expect((await sockets.recv(fd, 100)).length).toBe(0);
  });

  test("non-blocking recv with nothing there: EAGAIN", async () => {
    const { sockets, fd } = await connected();
    sockets.setNonBlocking(fd, true);
    await expect(sockets.recv(fd, 10)).rejects.toThrow("recv: resource temporarily unavailable");
  });

  test("a reset: data first, then ECONNRESET once, then end of stream; send gives EPIPE", async () => {
    // RFC 9293 MUST-12: an aborted connection is reported to the application.
    const { sockets, fd, connection } = await connected();
    connection.deliver([9]);
    connection.fail("ECONNRESET");
    expect([...(await sockets.recv(fd, 10))]).toEqual([9]);
    await expect(sockets.recv(fd, 10)).rejects.toThrow(
      "recv: connection reset by 10.0.0.1:80 (ECONNRESET)",
    );
    expect((await sockets.recv(fd, 10)).length).toBe(0);
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toMatchObject({ code: "EPIPE" });
  });

  test("a reset reported first by send: ECONNRESET, then EPIPE", async () => {
    const { sockets, fd, connection } = await connected();
    connection.fail("ECONNRESET");
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toMatchObject({ code: "ECONNRESET" });
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toMatchObject({ code: "EPIPE" });
  });
});

describe("shutdown and close", () => {
  test("shutdown(write): FIN via CLOSE, then send is EPIPE; recv still works", async () => {
    const { sockets, fd, connection } = await connected();
    sockets.shutdown(fd, "write");
    expect(connection.closed).toBe(true);
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toThrow("EPIPE");
    connection.deliver([1]);
    expect([...(await sockets.recv(fd, 10))]).toEqual([1]);
  });

  test("send with eof: CLOSE in the same step as the last byte, not before it is queued", async () => {
    const { sockets, fd, connection } = await connected();
    const data = new Uint8Array(FAKE_OPTIONS.sendBufferBytes + 100).fill(5);
    const writing = sockets.send(fd, data, { eof: true });
    await settle();
    // The buffer is full and 100 bytes wait: no FIN yet, or they would be lost.
    expect(connection.closed).toBe(false);
    expect(connection.sentBytes.length).toBe(FAKE_OPTIONS.sendBufferBytes);
    connection.acknowledge(FAKE_OPTIONS.sendBufferBytes);
    expect(await writing).toBe(data.length);
    expect(connection.sentBytes.length).toBe(data.length);
    expect(connection.closed).toBe(true);
    await expect(sockets.send(fd, new Uint8Array(1))).rejects.toThrow("EPIPE");
  });

  test("send with eof that fits: CLOSE before send returns (the FIN joins the data)", async () => {
    const { sockets, fd, connection } = await connected();
    const writing = sockets.send(fd, new Uint8Array([1, 2, 3]), { eof: true });
    expect(connection.closed).toBe(true); // synchronously, before any poll could run
    expect(await writing).toBe(3);
    expect(connection.sentBytes).toEqual([1, 2, 3]);
  });

  test("shutdown(read): recv sees end of stream, TCP is told", async () => {
    const { sockets, fd, connection } = await connected();
    sockets.shutdown(fd, "read");
    expect(connection.readShut).toBe(true);
    expect((await sockets.recv(fd, 10)).length).toBe(0);
    expect(await revents(sockets, fd)).toBe(POLLIN | POLLRDHUP | POLLOUT);
  });

  test("close: graceful CLOSE; with SO_LINGER {on, 0}: ABORT; with unread data: ABORT", async () => {
    // RFC 9293 MAY-1 SHLD-3: close() ends reading; unread data is reported lost with a RST.
    const graceful = await connected();
    graceful.sockets.close(graceful.fd);
    expect(graceful.connection.closed).toBe(true);
    expect(graceful.connection.aborted).toBe(false);

    const lingering = await connected();
    lingering.sockets.setsockopt(lingering.fd, "SO_LINGER", { onoff: true, linger: 0 });
    expect(lingering.sockets.getsockopt(lingering.fd, "SO_LINGER")).toEqual({
      onoff: true,
      linger: 0,
    });
    lingering.sockets.close(lingering.fd);
    expect(lingering.connection.aborted).toBe(true);

    const unread = await connected();
    unread.connection.deliver([1, 2]);
    unread.sockets.close(unread.fd);
    expect(unread.connection.aborted).toBe(true);
  });

  test("close while another task waits in recv or send: EBADF", async () => {
    const { sockets, fd } = await connected();
    const reading = sockets.recv(fd, 10);
    const writing = sockets.send(fd, new Uint8Array(FAKE_OPTIONS.sendBufferBytes * 2));
    await settle();
    sockets.close(fd);
    const [read, write] = await Promise.allSettled([reading, writing]);
    expect(read).toMatchObject({ status: "rejected", reason: { code: "EBADF", syscall: "recv" } });
    expect(write).toMatchObject({ status: "rejected", reason: { code: "EBADF", syscall: "send" } });
  });
});

describe("listen and accept", () => {
  test("accept waits, returns a new descriptor, and the listener keeps listening", async () => {
    const { sockets, stack } = fakeSocketApi();
    const server = sockets.socket("inet", "stream");
    sockets.bind(server, "0.0.0.0", 7);
    sockets.listen(server, 5);
    const listener = stack.tcp.listeners[0]!;
    expect(listener.backlog).toBe(5);
    const first = sockets.accept(server);
    listener.arrive(PEER, 40000);
    const fd = await first;
    expect(fd).toBe(server + 1);
    expect(sockets.getpeername(fd)).toEqual({ address: "10.0.0.1", port: 40000 });
    expect(sockets.getsockname(fd)).toEqual({ address: "10.0.0.2", port: 7 });
    listener.arrive(PEER, 40001);
    expect(await revents(sockets, server)).toBe(POLLIN);
    const second = await sockets.accept(server);
    expect(sockets.getpeername(second).port).toBe(40001);
    expect(await revents(sockets, server)).toBe(0);
  });

  test("non-blocking accept: EAGAIN; listen on a connected socket: EINVAL", async () => {
    const { sockets } = fakeSocketApi();
    const server = sockets.socket("inet", "stream");
    sockets.bind(server, "0.0.0.0", 7);
    sockets.listen(server);
    sockets.setNonBlocking(server, true);
    await expect(sockets.accept(server)).rejects.toMatchObject({
      code: "EAGAIN",
      syscall: "accept",
    });
    const client = await connected();
    expect(() => client.sockets.listen(client.fd)).toThrow("EINVAL");
  });

  test("accepted sockets inherit options; the listener's port stays bound by them", async () => {
    const { sockets, stack } = fakeSocketApi();
    const server = sockets.socket("inet", "stream");
    sockets.setsockopt(server, "TCP_NODELAY", true);
    sockets.bind(server, "0.0.0.0", 7);
    sockets.listen(server);
    stack.tcp.listeners[0]!.arrive(PEER, 40000);
    const fd = await sockets.accept(server);
    expect(sockets.getsockopt(fd, "TCP_NODELAY")).toBe(true);
    sockets.close(server);
    expect(stack.tcp.listeners[0]!.closed).toBe(true);
    const again = sockets.socket("inet", "stream");
    expect(() => sockets.bind(again, "0.0.0.0", 7)).toThrow("EADDRINUSE");
  });

  test("shutdown(read) on a listener stops it: a waiting accept gets EINVAL", async () => {
    const { sockets, stack } = fakeSocketApi();
    const server = sockets.socket("inet", "stream");
    sockets.bind(server, "0.0.0.0", 7);
    sockets.listen(server);
    const waiting = sockets.accept(server);
    await settle();
    sockets.shutdown(server, "read");
    await expect(waiting).rejects.toMatchObject({ code: "EINVAL", syscall: "accept" });
    expect(stack.tcp.listeners[0]!.closed).toBe(true);
  });

  test("closing a listener resets queued connections and fails a waiting accept with EBADF", async () => {
    const { sockets, stack } = fakeSocketApi();
    const server = sockets.socket("inet", "stream");
    sockets.bind(server, "0.0.0.0", 7);
    sockets.listen(server);
    const waiting = sockets.accept(server);
    await settle();
    sockets.close(server);
    await expect(waiting).rejects.toMatchObject({ code: "EBADF" });
    expect(stack.tcp.listeners[0]!.closed).toBe(true);
  });
});

describe("socket options", () => {
  test("options set before connect reach TCP; after connect they apply at once", async () => {
    const { sockets, stack } = fakeSocketApi();
    const fd = sockets.socket("inet", "stream");
    sockets.setsockopt(fd, "SO_RCVBUF", 100000);
    sockets.setsockopt(fd, "SO_KEEPALIVE", true);
    const done = sockets.connect(fd, "10.0.0.1", 80);
    const connection = stack.tcp.last;
    expect(connection.options.receiveBufferBytes).toBe(100000);
    expect(connection.options.keepAlive).toBe(true);
    connection.establish();
    await done;
    sockets.setsockopt(fd, "TCP_NODELAY", true);
    expect(connection.options.noDelay).toBe(true);
    expect(sockets.getsockopt(fd, "SO_SNDBUF")).toBe(FAKE_OPTIONS.sendBufferBytes);
    expect((sockets.getsockopt(fd, "TCP_INFO") as { state: string }).state).toBe("ESTABLISHED");
    expect(sockets.getsockopt(fd, "TCP_CONGESTION")).toBe("cubic");
    sockets.setsockopt(fd, "TCP_CONGESTION", "reno");
    expect(connection.options.congestion).toBe("newreno");
    expect(() => sockets.setsockopt(fd, "TCP_CONGESTION", "bbr")).toThrow("ENOENT");
    expect(() => sockets.setsockopt(fd, "SO_RCVBUF", -1)).toThrow("EINVAL");
    expect(() => sockets.setsockopt(fd, "SO_PRIORITY" as "SO_RCVBUF", 1)).toThrow("ENOPROTOOPT");
    const udp = sockets.socket("inet", "dgram");
    expect(() => sockets.setsockopt(udp, "TCP_NODELAY", true)).toThrow("ENOPROTOOPT");
  });
});
