/**
 * The `net` behaviour suite, run twice: against Bun's own node:net over the kernel's TCP
 * (on loopback) and against our face (net/) on two hosts joined in memory. Each test
 * states what Node documents; both worlds must pass it, so where ours differs from the
 * kernel's the difference shows here.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Socket } from "node:net";
import { createHostPair } from "../../index.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { run } from "./virtual.ts";
import { closeServer, listening, next, record, until, WORLDS, type World } from "./worlds.ts";

for (const [name, makeWorld] of Object.entries(WORLDS)) {
  describe(`net behaviour: ${name}`, () => {
    let world: World;
    beforeEach(() => {
      world = makeWorld();
    });
    afterEach(async () => {
      await world.close();
    });

    test("events in order: connect, ready, data, end, finish, close(false)", async () => {
      const { server, port } = await listening(world, {}, (socket) => socket.end("hello"));
      const log: string[] = [];
      const client = world.client.connect(port, world.host);
      expect(client.connecting).toBe(true);
      expect(client.pending).toBe(true);
      record(client, log, ["connect", "ready", "data", "end", "finish", "close", "error"]);
      client.setEncoding("utf8");
      await next(client, "close");
      expect(log).toEqual(["connect", "ready", "data:hello", "end", "finish", "close:false"]);
      expect(client.readyState).toBe("closed");
      await closeServer(server);
    });

    test("half-close: with allowHalfOpen the server still writes after the client's FIN", async () => {
      const serverLog: string[] = [];
      const { server, port } = await listening(world, { allowHalfOpen: true }, (socket) => {
        record(socket, serverLog, ["end", "finish", "close"]);
        socket.on("data", (data) => serverLog.push(`data:${data}`));
        // The client's FIN has come: we may still answer, then send ours.
        socket.on("end", () => socket.end("late reply"));
      });
      const client = world.client.connect({ port, host: world.host, allowHalfOpen: true });
      await next(client, "connect");
      client.end("question");
      expect(client.readyState).toBe("readOnly");
      let reply = "";
      client.on("data", (data) => (reply += data));
      await next(client, "end");
      expect(reply).toBe("late reply");
      await until(() => serverLog.includes("close:false"), "the server's socket closes");
      expect(serverLog).toEqual(["data:question", "end", "finish", "close:false"]);
      await closeServer(server);
    });

    test("without allowHalfOpen the peer's FIN ends our side too", async () => {
      let serverSocket: Socket | undefined;
      const { server, port } = await listening(world, {}, (socket) => {
        serverSocket = socket;
        socket.resume();
      });
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      client.end();
      client.resume();
      // The server never calls end(): its socket ends itself on our FIN, so we see end.
      await next(client, "end");
      await until(() => serverSocket?.destroyed === true, "the server's socket is destroyed");
      await closeServer(server);
    });

    test("a refused connection: error ECONNREFUSED (syscall connect), then close(true)", async () => {
      const { server, port } = await listening(world, {}, () => {});
      await closeServer(server);
      const log: string[] = [];
      const client = world.client.connect(port, world.host);
      record(client, log, ["connect", "error", "close"]);
      const [error] = (await next(client, "error")) as [NodeJS.ErrnoException & { port?: number }];
      await next(client, "close");
      expect(log).toEqual(["error:ECONNREFUSED", "close:true"]);
      expect(error.code).toBe("ECONNREFUSED");
      expect(error.syscall).toBe("connect");
      expect(error.errno).toBe(-111);
      expect(error.message).toBe(`connect ECONNREFUSED ${world.host}:${port}`);
    });

    test("listening on a port in use: error EADDRINUSE (syscall listen)", async () => {
      const { server, port } = await listening(world, {}, () => {});
      const second = world.server.createServer();
      second.listen(port, world.host);
      const [error] = (await next(second, "error")) as [NodeJS.ErrnoException];
      expect(error.code).toBe("EADDRINUSE");
      expect(error.syscall).toBe("listen");
      expect(second.listening).toBe(false);
      await closeServer(server);
    });

    test("a reset from the peer: error ECONNRESET (syscall read), then close(true)", async () => {
      const { server, port } = await listening(world, {}, (socket) => {
        socket.once("data", () => socket.resetAndDestroy());
      });
      const log: string[] = [];
      const client = world.client.connect(port, world.host);
      record(client, log, ["error", "close"]);
      client.resume();
      await next(client, "connect");
      client.write("provoke");
      const [error] = (await next(client, "error")) as [NodeJS.ErrnoException];
      await next(client, "close");
      expect(error.code).toBe("ECONNRESET");
      expect(error.syscall).toBe("read");
      expect(log).toEqual(["error:ECONNRESET", "close:true"]);
      await closeServer(server);
    });

    test("backpressure: write() is false while the reader is paused, drain follows, every byte arrives", async () => {
      let received = 0;
      let serverSocket: Socket | undefined;
      const ended = Promise.withResolvers<void>();
      const { server, port } = await listening(world, { pauseOnConnect: true }, (socket) => {
        serverSocket = socket;
        socket.on("data", (data) => (received += data.length));
        socket.on("end", () => ended.resolve());
        socket.pause();
      });
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      const chunk = Buffer.alloc(64 * 1024, 0x5a);
      let written = 0;
      let accepted = true;
      // Bounded: a paused reader must stop us well before 64 MB.
      for (let i = 0; i < 1024 && accepted; i++) {
        accepted = client.write(chunk);
        written += chunk.length;
      }
      expect(accepted).toBe(false);
      expect(received).toBe(0);
      const drained = next(client, "drain");
      await until(() => serverSocket !== undefined, "the server accepted");
      serverSocket!.resume();
      await drained;
      client.end();
      await ended.promise;
      expect(received).toBe(written);
      await closeServer(server);
    });

    test("setTimeout: an idle socket emits timeout and stays open", async () => {
      const { server, port } = await listening(world, {}, () => {});
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      client.setTimeout(50);
      await next(client, "timeout");
      expect(client.destroyed).toBe(false);
      expect(client.readyState).toBe("open");
      client.destroy();
      await next(client, "close");
      await closeServer(server);
    });

    test("names and counters: address(), remote*/local*, bytesRead/bytesWritten, getConnections", async () => {
      const accepted = Promise.withResolvers<Socket>();
      const { server, port } = await listening(world, {}, (socket) => {
        socket.on("data", (data) => socket.write(data));
        accepted.resolve(socket);
      });
      expect((server.address() as { port: number }).port).toBe(port);
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      const serverSide = await accepted.promise;
      expect(client.remoteAddress).toBe(world.host);
      expect(client.remotePort).toBe(port);
      const family = world.host.includes(":") ? "IPv6" : "IPv4";
      expect(client.remoteFamily).toBe(family);
      expect(client.address()).toEqual({
        address: client.localAddress!,
        family,
        port: client.localPort!,
      });
      expect(serverSide.remotePort).toBe(client.localPort!);
      expect(serverSide.localPort).toBe(port);
      const count = await new Promise<number>((resolve, reject) =>
        server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
      expect(count).toBe(1);
      client.write("0123456789");
      await next(client, "data");
      await until(() => client.bytesRead === 10, "all ten bytes echoed");
      expect(client.bytesWritten).toBe(10);
      expect(serverSide.bytesRead).toBe(10);
      client.destroy();
      await next(client, "close");
      await closeServer(server);
    });

    test("server.close() stops accepting at once and emits close after the last connection", async () => {
      const order: string[] = [];
      const accepted = Promise.withResolvers<Socket>();
      const { server, port } = await listening(world, {}, (socket) => {
        socket.resume();
        accepted.resolve(socket);
      });
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      await accepted.promise;
      server.close(() => order.push("server close"));
      expect(server.listening).toBe(false);
      const late = world.client.connect(port, world.host);
      const [error] = (await next(late, "error")) as [NodeJS.ErrnoException];
      expect(error.code).toBe("ECONNREFUSED");
      order.push("client end");
      client.end();
      client.resume();
      await next(client, "close");
      await until(() => order.length === 2, "the server closes");
      expect(order).toEqual(["client end", "server close"]);
    });

    test("maxConnections: a connection beyond it is closed on arrival", async () => {
      const accepted: Socket[] = [];
      const { server, port } = await listening(world, {}, (socket) => {
        accepted.push(socket);
        socket.resume();
      });
      server.maxConnections = 1;
      const first = world.client.connect(port, world.host);
      await next(first, "connect");
      await until(() => accepted.length === 1, "the first connection accepted");
      const second = world.client.connect(port, world.host);
      second.on("error", () => {}); // closed by the server: a FIN or a reset, either will do
      second.resume();
      await next(second, "close");
      expect(accepted.length).toBe(1);
      first.destroy();
      await closeServer(server);
    });

    test("write after end(): error ERR_STREAM_WRITE_AFTER_END", async () => {
      const { server, port } = await listening(world, {}, (socket) => socket.resume());
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      client.end();
      const failed = next(client, "error");
      client.write("too late");
      const [error] = (await failed) as [NodeJS.ErrnoException];
      expect(error.code).toBe("ERR_STREAM_WRITE_AFTER_END");
      client.destroy();
      await closeServer(server);
    });

    test("connect({ signal }): aborting destroys the socket with an AbortError", async () => {
      const { server, port } = await listening(world, {}, (socket) => socket.resume());
      const controller = new AbortController();
      const client = world.client.connect({ port, host: world.host, signal: controller.signal });
      await next(client, "connect");
      const failed = next(client, "error");
      controller.abort();
      const [error] = (await failed) as [NodeJS.ErrnoException];
      expect(error.name).toBe("AbortError");
      expect(client.destroyed).toBe(true);
      await closeServer(server);
    });

    test("destroySoon: what was written arrives, then our side closes", async () => {
      let received = "";
      const ended = Promise.withResolvers<void>();
      const { server, port } = await listening(world, {}, (socket) => {
        socket.setEncoding("utf8");
        socket.on("data", (data) => (received += data));
        socket.on("end", () => ended.resolve());
      });
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      client.write("first ");
      client.write("and last");
      const closed = next(client, "close");
      client.destroySoon();
      await ended.promise;
      await closed;
      expect(received).toBe("first and last");
      await closeServer(server);
    });

    test("destroy(error): error with that error, then close(true)", async () => {
      const { server, port } = await listening(world, {}, (socket) => socket.resume());
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      const log: string[] = [];
      record(client, log, ["error", "close"]);
      const boom = Object.assign(new Error("boom"), { code: "EBOOM" });
      client.destroy(boom);
      const [error] = await next(client, "error");
      await next(client, "close");
      expect(error).toBe(boom);
      expect(log).toEqual(["error:EBOOM", "close:true"]);
      await closeServer(server);
    });
  });
}

