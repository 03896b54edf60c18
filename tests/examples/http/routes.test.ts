import { describe, expect, test } from "bun:test";
import { type HttpRequest, RequestParser } from "../../../examples/http/parser.ts";
import { quality, type Reply, type RouteContext, route } from "../../../examples/http/routes.ts";
import { chargenLine } from "../../../examples/services/pattern.ts";
import type { Stack } from "../../../stack/stack.ts";
import { Stats } from "../../../stack/stats.ts";
import type { TcpConnection } from "../../../stack/tcp/connection.ts";

function request(text: string): HttpRequest {
  const parser = new RequestParser();
  parser.push(new TextEncoder().encode(text));
  const result = parser.next();
  if (result.kind !== "request") throw new Error(`not a request: ${JSON.stringify(result)}`);
  return result.request;
}

/** A stand-in stack with one ESTABLISHED connection and two counters. */
function context(): RouteContext {
  const stats = new Stats();
  stats.count("tcpActiveOpens");
  stats.count("ipInReceives", 3);
  const connection = {
    localAddress: 0x0a000002,
    localPort: 80,
    remoteAddress: 0x0a000001,
    remotePort: 53422,
    state: "ESTABLISHED",
    readableBytes: 5,
    writableBytes: 1000,
    options: { sendBufferBytes: 1500 },
    info: () => ({ srttMs: 0.5, rtoMs: 200, cwndBytes: 14600, retransmits: 2 }),
  } as unknown as TcpConnection;
  const stack = { address: 0x0a000002, stats, tcp: { connections: () => [connection] } };
  return {
    stack: stack as unknown as Stack,
    now: 0,
    services: [{ name: "echo", protocol: "tcp", port: 7 }],
  };
}

function body(reply: Reply): string {
  return Buffer.concat([...reply.chunks]).toString("latin1");
}

const get = (target: string, fields = "") =>
  route(request(`GET ${target} HTTP/1.1\r\nHost: x\r\n${fields}\r\n`), context());

describe("routes", () => {
  test("the home page names the address and the services", () => {
    const reply = get("/");
    expect(reply.status).toBe(200);
    expect(body(reply)).toContain("ping 10.0.0.2");
    expect(body(reply)).toContain("echo     tcp/7");
    expect(reply.fields).toContainEqual(["Content-Type", "text/plain; charset=utf-8"]);
    expect(get("/", "Accept: text/html\r\n").fields).toContainEqual([
      "Content-Type",
      "text/html; charset=utf-8",
    ]);
  });

  test("/bytes/N is exactly N bytes of the chargen pattern, in bounded chunks", () => {
    for (const n of [0, 1, 74, 63270, 63271, 200000]) {
      const reply = get(`/bytes/${n}`);
      const chunks = [...reply.chunks];
      expect(reply.length).toBe(n);
      expect(chunks.reduce((sum, c) => sum + c.length, 0)).toBe(n);
      expect(chunks.every((c) => c.length <= 65536)).toBe(true);
    }
    expect(body(get("/bytes/148"))).toBe(
      Buffer.concat([chargenLine(0), chargenLine(1)]).toString("latin1"),
    );
  });

  test("/bytes/10^12 is promised, not built", () => {
    const reply = get("/bytes/1000000000000");
    expect(reply.length).toBe(1e12);
    const first = reply.chunks[Symbol.iterator]().next();
    expect(first.value?.length).toBe(63270);
  });

  test.each(["/bytes/-1", "/bytes/abc", "/bytes/01", "/bytes/1000000000001", "/bytes/"])(
    "%s is 400",
    (target) => {
      expect(get(target).status).toBe(400);
    },
  );

  test("/stats is JSON for curl's */*, text when asked", () => {
    const json = JSON.parse(body(get("/stats", "Accept: */*\r\n")));
    expect(json.address).toBe("10.0.0.2");
    expect(json.counters).toEqual({ ipInReceives: 3, tcpActiveOpens: 1 });
    expect(json.listening).toMatchObject([
      { protocol: "tcp", local: "0.0.0.0:7", state: "LISTEN" },
    ]);
    expect(json.connections).toEqual([
      {
        protocol: "tcp",
        local: "10.0.0.2:80",
        remote: "10.0.0.1:53422",
        state: "ESTABLISHED",
        recvQ: 5,
        sendQ: 500,
        srttMs: 0.5,
        rtoMs: 200,
        cwndBytes: 14600,
        retransmits: 2,
      },
    ]);
    const text = body(get("/stats?format=text"));
    expect(text).toMatch(/^Proto\s+State\s+Recv-Q\s+Send-Q/);
    expect(text).toMatch(/tcp\s+LISTEN\s+0\s+0\s+0\.0\.0\.0:7\s+0\.0\.0\.0:\*\s+-\/-/);
    expect(text).toMatch(
      /tcp\s+ESTABLISHED\s+5\s+500\s+10\.0\.0\.2:80\s+10\.0\.0\.1:53422\s+0\.5\/200\s+14600\s+2/,
    );
    expect(text).toMatch(/tcpActiveOpens\s+1/);
    expect(body(get("/stats", "Accept: text/plain\r\n"))).toStartWith("Proto");
    expect(body(get("/stats", "Accept: text/plain;q=0.5, application/json\r\n"))).toStartWith("{");
  });

  test("404, and 405 with Allow", () => {
    expect(get("/nope").status).toBe(404);
    const reply = route(request("DELETE /stats HTTP/1.1\r\nHost: x\r\n\r\n"), context());
    expect(reply.status).toBe(405);
    expect(reply.fields).toContainEqual(["Allow", "GET, HEAD"]);
  });

  test("Accept q-values (RFC 9110 §12.5.1)", () => {
    expect(quality("*/*", "text/plain")).toBe(1);
    expect(quality("text/*;q=0.3, text/plain;q=0.7", "text/plain")).toBe(0.7);
    expect(quality("text/*;q=0.3", "text/plain")).toBe(0.3);
    expect(quality("application/json", "text/plain")).toBe(0);
  });
});
