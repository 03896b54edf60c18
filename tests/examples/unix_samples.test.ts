/**
 * The samples that show the second family and the oldest readiness call: the select
 * echo loop (beside the epoll one) serving a TCP port and a Unix-domain path, and one
 * handler served on both families.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import { startSelectEchoServer } from "../../examples/echo_select.ts";
import { serveBothFamilies } from "../../examples/one_handler_two_families.ts";
import { talk } from "../../examples/tcp_client.ts";
import type { SocketApi } from "../../sockets/api.ts";
import { scratchDirectory } from "../helpers/unix_peers.ts";
import { twoHosts } from "./two_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

let dir: ReturnType<typeof scratchDirectory>;
beforeEach(() => {
  dir = scratchDirectory();
});
afterEach(() => dir.remove());

/** A Unix-domain client: sends `data`, shuts its writing side, reads to the end. */
async function talkUnix(api: SocketApi, path: string, data: Uint8Array): Promise<Uint8Array> {
  const fd = api.socket("unix", "stream");
  await api.connect(fd, path);
  await api.send(fd, data, { eof: true });
  const parts: Uint8Array[] = [];
  for (let chunk = await api.recv(fd, 65536); chunk.length > 0; chunk = await api.recv(fd, 65536))
    parts.push(chunk);
  api.close(fd);
  return Buffer.concat(parts);
}

test("echo as one select loop: a TCP client and a Unix-domain client, small and large", async () => {
  const { a, b, run } = twoHosts({ seed: 7 });
  const tcp = b.api.socket("inet", "stream");
  b.api.bind(tcp, "0.0.0.0", 7009);
  b.api.listen(tcp, 16);
  const path = join(dir.path, "echo.sock");
  const unix = b.api.socket("unix", "stream");
  b.api.bind(unix, path);
  b.api.listen(unix, 16);
  const server = startSelectEchoServer(b.api, [tcp, unix]);
  const big = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
  const [small, large] = await run(
    Promise.all([talk(a.api, b.address, 7009, bytes("select")), talk(a.api, b.address, 7009, big)]),
  );
  expect(text(small!)).toBe("select");
  expect(Buffer.compare(large!, big)).toBe(0);
  // The Unix client is a process-local kernel socket: real time, no virtual clock needed.
  expect(text(await talkUnix(a.api, path, bytes("over unix")))).toBe("over unix");
  expect(Buffer.compare(await talkUnix(a.api, path, big), big)).toBe(0);
  await run(server.stop());
  b.api.close(tcp);
  b.api.close(unix);
});

test("one handler on a TCP port and a Unix-domain path answers both alike", async () => {
  const { a, b, run, clock } = twoHosts({ seed: 8 });
  const path = join(dir.path, "shout.sock");
  const services = await serveBothFamilies(b.api, clock, { port: 7010, path });
  expect(text(await run(talk(a.api, b.address, 7010, bytes("over tcp\n"))))).toBe("OVER TCP\n");
  expect(text(await talkUnix(a.api, path, bytes("over unix\n")))).toBe("OVER UNIX\n");
  await run(Promise.all(services.map((service) => service.stop(0))));
});
