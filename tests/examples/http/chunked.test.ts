import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ChunkedBodySkipper } from "../../../examples/http/chunked.ts";
import { type ParseResult, RequestParser } from "../../../examples/http/parser.ts";

const encoder = new TextEncoder();

/** Encodes `sizes` as a chunked body (RFC 9112 §7.1), with optional extensions and trailers. */
function chunkedBody(
  sizes: number[],
  options: { extensions?: boolean; trailers?: boolean; lf?: boolean },
) {
  const eol = options.lf ? "\n" : "\r\n";
  const ext = options.extensions ? ";name=value" : "";
  let text = "";
  for (const size of sizes) text += `${size.toString(16)}${ext}${eol}${"d".repeat(size)}${eol}`;
  text += `0${ext}${eol}`;
  if (options.trailers) text += `X-Checksum: 1234${eol}`;
  return text + eol;
}

describe("the chunked coding (RFC 9112 §7.1)", () => {
  test("a chunked request body is skipped and the pipelined request after it is parsed", () => {
    const parser = new RequestParser();
    const body = chunkedBody([5, 16], { extensions: true, trailers: true });
    parser.push(
      encoder.encode(`POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`),
    );
    parser.push(encoder.encode("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"));
    const first = parser.next();
    expect(first.kind === "request" && [first.request.path, first.request.bodyLength]).toEqual([
      "/up",
      21,
    ]);
    const second = parser.next();
    expect(second.kind === "request" && second.request.path).toBe("/next");
  });

  test("any split of any chunked body decodes to the same length", () => {
    const sizes = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 });
    const flags = fc.record({ extensions: fc.boolean(), trailers: fc.boolean(), lf: fc.boolean() });
    fc.assert(
      fc.property(sizes, flags, fc.array(fc.nat(), { maxLength: 5 }), (chunkSizes, opts, cuts) => {
        const bytes = encoder.encode(`${chunkedBody(chunkSizes, opts)}rest`);
        const skipper = new ChunkedBodySkipper(1 << 20);
        const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
        let at = 0;
        for (const end of [...points, bytes.length]) {
          if (skipper.done) break;
          const result = skipper.feed(bytes.subarray(at, end));
          if (result.kind !== "progress") throw new Error(result.reason);
          at += result.consumed;
          // Until the body ends, every byte offered is taken.
          if (!result.done) expect(at).toBe(end);
        }
        expect(skipper.done).toBe(true);
        expect(skipper.total).toBe(chunkSizes.reduce((a, b) => a + b, 0));
        expect(Buffer.from(bytes.subarray(at)).toString()).toBe("rest");
      }),
    );
  });

  test.each<[string, number]>([
    ["zz\r\n", 400],
    ["\r\n", 400],
    ["5\r\nhello!\r\n", 400], // more data than the size says
    ["5\rhello\r\n", 400], // bare CR
    ["123456789\r\n", 413], // nine hex digits
    ["100001\r\n", 413], // 1 MiB + 1
  ])("%j is an error %d", (body, status) => {
    const result = new ChunkedBodySkipper(1 << 20).feed(encoder.encode(body));
    expect(result).toMatchObject({ kind: "error", status });
  });

  test("random bytes as a chunked body never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const parser = new RequestParser();
        parser.push(
          encoder.encode("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        );
        parser.push(bytes);
        const result: ParseResult = parser.next();
        expect(["request", "need-more", "error"].includes(result.kind)).toBe(true);
      }),
    );
  });
});
