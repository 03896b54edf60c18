/**
 * Property: whatever a program does with the API, in any order, with any descriptor
 * numbers and arguments, and whatever the peer does meanwhile, every failure is a
 * SocketError with an errno (never a TypeError or a broken invariant), and closing
 * every descriptor settles every waiting call and frees every port.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { SocketError } from "../../sockets/errors.ts";
import { POLLIN, POLLOUT } from "../../sockets/poll.ts";
import type { SocketApi } from "../../sockets/socket_api.ts";
import type { VirtualClock } from "../../stack/clock.ts";
import { fakeSocketApi, type fakeStack, PEER } from "./fake_stack.ts";

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const fd = fc.integer({ min: 2, max: 9 });
const port = fc.constantFrom(0, 7, 80, 65535);
const address = fc.constantFrom("0.0.0.0", "10.0.0.2", "10.0.0.1", "10.0.0.9", "bogus");
const option = fc.constantFrom(
  "SO_REUSEADDR",
  "SO_RCVBUF",
  "SO_SNDBUF",
  "SO_KEEPALIVE",
  "SO_LINGER",
  "TCP_NODELAY",
  "TCP_CONGESTION",
  "SO_ERROR",
  "TCP_INFO",
  "NOPE",
);
const value = fc.oneof(
  fc.boolean(),
  fc.integer({ min: -1, max: 100000 }),
  fc.constant({ onoff: true, linger: 0 }),
  fc.constantFrom("cubic", "reno", "bbr"),
);

const command = fc.oneof(
  fc.record({
    op: fc.constant("socket" as const),
    type: fc.constantFrom("stream" as const, "dgram" as const),
  }),
  fc.record({ op: fc.constant("epollCreate" as const) }),
  fc.record({ op: fc.constant("bind" as const), fd, address, port }),
  fc.record({ op: fc.constant("listen" as const), fd, backlog: fc.integer({ min: -1, max: 10 }) }),
  fc.record({ op: fc.constant("accept" as const), fd }),
  fc.record({ op: fc.constant("connect" as const), fd, address, port }),
  fc.record({ op: fc.constant("send" as const), fd, size: fc.integer({ min: 0, max: 20000 }) }),
  fc.record({
    op: fc.constant("sendto" as const),
    fd,
    address,
    port,
    size: fc.integer({ min: 0, max: 70000 }),
  }),
  fc.record({ op: fc.constant("recv" as const), fd, max: fc.integer({ min: -1, max: 100 }) }),
  fc.record({ op: fc.constant("recvfrom" as const), fd, max: fc.integer({ min: 0, max: 100 }) }),
  fc.record({
    op: fc.constant("shutdown" as const),
    fd,
    how: fc.constantFrom("read" as const, "write" as const, "both" as const),
  }),
  fc.record({ op: fc.constant("close" as const), fd }),
  fc.record({ op: fc.constant("getsockname" as const), fd }),
  fc.record({ op: fc.constant("getpeername" as const), fd }),
  fc.record({ op: fc.constant("setsockopt" as const), fd, option, value }),
  fc.record({ op: fc.constant("getsockopt" as const), fd, option }),
  fc.record({ op: fc.constant("setNonBlocking" as const), fd, on: fc.boolean() }),
  fc.record({ op: fc.constant("poll" as const), fd, timeout: fc.constantFrom(0, 10, -1) }),
  fc.record({
    op: fc.constant("epollCtl" as const),
    epfd: fd,
    fd,
    how: fc.constantFrom("add" as const, "mod" as const, "del" as const),
  }),
  fc.record({ op: fc.constant("epollWait" as const), fd, timeout: fc.constantFrom(0, 10, -1) }),
  fc.record({
    op: fc.constant("peer" as const),
    which: fc.nat(20),
    act: fc.constantFrom("establish", "deliver", "fin", "reset", "ack", "arrive"),
  }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 20 }) }),
);
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

function execute(
  api: SocketApi,
  stack: ReturnType<typeof fakeStack>,
  clock: VirtualClock,
  c: Command,
): unknown {
  switch (c.op) {
    case "socket":
      return api.socket("inet", c.type);
    case "epollCreate":
      return api.epollCreate();
    case "bind":
      return api.bind(c.fd, c.address, c.port);
    case "listen":
      return api.listen(c.fd, c.backlog);
    case "accept":
      return api.accept(c.fd);
    case "connect":
      return api.connect(c.fd, c.address, c.port);
    case "send":
      return api.send(c.fd, new Uint8Array(c.size));
    case "sendto":
      return api.sendto(c.fd, new Uint8Array(c.size), c.address, c.port);
    case "recv":
      return api.recv(c.fd, c.max);
    case "recvfrom":
      return api.recvfrom(c.fd, c.max);
    case "shutdown":
      return api.shutdown(c.fd, c.how);
    case "close":
      return api.close(c.fd);
    case "getsockname":
      return api.getsockname(c.fd);
    case "getpeername":
      return api.getpeername(c.fd);
    case "setsockopt":
      return api.setsockopt(c.fd, c.option as "SO_RCVBUF", c.value);
    case "getsockopt":
      return api.getsockopt(c.fd, c.option as "SO_RCVBUF");
    case "setNonBlocking":
      return api.setNonBlocking(c.fd, c.on);
    case "poll":
      return api.poll([{ fd: c.fd, events: POLLIN | POLLOUT }], c.timeout);
    case "epollCtl":
      return api.epollCtl(c.epfd, c.how, c.fd, POLLIN);
    case "epollWait":
      return api.epollWait(c.fd, 4, c.timeout);
    case "tick":
      return clock.advance(c.ms);
    case "peer":
      return playPeer(stack, c.which, c.act);
  }
}

function playPeer(stack: ReturnType<typeof fakeStack>, which: number, act: string): void {
  const tcp = stack.tcp;
  if (act === "arrive") {
    const listener = tcp.listeners[which % Math.max(1, tcp.listeners.length)];
    if (listener !== undefined && !listener.closed)
      tcp.connections.push(listener.arrive(PEER, 40000 + which));
    return;
  }
  const c = tcp.connections[which % Math.max(1, tcp.connections.length)];
  if (c === undefined || c.state === "CLOSED") return;
  if (act === "establish" && c.state === "SYN-SENT") c.establish();
  else if (act === "deliver" && c.state !== "SYN-SENT") c.deliver([1, 2, 3]);
  else if (act === "fin" && c.state !== "SYN-SENT") c.peerFin();
  else if (act === "reset") c.fail(c.state === "SYN-SENT" ? "ECONNREFUSED" : "ECONNRESET");
  else if (act === "ack") c.acknowledge(5000);
}

test("property: only SocketErrors; closing everything settles every call and frees every port", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
      const { sockets: api, stack, clock } = fakeSocketApi();
      const pending: Promise<unknown>[] = [];
      const failures: unknown[] = [];
      const record = (error: unknown) => {
        if (!(error instanceof SocketError)) failures.push(error);
      };
      for (const c of commands) {
        try {
          const result = execute(api, stack, clock, c);
          if (result instanceof Promise) pending.push(result.catch(record));
        } catch (error) {
          record(error);
        }
        await settle();
      }
      for (let fd = 0; fd < 200; fd++) {
        try {
          api.close(fd);
        } catch (error) {
          record(error);
        }
      }
      clock.advance(100); // poll/epoll waits with a timeout end
      let settled = 0;
      for (const p of pending) void p.then(() => settled++);
      await settle();
      await settle();
      expect(failures).toEqual([]);
      expect(settled).toBe(pending.length);
      expect(api.openDescriptors).toBe(0);
      for (const p of [7, 80, 65535]) {
        for (const type of ["stream", "dgram"] as const) {
          const s = api.socket("inet", type);
          api.bind(s, "0.0.0.0", p);
          api.close(s);
        }
      }
    }),
    { numRuns: 200 },
  );
});
