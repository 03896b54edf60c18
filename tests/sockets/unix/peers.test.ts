/**
 * Our Unix-domain sockets against real processes: Python's socket module (AF_UNIX stream
 * and datagram) and socat talk to our servers, and our clients to theirs. 10 MB through
 * a stream checked by sha256, datagrams up to Linux's size limit, the abstract
 * namespace, SO_PEERCRED, and a path left behind by a killed server.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { startEchoUnix } from "../../../examples/services/echo.ts";
import { clearStalePath, type RunningService } from "../../../examples/services/service.ts";
import type { SocketApi } from "../../../sockets/api.ts";
import type { VirtualClock } from "../../../stack/clock.ts";
import { describePeers, pythonPeer, scratchDirectory, socat } from "../../helpers/unix_peers.ts";
import { fakeSocketApi } from "../fake_stack.ts";

const TEN_MB = 10 * 1024 * 1024;
/** Linux's largest datagram at the default SO_SNDBUF (212,992 − 32 bytes of overhead). */
const DATAGRAM_LIMIT = 212_960;
const LONG = 60_000;

let dir: ReturnType<typeof scratchDirectory>;
let api: SocketApi;
let clock: VirtualClock;
let services: RunningService[] = [];
beforeEach(() => {
  dir = scratchDirectory();
  ({ sockets: api, clock } = fakeSocketApi()); // Unix sockets need no network stack
});
afterEach(async () => {
  await Promise.all(services.map((service) => service.stop(0)));
  services = [];
  dir.remove();
});

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >>> 10)) & 0xff;
  return bytes;
}

/** Sends all of `data` on `fd` while reading everything back until the peer closes. */
async function exchange(fd: number, data: Uint8Array): Promise<Uint8Array> {
  const received: Uint8Array[] = [];
  const reading = (async () => {
    for (let chunk = await api.recv(fd, 65536); chunk.length > 0; chunk = await api.recv(fd, 65536))
      received.push(chunk);
  })();
  await api.send(fd, data);
  api.shutdown(fd, "write");
  await reading;
  return Buffer.concat(received);
}

