import { describe, expect, test } from "bun:test";
import { startEpollEchoServer } from "../../examples/echo_epoll.ts";
import { startEchoServer } from "../../examples/echo_server.ts";
import { talk } from "../../examples/tcp_client.ts";
import { ping, startPonger } from "../../examples/udp_pair.ts";
import { twoHosts } from "./two_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("sample programs over a memory link", () => {
  test("echo server, one task per client: the client's words come back", async () => {
    const { a, b, run } = twoHosts();
    const server = startEchoServer(b.api, 7007);
    expect(text(await run(talk(a.api, b.address, server.port, bytes("hello, echo\n"))))).toBe(
      "hello, echo\n",
    );
    server.stop();
  });

  test("echo server: three clients at once, 100 kB each, each gets its own bytes", async () => {
    const { a, b, run } = twoHosts({ seed: 2 });
    const server = startEchoServer(b.api, 7007);
    const messages = [1, 2, 3].map((n) => new Uint8Array(100_000).fill(n));
    const answers = await run(Promise.all(messages.map((m) => talk(a.api, b.address, 7007, m))));
    for (const [i, answer] of answers.entries())
      expect(Buffer.compare(answer, messages[i]!)).toBe(0);
    server.stop();
  });

  test("echo server as one epoll loop: same answers, including a large one", async () => {
    const { a, b, run } = twoHosts({ seed: 3 });
    const server = startEpollEchoServer(b.api, 7008);
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
    const [small, large] = await run(
      Promise.all([
        talk(a.api, b.address, 7008, bytes("epoll")),
        talk(a.api, b.address, 7008, big),
      ]),
    );
    expect(text(small!)).toBe("epoll");
    expect(Buffer.compare(large!, big)).toBe(0);
    await run(server.stop());
  });

  test("the client sees ECONNREFUSED when nothing listens", async () => {
    const { a, b, run } = twoHosts({ seed: 4 });
    await expect(run(talk(a.api, b.address, 9999, bytes("x")))).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });

  test("UDP pair: each ping gets its pong, boundaries kept", async () => {
    const { a, b, run } = twoHosts({ seed: 5 });
    const ponger = startPonger(b.api, 5005);
    const answers = await run(ping(a.api, b.address, ponger.port, { count: 3, timeoutMs: 1000 }));
    expect(answers).toEqual(["pong ping 1", "pong ping 2", "pong ping 3"]);
    ponger.stop();
  });

  test("UDP pair: a silent peer makes every ping time out", async () => {
    const { a, b, clock, run } = twoHosts({ seed: 6 });
    const silent = b.api.socket("inet", "dgram");
    b.api.bind(silent, "0.0.0.0", 5006); // bound, so no ICMP error; never answers
    const started = clock.now();
    const answers = await run(ping(a.api, b.address, 5006, { count: 2, timeoutMs: 500 }));
    expect(answers).toEqual([]);
    expect(clock.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test("UDP pair: no one on the port gives ECONNREFUSED (ICMP port unreachable)", async () => {
    const { a, b, run } = twoHosts({ seed: 7 });
    await expect(
      run(ping(a.api, b.address, 5007, { count: 1, timeoutMs: 500 })),
    ).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });
});
