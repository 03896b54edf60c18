/**
 * poll and epoll readiness against the fake TCP layer: each transition of a connection
 * (data, FIN, our shutdown, reset) shows up as the poll bits Linux gives, and waits wake
 * at the change or at the timeout on the virtual clock.
 */
import { describe, expect, test } from "bun:test";
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDHUP } from "../../sockets/poll.ts";
import { FAKE_OPTIONS, type FakeSocketEnv, fakeSocketApi, PEER } from "./fake_stack.ts";

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const ALL = POLLIN | POLLOUT | POLLRDHUP;

async function connectedPair(env: FakeSocketEnv) {
  const fd = env.sockets.socket("inet", "stream");
  const done = env.sockets.connect(fd, "10.0.0.1", 80);
  const connection = env.stack.tcp.last;
  connection.establish();
  await done;
  return { fd, connection };
}

describe("poll", () => {
  test("transitions: writable → readable → peer FIN → both closed (POLLHUP)", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    const bits = async () => (await env.sockets.poll([{ fd, events: ALL }], 0))[0]?.revents ?? 0;
    expect(await bits()).toBe(POLLOUT);
    connection.deliver([1]);
    expect(await bits()).toBe(POLLIN | POLLOUT);
    connection.peerFin();
    expect(await bits()).toBe(POLLIN | POLLOUT | POLLRDHUP);
    env.sockets.shutdown(fd, "write");
    expect(await bits()).toBe(POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  });

  test("reset: POLLERR until the error is read, POLLHUP, POLLIN (recv will not block)", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    connection.fail("ECONNRESET");
    const [first] = await env.sockets.poll([{ fd, events: POLLIN }], 0);
    expect(first!.revents).toBe(POLLIN | POLLERR | POLLHUP); // ERR and HUP come unasked
    await expect(env.sockets.recv(fd, 1)).rejects.toMatchObject({ code: "ECONNRESET" });
    const [after] = await env.sockets.poll([{ fd, events: POLLIN }], 0);
    expect(after!.revents).toBe(POLLIN | POLLHUP);
  });

  test("waits for the first change among several descriptors", async () => {
    const env = fakeSocketApi();
    const a = await connectedPair(env);
    const b = await connectedPair(env);
    const waiting = env.sockets.poll(
      [
        { fd: a.fd, events: POLLIN },
        { fd: b.fd, events: POLLIN },
      ],
      -1,
    );
    await settle();
    b.connection.deliver([1, 2]);
    expect(await waiting).toEqual([{ fd: b.fd, revents: POLLIN }]);
  });

  test("timeout on the driver's clock: 0 returns at once, N waits N virtual ms", async () => {
    const env = fakeSocketApi();
    const { fd } = await connectedPair(env);
    expect(await env.sockets.poll([{ fd, events: POLLIN }], 0)).toEqual([]);
    let result: unknown;
    const waiting = env.sockets.poll([{ fd, events: POLLIN }], 500).then((r) => {
      result = r;
    });
    env.clock.advance(499);
    await settle();
    expect(result).toBeUndefined();
    env.clock.advance(1);
    await waiting;
    expect(result).toEqual([]);
  });

  test("a closed descriptor is POLLNVAL, also when closed during the wait; negative fds are ignored", async () => {
    const env = fakeSocketApi();
    const { fd } = await connectedPair(env);
    const waiting = env.sockets.poll(
      [
        { fd, events: POLLIN },
        { fd: -1, events: POLLIN },
      ],
      -1,
    );
    await settle();
    env.sockets.close(fd);
    expect(await waiting).toEqual([{ fd, revents: POLLNVAL }]);
  });

  test("a listener is POLLIN when accept will not block", async () => {
    const env = fakeSocketApi();
    const server = env.sockets.socket("inet", "stream");
    env.sockets.bind(server, "0.0.0.0", 7);
    env.sockets.listen(server);
    const waiting = env.sockets.poll([{ fd: server, events: POLLIN }], 1000);
    env.stack.tcp.listeners[0]!.arrive(PEER, 50000);
    expect(await waiting).toEqual([{ fd: server, revents: POLLIN }]);
  });

  test("POLLOUT comes back only when a third of the send buffer is free (low-water mark)", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    env.sockets.setNonBlocking(fd, true);
    await env.sockets.send(fd, new Uint8Array(FAKE_OPTIONS.sendBufferBytes));
    const bits = async () =>
      (await env.sockets.poll([{ fd, events: POLLOUT }], 0))[0]?.revents ?? 0;
    expect(await bits()).toBe(0);
    connection.acknowledge(100); // a little space: a write would not block, but too little to wake
    expect(await bits()).toBe(0);
    connection.acknowledge(Math.ceil(FAKE_OPTIONS.sendBufferBytes / 3));
    expect(await bits()).toBe(POLLOUT);
  });
});

