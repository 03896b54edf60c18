import { describe, expect, test } from "bun:test";
import { startHttpServer } from "../../../examples/http/server.ts";
import type { SocketApi } from "../../../sockets/api.ts";
import { type TwoHosts, twoHosts } from "../two_hosts.ts";

interface Response {
  status: number;
  fields: Map<string, string>;
  body: Buffer;
}

/** Splits raw bytes into HTTP responses (Content-Length framing; HEAD has no body). */
function parseResponses(raw: Buffer, heads: boolean[] = []): Response[] {
  const responses: Response[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) throw new Error(`incomplete head: ${raw.subarray(at).toString()}`);
    const [statusLine, ...lines] = raw.subarray(at, end).toString("latin1").split("\r\n");
    const fields = new Map(
      lines.map((l) => [
        l.slice(0, l.indexOf(":")).toLowerCase(),
        l.slice(l.indexOf(":") + 1).trim(),
      ]),
    );
    const length = heads[responses.length] ? 0 : Number(fields.get("content-length"));
    responses.push({
      status: Number(statusLine!.split(" ")[1]),
      fields,
      body: raw.subarray(end + 4, end + 4 + length),
    });
    at = end + 4 + length;
  }
  return responses;
}

/** Connects, sends `request`, shuts down writing unless `keepOpen`, reads until the server closes. */
async function exchange(
  h: TwoHosts,
  request: string | Uint8Array,
  options: { keepOpen?: boolean } = {},
) {
  const api: SocketApi = h.a.api;
  const fd = api.socket("inet", "stream");
  await h.run(api.connect(fd, h.b.address, 80));
  await h.run(api.send(fd, typeof request === "string" ? Buffer.from(request) : request));
  if (!options.keepOpen) api.shutdown(fd, "write");
  const parts: Uint8Array[] = [];
  for (
    let data = await h.run(api.recv(fd, 1 << 20));
    data.length > 0;
    data = await h.run(api.recv(fd, 1 << 20))
  ) {
    parts.push(data);
  }
  const local = api.getsockname(fd);
  api.close(fd);
  return { raw: Buffer.concat(parts), local };
}

function setUp(seed = 1) {
  const h = twoHosts({ seed });
  const server = startHttpServer({ api: h.b.api, stack: h.b.stack, clock: h.clock });
  return { h, server };
}

