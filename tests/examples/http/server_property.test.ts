/**
 * A property over the whole server: any sequence of pipelined requests, sent in one go
 * over the memory link, is answered in order with the statuses `route()` promises, and a
 * malformed request ends the connection after its 400.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { startHttpServer } from "../../../examples/http/server.ts";
import { twoHosts } from "../two_hosts.ts";

interface Case {
  text: string;
  status: number;
  head: boolean;
}

const caseArbitrary: fc.Arbitrary<Case> = fc.oneof(
  fc
    .record({ method: fc.constantFrom("GET", "HEAD"), n: fc.nat({ max: 3000 }) })
    .map(({ method, n }) => ({
      text: `${method} /bytes/${n} HTTP/1.1\r\nHost: b\r\n\r\n`,
      status: 200,
      head: method === "HEAD",
    })),
  fc.constantFrom("/", "/stats", "/stats?format=text").map((path) => ({
    text: `GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`,
    status: 200,
    head: false,
  })),
  fc.constantFrom("POST", "DELETE", "OPTIONS").map((method) => ({
    text: `${method} / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc`,
    status: 405,
    head: false,
  })),
  fc.stringMatching(/^\/[a-z]{1,8}$/).map((path) => ({
    text: `GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`,
    status: path === "/stats" ? 200 : 404,
    head: false,
  })),
);

const malformed = fc.constantFrom(
  "GET / HTTP/1.1\r\nHost : b\r\n\r\n",
  "GET /a b HTTP/1.1\r\nHost: b\r\n\r\n",
  "GET / HTTP/1.1\r\n\r\n",
);

function statuses(raw: Buffer, heads: boolean[]): number[] {
  const found: number[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) throw new Error("incomplete response head");
    const head = raw.subarray(at, end).toString("latin1");
    found.push(Number(head.split(" ")[1]));
    const length = heads[found.length - 1] ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1]);
    at = end + 4 + length;
  }
  return found;
}

test("pipelined requests get their statuses in order; a malformed one ends the connection", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(caseArbitrary, { minLength: 1, maxLength: 6 }),
      fc.option(malformed, { nil: undefined }),
      fc.integer({ min: 1, max: 1000 }),
      async (cases, bad, seed) => {
        const h = twoHosts({ seed });
        const server = startHttpServer({ api: h.b.api, stack: h.b.stack, clock: h.clock });
        const texts = cases.map((c) => c.text);
        if (bad === undefined) {
          texts[texts.length - 1] = texts
            .at(-1)!
            .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
        } else texts.push(bad, "GET / HTTP/1.1\r\nHost: b\r\n\r\n"); // never answered
        const fd = h.a.api.socket("inet", "stream");
        await h.run(h.a.api.connect(fd, h.b.address, 80));
        await h.run(h.a.api.send(fd, Buffer.from(texts.join(""))));
        const parts: Uint8Array[] = [];
        for (
          let d = await h.run(h.a.api.recv(fd, 1 << 16));
          d.length > 0;
          d = await h.run(h.a.api.recv(fd, 1 << 16))
        ) {
          parts.push(d);
        }
        h.a.api.close(fd);
        const expected = [...cases.map((c) => c.status), ...(bad === undefined ? [] : [400])];
        const heads = [...cases.map((c) => c.head), false];
        expect(statuses(Buffer.concat(parts), heads)).toEqual(expected);
        await h.run(server.stop(100));
      },
    ),
    { numRuns: 25 },
  );
}, 60_000);
