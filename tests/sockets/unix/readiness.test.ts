/**
 * socketpair of both types, and poll/epoll readiness on Unix-domain sockets: the bits
 * the kernel's unix_poll gives (POLLIN, POLLOUT, POLLRDHUP, POLLHUP) reach our poll,
 * epoll and blocking calls through the reactor, as the stack's changes do for TCP.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import {
  EPOLLIN,
  EPOLLRDHUP,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  type SocketApi,
} from "../../../sockets/api.ts";
import { fakeSocketApi } from "../fake_stack.ts";

const ALL = POLLIN | POLLOUT | POLLRDHUP;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

let api: SocketApi;
const opened = new Set<number>();
beforeEach(() => {
  api = fakeSocketApi().sockets;
});
afterEach(() => {
  for (const fd of opened) api.close(fd);
  opened.clear();
});

function pair(type: "stream" | "dgram"): [number, number] {
  const fds = api.socketpair("unix", type);
  for (const fd of fds) opened.add(fd);
  return fds;
}

function close(fd: number): void {
  api.close(fd);
  opened.delete(fd);
}

/** The poll bits of `fd` right now (timeout 0). */
async function bits(fd: number, events = ALL): Promise<number> {
  return (await api.poll([{ fd, events }], 0))[0]?.revents ?? 0;
}

test("socketpair stream: bytes both ways, unnamed ends, SO_PEERCRED is this process", async () => {
  const [a, b] = pair("stream");
  await api.send(a, bytes("ping"));
  expect(text(await api.recv(b, 100))).toBe("ping");
  await api.send(b, bytes("pong"));
  expect(text(await api.recv(a, 100))).toBe("pong");
  expect(api.getsockname(a)).toEqual({ address: "", port: 0 });
  expect(api.getpeername(b)).toEqual({ address: "", port: 0 });
  expect(api.getsockopt(a, "SO_PEERCRED")).toMatchObject({ pid: process.pid });
});

test("socketpair datagram: boundaries kept, a short buffer cuts, peek leaves it queued", async () => {
  const [a, b] = pair("dgram");
  await api.send(a, bytes("first"));
  await api.send(a, bytes("second"));
  await api.send(a, new Uint8Array(0));
  expect(text(await api.recv(b, 100, { peek: true }))).toBe("first");
  expect(text(await api.recv(b, 100))).toBe("first");
  expect(text(await api.recv(b, 3))).toBe("sec"); // the rest of the datagram is gone
  expect((await api.recvfrom(b, 100)).data.length).toBe(0); // an empty datagram
  expect(await bits(b)).toBe(POLLOUT);
});

test("a blocking recv waits for the peer's send; waitAll gathers across sends", async () => {
  const [a, b] = pair("stream");
  const waiting = api.recv(b, 100);
  setTimeout(() => void api.send(a, bytes("later")), 20);
  expect(text(await waiting)).toBe("later");
  const all = api.recv(b, 6, { waitAll: true });
  await api.send(a, bytes("abc"));
  setTimeout(() => void api.send(a, bytes("def")), 20);
  expect(text(await all)).toBe("abcdef");
});

test("a full stream blocks send until the peer reads; non-blocking sends what fits", async () => {
  const [a, b] = pair("stream");
  api.setNonBlocking(a, true);
  let queued = 0;
  for (let i = 0; i < 10_000; i++) {
    try {
      queued += await api.send(a, new Uint8Array(65536));
    } catch (error) {
      expect(error).toMatchObject({ code: "EAGAIN" });
      break;
    }
  }
  expect(queued).toBeGreaterThan(0);
  expect((await bits(a)) & POLLOUT).toBe(0);
  api.setNonBlocking(a, false);
  const blocked = api.send(a, new Uint8Array(100_000));
  let drained = 0;
  const reader = (async () => {
    while (drained < queued + 100_000) drained += (await api.recv(b, 1 << 20)).length;
  })();
  expect(await blocked).toBe(100_000);
  await reader;
  expect(drained).toBe(queued + 100_000);
});