describe("HTTP server over a memory link", () => {
  test("GET / then GET /bytes/N on one connection (keep-alive), then close", async () => {
    const { h, server } = setUp();
    const { raw } = await exchange(
      h,
      "GET / HTTP/1.1\r\nHost: b\r\n\r\nGET /bytes/100000 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
    );
    const [home, data] = parseResponses(raw);
    expect(home?.status).toBe(200);
    expect(home?.body.toString()).toContain("curl http://10.0.0.2/");
    expect(home?.fields.get("connection")).toBeUndefined();
    expect(data?.status).toBe(200);
    expect(data?.body.length).toBe(100_000);
    expect(data?.fields.get("connection")).toBe("close");
    await h.run(server.stop());
  });

  test("HEAD gives the head of GET, and no body", async () => {
    const { h, server } = setUp(2);
    const { raw } = await exchange(h, "HEAD /bytes/5000 HTTP/1.0\r\n\r\n");
    const [head] = parseResponses(raw, [true]);
    expect(head?.fields.get("content-length")).toBe("5000");
    expect(raw.toString("latin1").endsWith("\r\n\r\n")).toBe(true);
    await h.run(server.stop());
  });

  test("/stats lists the client's own connection", async () => {
    const { h, server } = setUp(3);
    const { raw, local } = await exchange(
      h,
      "GET /stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
      { keepOpen: true },
    );
    const [stats] = parseResponses(raw);
    const json = JSON.parse(stats!.body.toString());
    expect(json.connections).toContainEqual(
      expect.objectContaining({
        remote: `10.0.0.1:${local.port}`,
        local: "10.0.0.2:80",
        state: "ESTABLISHED",
      }),
    );
    expect(json.counters).toBeObject();
    await h.run(server.stop());
  });

  test("a malformed request gets 400 and the connection closes", async () => {
    const { h, server } = setUp(4);
    const { raw } = await exchange(h, "GET / HTTP/1.1\r\nHost : b\r\n\r\n", { keepOpen: true });
    const [response] = parseResponses(raw);
    expect(response?.status).toBe(400);
    expect(response?.fields.get("connection")).toBe("close");
    await h.run(server.stop());
  });

  test("a request left incomplete gets 408 after the header timeout", async () => {
    const { h, server } = setUp(5);
    const started = h.clock.now();
    const { raw } = await exchange(h, "GET / HTTP/1.1\r\nHost:", { keepOpen: true });
    expect(parseResponses(raw)[0]?.status).toBe(408);
    expect(h.clock.now() - started).toBeGreaterThanOrEqual(10_000);
    await h.run(server.stop());
  });

  test("an idle keep-alive connection is closed after the idle timeout", async () => {
    const { h, server } = setUp(6);
    const started = h.clock.now();
    const { raw } = await exchange(h, "GET /bytes/3 HTTP/1.1\r\nHost: b\r\n\r\n", {
      keepOpen: true,
    });
    expect(parseResponses(raw).map((r) => r.body.toString())).toEqual([' !"']);
    expect(h.clock.now() - started).toBeGreaterThanOrEqual(30_000);
    await h.run(server.stop());
  });

  test("pipelined requests with bodies (Content-Length and chunked) are answered in order", async () => {
    const { h, server } = setUp(7);
    const upload = "x".repeat(200_000);
    const chunked = "4\r\nabcd\r\n0\r\n\r\n";
    const { raw } = await exchange(
      h,
      `POST /stats HTTP/1.1\r\nHost: b\r\nContent-Length: ${upload.length}\r\n\r\n${upload}` +
        `PUT / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
        "HEAD / HTTP/1.1\r\nHost: b\r\n\r\n" +
        "GET /nothing HTTP/1.1\r\nHost: b\r\n\r\n" +
        "GET /bytes/7 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
    );
    const responses = parseResponses(raw, [false, false, true, false, false]);
    expect(responses.map((r) => r.status)).toEqual([405, 405, 200, 404, 200]);
    expect(responses[0]?.fields.get("allow")).toBe("GET, HEAD");
    expect(Number(responses[2]?.fields.get("content-length"))).toBeGreaterThan(100);
    expect(responses[4]?.body.toString()).toBe(' !"#$%&');
    await h.run(server.stop());
  });

  test("a request sent one byte every 2 s gets 408 once 10 s have passed since its first byte", async () => {
    const { h, server } = setUp(8);
    const api = h.a.api;
    const fd = api.socket("inet", "stream");
    await h.run(api.connect(fd, h.b.address, 80));
    const started = h.clock.now();
    let answeredAt = 0;
    const reply = api.recv(fd, 4096).then((data) => {
      answeredAt = h.clock.now();
      return data;
    });
    for (const byte of "GET / HTTP/1.1\r\n") {
      if (answeredAt > 0) break;
      await h.run(api.send(fd, Buffer.from(byte)));
      await h.pass(2000);
    }
    const text = Buffer.from(await h.run(reply)).toString();
    expect(text).toStartWith("HTTP/1.1 408 Request Timeout\r\n");
    expect(answeredAt - started).toBeGreaterThanOrEqual(10_000);
    expect(answeredAt - started).toBeLessThan(10_100);
    api.close(fd);
    await h.run(server.stop());
  });
  test("Expect: 100-continue is answered with 100 (Continue) once the head is in, then the reply after the body", async () => {
    const { h, server } = setUp(9);
    const api = h.a.api;
    const fd = api.socket("inet", "stream");
    await h.run(api.connect(fd, h.b.address, 80));
    const head =
      "POST /bytes/5 HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    await h.run(api.send(fd, Buffer.from(head)));
    // RFC 9110 §10.1.1: the client waits for the interim reply before sending the body.
    const interim = Buffer.from(await h.run(api.recv(fd, 4096))).toString();
    expect(interim).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    await h.run(api.send(fd, Buffer.from("body")));
    api.shutdown(fd, "write");
    const parts: Uint8Array[] = [];
    for (let d = await h.run(api.recv(fd, 4096)); d.length > 0; d = await h.run(api.recv(fd, 4096)))
      parts.push(d);
    const [final] = parseResponses(Buffer.concat(parts));
    expect(final?.status).toBe(405); // /bytes/N is GET and HEAD only; the body was read first
    api.close(fd);
    await h.run(server.stop());
  });

  test("without Expect, no interim reply; a body that keeps arriving may take longer than the header timeout, one that stops gets 408", async () => {
    const { h, server } = setUp(10);
    const api = h.a.api;
    const fd = api.socket("inet", "stream");
    await h.run(api.connect(fd, h.b.address, 80));
    let reply: Uint8Array | undefined;
    const replied = api.recv(fd, 4096).then((data) => {
      reply = data;
    });
    await h.run(
      api.send(fd, Buffer.from("GET / HTTP/1.1\r\nHost: b\r\nContent-Length: 20\r\n\r\n")),
    );
    // 10 body bytes, one every 2 s: 20 s in all, each pause well under the 10 s timeout.
    for (let i = 0; i < 10; i++) {
      await h.pass(2000);
      await h.run(api.send(fd, Buffer.from("x")));
    }
    expect(reply).toBeUndefined();
    // Then the body stops: 408, counted from the last byte that came.
    const stoppedAt = h.clock.now();
    await h.run(replied);
    const text = Buffer.from(reply!).toString();
    expect(text).toStartWith("HTTP/1.1 408 Request Timeout\r\n");
    expect(h.clock.now() - stoppedAt).toBeGreaterThanOrEqual(10_000);
    api.close(fd);
    await h.run(server.stop());
  });
});
