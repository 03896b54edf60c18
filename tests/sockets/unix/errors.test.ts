/**
 * Every failure of a Unix-domain call, with the errno Linux gives: the same cases run
 * through Python's socket module on this machine (tests/sockets/fixtures/unix_peer.py
 * `errors`) and through our API, and the codes must agree case by case. Then the
 * failures only our API can have (a descriptor, a name too long to encode).
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SocketApi } from "../../../sockets/api.ts";
import { SocketError } from "../../../sockets/errors.ts";
import { describePeers, pythonPeer, scratchDirectory } from "../../helpers/unix_peers.ts";
import { fakeSocketApi } from "../fake_stack.ts";

let dir: ReturnType<typeof scratchDirectory>;
let api: SocketApi;
const opened: number[] = [];
beforeEach(() => {
  dir = scratchDirectory();
  api = fakeSocketApi().sockets;
});
afterEach(() => {
  for (const fd of opened.splice(0)) api.close(fd);
  dir.remove();
});

const S = () => track(api.socket("unix", "stream"));
const D = () => track(api.socket("unix", "dgram"));
function track(fd: number): number {
  opened.push(fd);
  return fd;
}

/** The errno a call gives (sync or async), or null if it succeeds. */
async function codeOf(call: () => unknown): Promise<string | null> {
  try {
    await call();
    return null;
  } catch (error) {
    if (error instanceof SocketError) return error.code;
    throw error;
  }
}

/** Our side of unix_peer.py's `errors` cases, in `directory`, named alike. */
async function ourCodes(directory: string): Promise<Record<string, string | null>> {
  const at = (leaf: string) => join(directory, leaf);
  const listener = S();
  api.bind(listener, at("listener"));
  api.listen(listener, 1);
  const bound = S();
  api.bind(bound, at("bound"));
  const datagram = D();
  api.bind(datagram, at("datagram"));
  writeFileSync(at("file"), "");
  const connected = async () => {
    const client = S();
    await api.connect(client, at("listener"));
    return client;
  };
  const x = new Uint8Array([120]);
  const abstract = `@tstcp-errors-ours-${process.pid}`;
  const cases: Record<string, () => unknown> = {
    "bind to an existing socket path": () => api.bind(S(), at("listener")),
    "bind to an existing file": () => api.bind(S(), at("file")),
    "bind in a missing directory": () => api.bind(S(), at("missing/x")),
    "bind twice": () => api.bind(bound, at("other")),
    "connect to a missing path": () => api.connect(S(), at("missing")),
    "connect to a bound, not listening socket": () => api.connect(S(), at("bound")),
    "connect to a regular file": () => api.connect(S(), at("file")),
    "connect stream to datagram": () => api.connect(S(), at("datagram")),
    "connect datagram to stream": () => api.connect(D(), at("listener")),
    "sendto datagram to a stream": () => api.sendto(D(), x, at("listener")),
    "sendto datagram to a missing path": () => api.sendto(D(), x, at("missing")),
    "connect a connected socket": async () => api.connect(await connected(), at("listener")),
    "connect a listening socket": () => api.connect(listener, at("listener")),
    "listen on a datagram socket": () => api.listen(D(), 1),
    "listen on an unbound stream socket": () => api.listen(S(), 1),
    "accept on a socket not listening": () => api.accept(S()),
    "send on an unconnected stream": () => api.send(S(), x),
    "recv on an unconnected stream": () => api.recv(S(), 1),
    "send on an unconnected datagram socket": () => api.send(D(), x),
    "getpeername unconnected": () => api.getpeername(S()),
    "sendto with an address on a connected stream": async () =>
      api.sendto(await connected(), x, at("listener")),
    "datagram larger than the send buffer": () =>
      api.sendto(D(), new Uint8Array(212992 - 31), at("datagram")),
    "abstract name in use": () => {
      api.bind(S(), abstract);
      api.bind(S(), abstract);
    },
    "connect to a missing abstract name": () =>
      api.connect(S(), `@tstcp-missing-ours-${process.pid}`),
    "connect to an empty name": () => api.connect(S(), ""),
    "TCP option on a Unix socket": () => api.setsockopt(S(), "TCP_NODELAY", true),
  };
  const codes: Record<string, string | null> = {};
  for (const [label, call] of Object.entries(cases)) codes[label] = await codeOf(call);
  return codes;
}

