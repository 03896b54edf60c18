/**
 * The net face on Unix-domain stream sockets (`connect({ path })`, `listen(path)`): our
 * sockets/ Unix sockets are the kernel's, so Bun's own node:net is the peer, both ways.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as nodeNet from "node:net";
import { tmpdir } from "node:os";
import { createHostPair, type PairedHost } from "../../index.ts";
import { next, record } from "./worlds.ts";

let dir = "";
let hosts: [PairedHost, PairedHost];
beforeEach(() => {
  dir = mkdtempSync(`${tmpdir()}/tstcp-net-unix-`);
  hosts = createHostPair();
});
afterEach(async () => {
  await Promise.all(hosts.map((host) => host.close()));
  rmSync(dir, { recursive: true, force: true });
});

test("our server on a path, Bun's node:net client: echo, end, and the path removed on close", async () => {
  const path = `${dir}/echo.sock`;
  const server = hosts[0].net.createServer((socket) => socket.pipe(socket));
  server.listen(path);
  await next(server, "listening");
  expect(server.address()).toBe(path);
  const client = nodeNet.connect(path);
  client.setEncoding("utf8");
  let echoed = "";
  client.on("data", (data) => (echoed += data));
  await next(client, "connect");
  client.end("over a Unix socket");
  await next(client, "end");
  expect(echoed).toBe("over a Unix socket");
  const closed = next(server, "close");
  server.close();
  await closed;
  expect(existsSync(path)).toBe(false);
});

test("our client to Bun's node:net server on a path: data, end, close(false)", async () => {
  const path = `${dir}/kernel.sock`;
  const server = nodeNet.createServer((socket) => socket.end("from the kernel's server"));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const log: string[] = [];
  const client = hosts[0].net.connect({ path });
  record(client as unknown as nodeNet.Socket, log, ["connect", "data", "end", "close", "error"]);
  client.setEncoding("utf8");
  await next(client, "close");
  expect(log).toEqual(["connect", "data:from the kernel's server", "end", "close:false"]);
  expect(client.remoteAddress).toBeUndefined();
  server.close();
});

test("connecting to a path where nobody listens: error ENOENT (syscall connect), close(true)", async () => {
  const client = hosts[0].net.connect({ path: `${dir}/nobody.sock` });
  const [error] = (await next(client, "error")) as [NodeJS.ErrnoException];
  expect(await next(client, "close")).toEqual([true]);
  expect(error.code).toBe("ENOENT");
  expect(error.syscall).toBe("connect");
});
