/**
 * isIP / isIPv4 / isIPv6 answer as node:net does: examples from each rule, and a property
 * over strings built from address-like pieces, compared with Bun's own node:net.
 */
import { expect, test } from "bun:test";
import * as nodeNet from "node:net";
import fc from "fast-check";
import { isIP, isIPv4, isIPv6 } from "../../net/ip.ts";

test("examples: dotted quads without leading zeros, RFC 4291 text forms, zones", () => {
  const cases: [string, 0 | 4 | 6][] = [
    ["10.0.0.1", 4],
    ["255.255.255.255", 4],
    ["256.0.0.1", 0],
    ["010.0.0.1", 0], // inet_aton would read octal; Node refuses it
    ["1.2.3", 0],
    ["::", 6],
    ["::1", 6],
    ["fe80::1%eth0", 6],
    ["2001:db8::1:2:3:4:5", 6],
    ["2001:db8:0:0:0:0:0:1", 6],
    ["1:2:3:4:5:6:7:8:9", 0],
    ["::ffff:10.0.0.1", 6],
    ["1::2::3", 0],
    ["12345::", 0],
    ["", 0],
  ];
  for (const [text, family] of cases) {
    expect([text, isIP(text)]).toEqual([text, family]);
    expect(isIPv4(text)).toBe(family === 4);
    expect(isIPv6(text)).toBe(family === 6);
  }
  expect(isIP(42 as unknown as string)).toBe(0);
});

test("property: the same answer as Bun's node:net for address-like strings", () => {
  const piece = fc.oneof(
    fc.constantFrom(
      "",
      "0",
      "1",
      "00",
      "255",
      "256",
      "ffff",
      "FFFF",
      "12345",
      "g",
      "1.2.3.4",
      "%lo",
      "%",
    ),
    fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
    fc.integer({ min: 0, max: 300 }).map(String),
  );
  const separator = fc.constantFrom(".", ":", "::");
  const text = fc
    .array(fc.tuple(piece, separator), { maxLength: 10 })
    .chain((parts) => piece.map((last) => parts.map(([p, s]) => p + s).join("") + last));
  fc.assert(
    fc.property(text, (input) => {
      expect([input, isIP(input)]).toEqual([input, nodeNet.isIP(input) as 0 | 4 | 6]);
    }),
    { numRuns: 20_000, seed: 15 },
  );
});
