import { describe, expect, test } from "bun:test";
import { chargenBuffer } from "../../../examples/services/pattern.ts";
import { parseServiceList, startServices } from "../../../examples/services/services.ts";
import { talk } from "../../../examples/tcp_client.ts";
import { POLLIN } from "../../../sockets/api.ts";
import { twoHosts } from "../two_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function withServices(seed = 1) {
  const hosts = twoHosts({ seed });
  const services = startServices(hosts.b.api, { clock: hosts.clock, stack: hosts.b.stack });
  return { ...hosts, services };
}

describe("TCP services", () => {
  test("echo (RFC 862) and discard (RFC 863)", async () => {
    const { a, b, run, services } = withServices();
    expect(Buffer.from(await run(talk(a.api, b.address, 7, bytes("ping\n")))).toString()).toBe(
      "ping\n",
    );
    expect((await run(talk(a.api, b.address, 9, new Uint8Array(200_000)))).length).toBe(0);
    await run(services.stop());
  });

  test("chargen (RFC 864): the rotating pattern until the client closes", async () => {
    const { a, b, run, services } = withServices(2);
    const fd = a.api.socket("inet", "stream");
    await run(a.api.connect(fd, b.address, 19));
    const received: Uint8Array[] = [];
    let total = 0;
    while (total < 200_000) {
      const data = await run(a.api.recv(fd, 65536));
      received.push(data);
      total += data.length;
    }
    a.api.close(fd);
    const pattern = chargenBuffer();
    const got = Buffer.concat(received).subarray(0, 200_000);
    for (let i = 0; i < got.length; i += 997) expect(got[i]).toBe(pattern[i % pattern.length]!);
    await run(services.stop());
  });

  test("stop(): clients get a FIN first, then a RST after the grace period", async () => {
    const { a, b, clock, run, pass, services } = withServices(3);
    const fd = a.api.socket("inet", "stream");
    await run(a.api.connect(fd, b.address, 7));
    await run(a.api.send(fd, bytes("x")));
    expect((await run(a.api.recv(fd, 100))).length).toBe(1); // accepted and served
    const eof = a.api.recv(fd, 100);
    const stopping = services.stop(500);
    expect((await run(eof)).length).toBe(0); // the FIN: end of stream
    const started = clock.now();
    await run(stopping);
    expect(clock.now() - started).toBeGreaterThanOrEqual(400);
    // The client never closed, so the server reset it: the next send finds out.
    await pass(10);
    await expect(run(a.api.send(fd, new Uint8Array(10)))).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|EPIPE/),
    });
    a.api.close(fd);
  });
});

test("stop(): a connection with unsent data (a chargen client not reading) is reset, not abandoned", async () => {
  const { a, b, run, pass, services } = withServices(12);
  const fd = a.api.socket("inet", "stream");
  await run(a.api.connect(fd, b.address, 19));
  await pass(200); // the client's receive buffer fills; chargen's send waits
  await run(services.stop(300));
  await pass(10);
  const left = [...b.stack.tcp.connections()].filter((c) => c.state !== "TIME-WAIT");
  expect(left.map((c) => c.state)).toEqual([]);
  a.api.close(fd);
});

describe("UDP services", () => {
  test("echo answers with the same datagram; discard never answers; chargen answers 0-512 bytes", async () => {
    const { a, b, run, services } = withServices(4);
    const fd = a.api.socket("inet", "dgram");
    await run(a.api.sendto(fd, bytes("hello"), b.address, 7));
    const echoed = await run(a.api.recvfrom(fd, 2048));
    expect(Buffer.from(echoed.data).toString()).toBe("hello");
    expect(echoed.port).toBe(7);
    await run(a.api.sendto(fd, bytes("void"), b.address, 9));
    expect(await run(a.api.poll([{ fd, events: POLLIN }], 1000))).toEqual([]);
    await run(a.api.sendto(fd, bytes("?"), b.address, 19));
    const generated = await run(a.api.recvfrom(fd, 2048));
    expect(generated.data.length).toBeLessThanOrEqual(512);
    expect(generated.port).toBe(19);
    a.api.close(fd);
    await run(services.stop());
  });
});

test("service lists", () => {
  expect(parseServiceList("echo, http")).toEqual(["echo", "http"]);
  expect(() => parseServiceList("echo,gopher")).toThrow('unknown service "gopher"');
});

test("describe() names each service's ports", async () => {
  const { run, services } = withServices(5);
  expect(services.describe()).toBe(
    "echo tcp/7 udp/7, discard tcp/9 udp/9, chargen tcp/19 udp/19, http tcp/80",
  );
  await run(services.stop());
});