describePeers("Unix-domain errors, as Linux gives them", () => {
  test("every failure case has the errno Python's socket module gets from the kernel", async () => {
    const theirs = scratchDirectory();
    try {
      const python = (await pythonPeer(["errors", theirs.path]).result).codes as Record<
        string,
        string | null
      >;
      const ours = await ourCodes(dir.path);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(python).sort());
      // Python calls EOPNOTSUPP by its other name (ENOTSUP, the same number on Linux).
      const normalized = Object.fromEntries(
        Object.entries(python).map(([k, v]) => [k, v === "ENOTSUP" ? "EOPNOTSUPP" : v]),
      );
      expect(ours).toEqual(normalized);
      // The list covers the codes the issue names, so none can silently go missing.
      const seen = new Set(Object.values(ours));
      for (const code of [
        "EADDRINUSE",
        "ENOENT",
        "ECONNREFUSED",
        "EPROTOTYPE",
        "EMSGSIZE",
        "EISCONN",
        "ENOTCONN",
        "EOPNOTSUPP",
        "EINVAL",
      ]) {
        expect(seen.has(code)).toBe(true);
      }
    } finally {
      theirs.remove();
    }
  }, 60_000);
});

test("ENAMETOOLONG beyond 107 bytes (sun_path holds 108 with the NUL), also abstract", async () => {
  const longest = join(dir.path, "x".repeat(107 - dir.path.length - 1));
  expect(Buffer.byteLength(longest)).toBe(107);
  api.bind(S(), longest);
  const tooLong = `${longest}y`;
  expect(await codeOf(() => api.bind(S(), tooLong))).toBe("ENAMETOOLONG");
  expect(await codeOf(() => api.connect(S(), tooLong))).toBe("ENAMETOOLONG");
  expect(await codeOf(() => api.sendto(D(), new Uint8Array(1), tooLong))).toBe("ENAMETOOLONG");
  expect(await codeOf(() => api.bind(S(), `@${"a".repeat(107)}`))).toBeNull();
  expect(await codeOf(() => api.bind(S(), `@${"b".repeat(108)}`))).toBe("ENAMETOOLONG");
  const error = await api.connect(S(), tooLong).catch((e: SocketError) => e);
  expect(String(error)).toContain("at most 107");
});

test("our own failures: EBADF, EAGAIN, EAFNOSUPPORT, socketpair outside unix, EPIPE, ECONNRESET", async () => {
  expect(await codeOf(() => api.recv(999, 1))).toBe("EBADF");
  expect(await codeOf(() => api.socket("unix6" as "unix", "stream"))).toBe("EAFNOSUPPORT");
  expect(await codeOf(() => api.socket("unix", "raw" as "stream"))).toBe("EINVAL");
  expect(await codeOf(() => api.socketpair("inet" as "unix", "stream"))).toBe("EOPNOTSUPP");
  const [a, b] = api.socketpair("unix", "stream");
  track(a);
  expect(await codeOf(() => api.recv(a, 1, { dontWait: true }))).toBe("EAGAIN");
  api.setNonBlocking(a, true);
  expect(await codeOf(() => api.recv(a, 1))).toBe("EAGAIN");
  // Closing with unread data resets (unix_release_sock): the reader sees ECONNRESET.
  await api.send(b, new Uint8Array(3));
  api.close(b);
  expect(await codeOf(() => api.send(a, new Uint8Array(1)))).toBe("EPIPE");
  const [c, d] = api.socketpair("unix", "stream");
  track(c);
  await api.send(c, new Uint8Array(1));
  api.close(d); // with c's byte unread
  expect(await codeOf(() => api.recv(c, 1))).toBe("ECONNRESET");
  expect(await codeOf(() => api.recv(c, 1))).toBeNull(); // then end of stream
  // A blocking call on a descriptor closed under it fails with EBADF.
  const [e, f] = api.socketpair("unix", "dgram");
  track(f);
  const waiting = api.recv(e, 10);
  api.close(e);
  await expect(waiting).rejects.toMatchObject({ code: "EBADF" });
});