describe("net behaviour: ours only", () => {
  test("a peer that never answers: error ETIMEDOUT (syscall connect) after the SYN retries", async () => {
    const clock = new VirtualClock(0);
    const hosts = createHostPair({ seed: 3, clock, faults: { loss: 1 } });
    const [a, b] = hosts;
    try {
      const client = a.net.connect(80, b.address);
      const log: string[] = [];
      record(client as unknown as Socket, log, ["connect", "error", "close"]);
      const [error] = (await run(clock, hosts, next(client, "error", 600_000))) as [
        NodeJS.ErrnoException,
      ];
      await run(clock, hosts, next(client, "close", 600_000));
      expect(error.code).toBe("ETIMEDOUT");
      expect(error.syscall).toBe("connect");
      expect(error.errno).toBe(-110);
      expect(log).toEqual(["error:ETIMEDOUT", "close:true"]);
      expect(a.device.faults.lost).toBeGreaterThan(1); // the SYN and its retransmissions
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("setNoDelay and setKeepAlive set TCP_NODELAY and SO_KEEPALIVE on the descriptor", async () => {
    const world = WORLDS["ours (net/ over a simulated link)"]!();
    const [a] = world.hosts!;
    try {
      const { server, port } = await listening(world, {}, (socket) => socket.resume());
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      const fd = (client as unknown as { fd: number }).fd;
      expect(client.setNoDelay(true)).toBe(client);
      expect(client.setKeepAlive(true)).toBe(client);
      expect(a.sockets.getsockopt(fd, "TCP_NODELAY")).toBe(true);
      expect(a.sockets.getsockopt(fd, "SO_KEEPALIVE")).toBe(true);
      client.setNoDelay(false);
      expect(a.sockets.getsockopt(fd, "TCP_NODELAY")).toBe(false);
      client.destroy();
      await closeServer(server);
    } finally {
      await world.close();
    }
  });

  test("a paused reader closes our receive window: the sender sees a zero window", async () => {
    const world = WORLDS["ours (net/ over a simulated link)"]!();
    const [a, b] = world.hosts!;
    try {
      let serverSocket: Socket | undefined;
      const { server, port } = await listening(world, { pauseOnConnect: true }, (socket) => {
        serverSocket = socket;
      });
      const client = world.client.connect(port, world.host);
      await next(client, "connect");
      const fd = (client as unknown as { fd: number }).fd;
      const chunk = Buffer.alloc(64 * 1024, 1);
      // More than both buffers hold (256 KB each by default): the rest waits in the stream.
      let accepted = true;
      for (let i = 0; i < 64; i++) accepted = client.write(chunk);
      expect(accepted).toBe(false);
      const info = () => a.sockets.getsockopt(fd, "TCP_INFO") as { sndWnd: number };
      await until(() => serverSocket !== undefined && info().sndWnd === 0, "a zero window");
      // Nothing was read: the bytes sit in the receiver's buffer, which is full (what is
      // left is below one window-scale unit, so the window advertised is zero).
      expect(serverSocket!.bytesRead).toBe(0);
      const serverFd = (serverSocket as unknown as { fd: number }).fd;
      const serverInfo = b.sockets.getsockopt(serverFd, "TCP_INFO") as { rcvWnd: number };
      expect(serverInfo.rcvWnd).toBeLessThan(1 << 7);
      serverSocket!.resume();
      await next(client, "drain");
      expect(info().sndWnd).toBeGreaterThan(0);
      client.destroy();
      serverSocket!.destroy();
      await closeServer(server);
    } finally {
      await world.close();
    }
  });
});

describe("net over both families (ours)", () => {
  test("a server on :: takes an IPv4 client as ::ffff:a.b.c.d and an IPv6 one as itself (dual stack, as Node on Linux); ipv6Only refuses the IPv4 one", async () => {
    const [a, b] = createHostPair({ seed: 11 });
    try {
      const peers: string[] = [];
      const server = b.net.createServer((socket) => {
        peers.push(`${socket.remoteFamily} ${socket.remoteAddress}`);
        socket.end();
      });
      server.listen(7000, "::");
      await next(server, "listening");
      expect(server.address()).toEqual({ address: "::", family: "IPv6", port: 7000 });
      for (const host of [b.address, b.address6]) {
        const client = a.net.connect(7000, host);
        await next(client, "connect");
        expect(client.remoteFamily).toBe(host.includes(":") ? "IPv6" : "IPv4");
        await next(client, "close");
      }
      expect(peers).toEqual([`IPv6 ::ffff:${a.address}`, `IPv6 ${a.address6}`]);
      server.close();
      const only = b.net.createServer();
      only.listen({ port: 7001, host: "::", ipv6Only: true });
      await next(only, "listening");
      const refused = a.net.connect(7001, b.address);
      const [error] = (await next(refused, "error")) as [{ code: string }];
      expect(error.code).toBe("ECONNREFUSED");
      only.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
