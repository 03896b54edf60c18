import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  headerValue,
  keepsAlive,
  MAX_BODY_BYTES,
  type ParseResult,
  RequestParser,
} from "../../../examples/http/parser.ts";

const encoder = new TextEncoder();

function parseAll(text: string | Uint8Array): ParseResult[] {
  const parser = new RequestParser();
  parser.push(typeof text === "string" ? encoder.encode(text) : text);
  const results: ParseResult[] = [];
  for (let i = 0; i < 100; i++) {
    const result = parser.next();
    results.push(result);
    if (result.kind !== "request") break;
  }
  return results;
}

function statusOf(text: string): number | string {
  const [first] = parseAll(text);
  return first?.kind === "error" ? first.status : (first?.kind ?? "none");
}

describe("request line and fields", () => {
  test("a simple GET", () => {
    const [result] = parseAll(
      "GET /bytes/10?x=1 HTTP/1.1\r\nHost: 10.0.0.2\r\nAccept: */*\r\n\r\n",
    );
    expect(result?.kind).toBe("request");
    if (result?.kind !== "request") return;
    expect(result.request.method).toBe("GET");
    expect(result.request.path).toBe("/bytes/10");
    expect(result.request.query).toBe("x=1");
    expect(result.request.version).toBe("HTTP/1.1");
    expect(headerValue(result.request, "accept")).toBe("*/*");
    expect(headerValue(result.request, "host")).toBe("10.0.0.2");
  });

  test("absolute-form target keeps its path (RFC 9112 §3.2.2)", () => {
    const [result] = parseAll("GET http://10.0.0.2/stats?format=text HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(result?.kind === "request" && result.request.path).toBe("/stats");
    expect(result?.kind === "request" && result.request.query).toBe("format=text");
  });

  test("bare LF line ends are accepted, bare CR is rejected", () => {
    expect(statusOf("GET / HTTP/1.0\n\n")).toBe("request");
    expect(statusOf("GET / HTTP/1.0\r\nA: b\rc\r\n\r\n")).toBe(400);
  });

  test("leading empty lines are skipped (RFC 9112 §2.2)", () => {
    expect(statusOf("\r\n\r\nGET / HTTP/1.0\r\n\r\n")).toBe("request");
  });

  test.each([
    ["GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400],
    ["G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET /a<b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400], // space before colon
    ["GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400], // obs-fold
    ["GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["GET / HTTP/1\r\nHost: a\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", 400],
    [`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`, 413],
  ])("%j gives %d", (text, status) => {
    expect(statusOf(text)).toBe(status);
  });

  test("limits: 414 for a long request line, 431 for a large header section", () => {
    expect(statusOf(`GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`)).toBe(414);
    expect(statusOf(`GET /${"a".repeat(9000)}`)).toBe(414); // before the line even ends
    const big = Array.from({ length: 200 }, (_, i) => `X-${i}: ${"v".repeat(100)}\r\n`).join("");
    expect(statusOf(`GET / HTTP/1.1\r\nHost: a\r\n${big}\r\n`)).toBe(431);
    expect(statusOf(`GET / HTTP/1.1\r\nHost: a\r\n${big}`)).toBe(431);
  });

  test("identical Content-Length values are one value (RFC 9110 §8.6)", () => {
    const results = parseAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc");
    expect(results[0]?.kind === "request" && results[0].request.bodyLength).toBe(3);
  });
});

describe("bodies and pipelining", () => {
  test("a body is skipped and the next pipelined request follows", () => {
    const text =
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /y HTTP/1.1\r\nHost: a\r\n\r\n";
    const results = parseAll(text);
    expect(results.map((r) => (r.kind === "request" ? r.request.path : r.kind))).toEqual([
      "/x",
      "/y",
      "need-more",
    ]);
  });

  test("a body arriving in pieces is discarded as it comes", () => {
    const parser = new RequestParser();
    parser.push(encoder.encode("PUT / HTTP/1.0\r\nContent-Length: 100000\r\n\r\n"));
    expect(parser.next().kind).toBe("need-more");
    for (let i = 0; i < 99; i++) parser.push(new Uint8Array(1000));
    expect(parser.next().kind).toBe("need-more");
    parser.push(new Uint8Array(1000));
    expect(parser.next().kind).toBe("request");
    expect(parser.hasPartial).toBe(false);
  });

  test("one byte at a time gives the same request", () => {
    const parser = new RequestParser();
    const bytes = encoder.encode("GET /stats HTTP/1.1\r\nHost: h\r\n\r\n");
    const results: string[] = [];
    for (const byte of bytes) {
      parser.push(Uint8Array.of(byte));
      results.push(parser.next().kind);
    }
    expect(results.slice(0, -1).every((kind) => kind === "need-more")).toBe(true);
    expect(results.at(-1)).toBe("request");
  });

  test("keep-alive rules (RFC 9112 §9.3)", () => {
    const keep = (text: string) => {
      const [r] = parseAll(text);
      return r?.kind === "request" ? keepsAlive(r.request) : undefined;
    };
    expect(keep("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(true);
    expect(keep("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")).toBe(false);
    expect(keep("GET / HTTP/1.0\r\n\r\n")).toBe(false);
    expect(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).toBe(true);
  });
});

describe("properties", () => {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
  const segment = fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{0,8}$/);
  const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`);
  const query = fc.option(fc.stringMatching(/^[A-Za-z0-9=&/?]{0,10}$/), { nil: undefined });
  const fieldValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
  const field = fc.tuple(
    token.filter((t) => !["host", "content-length", "transfer-encoding"].includes(t.toLowerCase())),
    fieldValue,
  );
  const request = fc.record({
    method: token,
    path,
    query,
    version: fc.constantFrom("HTTP/1.0", "HTTP/1.1"),
    fields: fc.array(field, { maxLength: 6 }),
    body: fc.nat({ max: 300 }),
    lineEnd: fc.constantFrom("\r\n", "\n"),
  });
  type Built = typeof request extends fc.Arbitrary<infer T> ? T : never;

  function build(r: Built): Uint8Array {
    const target = r.query === undefined ? r.path : `${r.path}?${r.query}`;
    const fields: [string, string][] = [["Host", "example"], ...r.fields];
    if (r.body > 0) fields.push(["Content-Length", String(r.body)]);
    const head = [`${r.method} ${target} ${r.version}`, ...fields.map(([n, v]) => `${n}: ${v}`)];
    const text = head.map((line) => line + r.lineEnd).join("") + r.lineEnd + "b".repeat(r.body);
    return encoder.encode(text);
  }

  test("valid requests round-trip, however the bytes are split", () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 3 }), fc.nat(), (reqs, cut) => {
        const bytes = Buffer.concat(reqs.map(build));
        const parser = new RequestParser();
        const at = cut % (bytes.length + 1);
        const got: ParseResult[] = [];
        for (const piece of [bytes.subarray(0, at), bytes.subarray(at)]) {
          parser.push(piece);
          for (let r = parser.next(); r.kind === "request"; r = parser.next()) got.push(r);
        }
        expect(got.length).toBe(reqs.length);
        got.forEach((result, i) => {
          const want = reqs[i]!;
          if (result.kind !== "request") throw new Error("not a request");
          expect(result.request.method).toBe(want.method);
          expect(result.request.path).toBe(want.path);
          expect(result.request.query).toBe(want.query ?? "");
          expect(result.request.version).toBe(want.version);
          expect(result.request.bodyLength).toBe(want.body);
          expect(result.request.headers.slice(1, 1 + want.fields.length)).toEqual(
            want.fields.map(([n, v]) => [n.toLowerCase(), v]),
          );
        });
        expect(parser.hasPartial).toBe(false);
      }),
    );
  });

  const outcomes = new Set(["request", "need-more", "error"]);
  const errorStatuses = new Set([400, 413, 414, 431, 501, 505]);
  function checkNeverThrows(bytes: Uint8Array): void {
    for (const result of parseAll(bytes)) {
      expect(outcomes.has(result.kind)).toBe(true);
      if (result.kind === "error") expect(errorStatuses.has(result.status)).toBe(true);
    }
  }

  test("random bytes never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), checkNeverThrows));
  });

  test("mutated valid requests never throw", () => {
    fc.assert(
      fc.property(
        request,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }),
        (r, mutations) => {
          const bytes = build(r);
          for (const [at, value] of mutations) bytes[at % bytes.length] = value;
          checkNeverThrows(bytes);
        },
      ),
    );
  });
});