describePeers("Unix-domain sockets and real processes", () => {
  test(
    "Python's AF_UNIX stream client through our echo server: 10 MB, sha256 equal; its SO_PEERCRED is us",
    async () => {
      services = await startEchoUnix(api, clock, dir.path);
      const client = pythonPeer(["stream-client", join(dir.path, "echo.sock"), String(TEN_MB)]);
      const result = await client.result;
      expect(result.bytes).toBe(TEN_MB);
      expect(result.sha256).toBe(result.sent as string);
      expect(result.peercred).toEqual({
        pid: process.pid,
        uid: process.getuid!(),
        gid: process.getgid!(),
      });
    },
    LONG,
  );

  test(
    "our stream client to Python's echo server: 10 MB, sha256 equal; SO_PEERCRED names its pid and uid",
    async () => {
      const path = join(dir.path, "python.sock");
      const server = pythonPeer(["stream-echo-server", path]);
      const ready = await server.ready;
      const fd = api.socket("unix", "stream");
      await api.connect(fd, path);
      expect(api.getsockopt(fd, "SO_PEERCRED")).toEqual({
        pid: ready.pid,
        uid: ready.uid,
        gid: process.getgid!(),
      });
      expect(api.getpeername(fd)).toEqual({ address: path, port: 0 });
      const data = pattern(TEN_MB);
      const echoed = await exchange(fd, data);
      api.close(fd);
      expect(echoed.length).toBe(TEN_MB);
      expect(sha256(echoed)).toBe(sha256(data));
      const result = await server.result;
      expect(result.sha256).toBe(sha256(data));
      expect((result.peercred as { pid: number }).pid).toBe(process.pid);
    },
    LONG,
  );

  test(
    "socat to our echo: stream (UNIX-CONNECT) and datagram (UNIX-SENDTO from a bound path)",
    async () => {
      services = await startEchoUnix(api, clock, dir.path);
      const stream = await socat(
        ["-t", "2", "-", `UNIX-CONNECT:${join(dir.path, "echo.sock")}`],
        "hello over a stream\n",
      );
      expect(stream).toEqual({ stdout: "hello over a stream\n", code: 0 });
      const datagram = await socat(
        [
          "-t",
          "1",
          "-",
          `UNIX-SENDTO:${join(dir.path, "echo.dgram")},bind=${join(dir.path, "socat.dgram")}`,
        ],
        "one datagram\n",
      );
      expect(datagram).toEqual({ stdout: "one datagram\n", code: 0 });
    },
    LONG,
  );

  test(
    "our clients to socat's servers: a stream echo (PIPE) and a datagram echo (UNIX-RECVFROM)",
    async () => {
      const streamPath = join(dir.path, "socat.sock");
      const server = socat([`UNIX-LISTEN:${streamPath}`, "PIPE"], "");
      const fd = api.socket("unix", "stream");
      await connectWhenThere(fd, streamPath);
      const echoed = await exchange(fd, new TextEncoder().encode("through socat"));
      expect(new TextDecoder().decode(echoed)).toBe("through socat");
      api.close(fd);
      expect((await server).code).toBe(0);

      const datagramPath = join(dir.path, "socat.dgram");
      const dgramServer = socat([`UNIX-RECVFROM:${datagramPath}`, "PIPE"], "");
      const own = api.socket("unix", "dgram");
      api.bind(own, join(dir.path, "ours.dgram"));
      await waitForPath(datagramPath);
      await api.sendto(own, new TextEncoder().encode("a datagram"), datagramPath);
      const reply = await api.recvfrom(own, 1000);
      expect(new TextDecoder().decode(reply.data)).toBe("a datagram");
      expect(reply.address).toBe(datagramPath);
      api.close(own);
      await dgramServer;
    },
    LONG,
  );

  test(
    "datagram echo with Python, both ways, of sizes up to the limit; one byte more is EMSGSIZE",
    async () => {
      services = await startEchoUnix(api, clock, dir.path);
      const sizes = [0, 1, 1500, 65_536, 100_000, DATAGRAM_LIMIT, DATAGRAM_LIMIT + 1];
      const client = pythonPeer([
        "dgram-client",
        join(dir.path, "echo.dgram"),
        join(dir.path, "python-client.dgram"),
        ...sizes.map(String),
      ]);
      const { results } = (await client.result) as { results: Record<string, unknown>[] };
      expect(results.slice(0, -1)).toEqual(
        sizes.slice(0, -1).map((size) => ({ size, echoed: size, same: true })),
      );
      expect(results.at(-1)).toEqual({ size: DATAGRAM_LIMIT + 1, error: "EMSGSIZE" });

      const serverPath = join(dir.path, "python-server.dgram");
      const server = pythonPeer(["dgram-echo-server", serverPath]);
      await server.ready;
      const fd = api.socket("unix", "dgram");
      api.bind(fd, join(dir.path, "ours.dgram"));
      for (const size of sizes.slice(0, -1)) {
        const data = pattern(size);
        expect(await api.sendto(fd, data, serverPath)).toBe(size);
        const reply = await api.recvfrom(fd, 256 * 1024);
        expect(reply.data.length).toBe(size);
        expect(sha256(reply.data)).toBe(sha256(data));
        expect(reply.address).toBe(serverPath);
      }
      await expect(api.sendto(fd, pattern(DATAGRAM_LIMIT + 1), serverPath)).rejects.toMatchObject({
        code: "EMSGSIZE",
      });
      await api.sendto(fd, new TextEncoder().encode("quit"), serverPath);
      expect((await server.result).datagrams).toBe(sizes.length - 1);
      api.close(fd);
    },
    LONG,
  );

  test(
    'the abstract namespace: no file, "@name" both ways, with Python and socat',
    async () => {
      const name = `@tstcp-test-${process.pid}-${Date.now()}`;
      const listener = api.socket("unix", "stream");
      api.bind(listener, name);
      api.listen(listener);
      expect(api.getsockname(listener)).toEqual({ address: name, port: 0 });
      const serving = (async () => {
        for (let i = 0; i < 2; i++) {
          const fd = await api.accept(listener);
          for (let d = await api.recv(fd, 65536); d.length > 0; d = await api.recv(fd, 65536))
            await api.send(fd, d);
          api.close(fd);
        }
      })();
      const python = await pythonPeer(["stream-client", name, "100000"]).result;
      expect(python.sha256).toBe(python.sent as string);
      const viaSocat = await socat(
        ["-t", "2", "-", `ABSTRACT-CONNECT:${name.slice(1)}`],
        "abstract\n",
      );
      expect(viaSocat.stdout).toBe("abstract\n");
      await serving;
      api.close(listener);

      // Ours as the client of an abstract name Python listens on.
      const theirs = `@tstcp-python-${process.pid}-${Date.now()}`;
      const server = pythonPeer(["stream-echo-server", theirs]);
      await server.ready;
      const fd = api.socket("unix", "stream");
      await api.connect(fd, theirs);
      expect(api.getpeername(fd).address).toBe(theirs);
      expect(new TextDecoder().decode(await exchange(fd, new TextEncoder().encode("hi")))).toBe(
        "hi",
      );
      api.close(fd);
      await server.result;
    },
    LONG,
  );

  test(
    "a path left by a killed server: EADDRINUSE and ECONNREFUSED until unlinked, as Linux",
    async () => {
      const path = join(dir.path, "crashed.sock");
      const server = pythonPeer(["bind-and-die", path]);
      await server.ready;
      server.kill(9);
      await server.result.catch(() => {});
      const fd = api.socket("unix", "stream");
      expect(() => api.bind(fd, path)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
      const probe = api.socket("unix", "stream");
      await expect(api.connect(probe, path)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      unlinkSync(path);
      api.bind(fd, path);
      api.close(fd);
      api.close(probe);
      // A server taking over: the stale file (refused) is removed, a live one is kept.
      await clearStalePath(api, path, "stream");
      expect(existsSync(path)).toBe(false);
    },
    LONG,
  );
});

async function waitForPath(path: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await Bun.sleep(10);
}

async function connectWhenThere(fd: number, path: string): Promise<void> {
  await waitForPath(path);
  for (let i = 0; ; i++) {
    try {
      await api.connect(fd, path);
      return;
    } catch (error) {
      if (i > 200) throw error;
      await Bun.sleep(10);
    }
  }
}