test("poll: POLLOUT, then POLLIN with data, POLLRDHUP at the peer's shutdown, POLLHUP when it closes", async () => {
  const [a, b] = pair("stream");
  expect(await bits(a)).toBe(POLLOUT);
  await api.send(b, bytes("x"));
  expect(await bits(a)).toBe(POLLIN | POLLOUT);
  api.shutdown(b, "write");
  expect(await bits(a)).toBe(POLLIN | POLLOUT | POLLRDHUP);
  close(b);
  expect(await bits(a)).toBe(POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  expect(text(await api.recv(a, 10))).toBe("x");
  expect((await api.recv(a, 10)).length).toBe(0); // end of stream
});

test("poll waits for the kernel's event: the peer closing wakes a wait with POLLHUP", async () => {
  const [a, b] = pair("stream");
  const waiting = api.poll([{ fd: a, events: POLLIN }], 10_000);
  setTimeout(() => close(b), 20);
  const [result] = await waiting;
  expect(result!.revents & (POLLIN | POLLHUP)).toBe(POLLIN | POLLHUP);
});

test("epoll: a Unix socket's data and hang-up are events, level-triggered, beside others", async () => {
  const [a, b] = pair("stream");
  const [c, d] = pair("dgram");
  const epoll = api.epollCreate();
  opened.add(epoll);
  api.epollCtl(epoll, "add", a, EPOLLIN | EPOLLRDHUP);
  api.epollCtl(epoll, "add", c, EPOLLIN);
  expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
  const waiting = api.epollWait(epoll, 8, 10_000);
  setTimeout(() => void api.send(d, bytes("datagram")), 20);
  expect(await waiting).toEqual([{ fd: c, events: EPOLLIN }]);
  expect(await api.epollWait(epoll, 8, 0)).toEqual([{ fd: c, events: EPOLLIN }]); // still there
  await api.recv(c, 100);
  close(b);
  const events = await api.epollWait(epoll, 8, 10_000);
  expect(events).toEqual([{ fd: a, events: EPOLLIN | EPOLLRDHUP | POLLHUP }]);
});

test("listener: POLLIN when a connection waits to be accepted", async () => {
  const path = `@tstcp-readiness-${process.pid}`;
  const listener = api.socket("unix", "stream");
  opened.add(listener);
  api.bind(listener, path);
  api.listen(listener);
  expect(await bits(listener, POLLIN)).toBe(0);
  const client = api.socket("unix", "stream");
  opened.add(client);
  const accepted = api.poll([{ fd: listener, events: POLLIN }], 10_000);
  await api.connect(client, path);
  expect(await accepted).toEqual([{ fd: listener, revents: POLLIN }]);
  opened.add(await api.accept(listener));
});

test("a full accept backlog: non-blocking connect is EAGAIN (as Linux), a blocking one waits for accept", async () => {
  const path = `@tstcp-backlog-${process.pid}`;
  const listener = api.socket("unix", "stream");
  opened.add(listener);
  api.bind(listener, path);
  api.listen(listener, 0); // Linux queues one connection beyond a backlog of 0
  const first = api.socket("unix", "stream");
  opened.add(first);
  await api.connect(first, path);
  const second = api.socket("unix", "stream");
  opened.add(second);
  api.setNonBlocking(second, true);
  const refused = await api.connect(second, path).catch((error) => error);
  expect(refused).toMatchObject({ code: "EAGAIN" });
  api.setNonBlocking(second, false);
  let connected = false;
  const waiting = api.connect(second, path).then(() => {
    connected = true;
  });
  await Bun.sleep(30);
  expect(connected).toBe(false); // the kernel sends no event for this: a timer retries
  opened.add(await api.accept(listener));
  await waiting;
  expect(connected).toBe(true);
});

test("a full datagram queue: non-blocking sendto is EAGAIN, a blocking one waits for the reader", async () => {
  const path = `@tstcp-dgram-queue-${process.pid}`;
  const receiver = api.socket("unix", "dgram");
  opened.add(receiver);
  api.bind(receiver, path);
  const sender = api.socket("unix", "dgram");
  opened.add(sender);
  api.setNonBlocking(sender, true);
  let queued = 0;
  for (; queued < 10_000; queued++) {
    const error = await api.sendto(sender, bytes(`d${queued}`), path).catch((e) => e);
    if (typeof error !== "number") {
      expect(error).toMatchObject({ code: "EAGAIN" });
      break;
    }
  }
  expect(queued).toBeGreaterThan(0); // net.unix.max_dgram_qlen datagrams fit
  api.setNonBlocking(sender, false);
  const blocked = api.sendto(sender, bytes("last"), path);
  const received: string[] = [];
  for (let i = 0; i <= queued; i++) received.push(text(await api.recv(receiver, 100)));
  expect(await blocked).toBe(4);
  expect(received.at(-1)).toBe("last");
  expect(received[0]).toBe("d0");
});