describe("epoll", () => {
  test("level-triggered: a ready descriptor is reported until it is drained", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    const ep = env.sockets.epollCreate();
    env.sockets.epollCtl(ep, "add", fd, POLLIN);
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([]);
    connection.deliver([1, 2, 3]);
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([{ fd, events: POLLIN }]);
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([{ fd, events: POLLIN }]);
    await env.sockets.recv(fd, 10);
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([]);
  });

  test("waits for a change or the timeout; mod changes the events; del and close remove", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    const ep = env.sockets.epollCreate();
    env.sockets.epollCtl(ep, "add", fd, POLLIN);
    const waiting = env.sockets.epollWait(ep, 10, -1);
    await settle();
    connection.peerFin();
    expect(await waiting).toEqual([{ fd, events: POLLIN }]);
    env.sockets.epollCtl(ep, "mod", fd, POLLIN | POLLRDHUP | POLLOUT);
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([
      { fd, events: POLLIN | POLLOUT | POLLRDHUP },
    ]);
    expect(() => env.sockets.epollCtl(ep, "add", fd, POLLIN)).toThrow("EEXIST");
    env.sockets.epollCtl(ep, "del", fd, 0);
    expect(() => env.sockets.epollCtl(ep, "del", fd, 0)).toThrow("ENOENT");
    expect(await env.sockets.epollWait(ep, 10, 0)).toEqual([]);
    env.sockets.epollCtl(ep, "add", fd, POLLIN);
    env.sockets.close(fd); // Linux drops a closed descriptor from the set
    expect(() => env.sockets.epollCtl(ep, "del", fd, 0)).toThrow("ENOENT");
    let timedOut = false;
    const idle = env.sockets.epollWait(ep, 10, 1000).then((r) => {
      timedOut = r.length === 0;
    });
    env.clock.advance(1000);
    await idle;
    expect(timedOut).toBe(true);
  });

  test("thousands of idle descriptors: a wait reports only the ones that changed, fairly", async () => {
    const env = fakeSocketApi();
    const ep = env.sockets.epollCreate();
    const pairs = [];
    for (let i = 0; i < 3000; i++) {
      const pair = await connectedPair(env);
      env.sockets.epollCtl(ep, "add", pair.fd, POLLIN);
      pairs.push(pair);
    }
    expect(await env.sockets.epollWait(ep, 64, 0)).toEqual([]);
    const busy = [pairs[5]!, pairs[1500]!, pairs[2999]!];
    for (const p of busy) p.connection.deliver([1]);
    const first = await env.sockets.epollWait(ep, 2, 0);
    expect(first.length).toBe(2);
    const second = await env.sockets.epollWait(ep, 2, 0);
    // The one not reported first is reported next (reported ones go to the back).
    const seen = new Set([...first, ...second].map((e) => e.fd));
    expect(seen).toEqual(new Set(busy.map((p) => p.fd)));
  });

  test("closing the epoll descriptor fails a waiting epollWait with EBADF", async () => {
    const env = fakeSocketApi();
    const ep = env.sockets.epollCreate();
    const waiting = env.sockets.epollWait(ep, 1, -1);
    await settle();
    env.sockets.close(ep);
    await expect(waiting).rejects.toMatchObject({ code: "EBADF" });
  });

  test("nested epoll sets: an inner set's readiness reaches the outer one; loops are ELOOP", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    const inner = env.sockets.epollCreate();
    const outer = env.sockets.epollCreate();
    env.sockets.epollCtl(inner, "add", fd, POLLIN);
    env.sockets.epollCtl(outer, "add", inner, POLLIN);
    expect(() => env.sockets.epollCtl(inner, "add", outer, POLLIN)).toThrow("ELOOP");
    expect(() => env.sockets.epollCtl(inner, "add", inner, POLLIN)).toThrow("EINVAL");
    const waiting = env.sockets.epollWait(outer, 4, -1);
    await settle();
    connection.deliver([1]);
    expect(await waiting).toEqual([{ fd: inner, events: POLLIN }]);
  });

  test("an epoll descriptor is itself pollable (POLLIN when an event is ready)", async () => {
    const env = fakeSocketApi();
    const { fd, connection } = await connectedPair(env);
    const ep = env.sockets.epollCreate();
    env.sockets.epollCtl(ep, "add", fd, POLLIN);
    const waiting = env.sockets.poll([{ fd: ep, events: POLLIN }], -1);
    await settle();
    connection.deliver([1]);
    expect(await waiting).toEqual([{ fd: ep, revents: POLLIN }]);
  });
});
