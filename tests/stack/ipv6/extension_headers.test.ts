import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NextHeader } from "../../../stack/ipv6/datagram.ts";
import {
  chainStartOf,
  MAX_EXTENSION_HEADERS,
  ParameterProblemCode,
  skipToUpperLayer,
  walkChain,
} from "../../../stack/ipv6/extension_headers.ts";
import {
  concat,
  extensionHeader,
  fragmentHeader,
  ipv6Packet,
  options,
  routingHeader,
} from "./fixtures/packets6.ts";

const { HOP_BY_HOP, DESTINATION_OPTIONS, ROUTING, UDP, TCP, ICMPV6, NO_NEXT_HEADER } = NextHeader;
const data = (n: number) => new Uint8Array(n).fill(0xab);

/** A packet whose fixed header names `first` and whose payload is `headers` then 8 octets. */
function chain(first: number, ...headers: Uint8Array[]): Uint8Array {
  return ipv6Packet({ nextHeader: first, payload: concat(...headers, data(8)) });
}

function walk(packet: Uint8Array) {
  return walkChain(packet, chainStartOf(packet));
}

/** One header of a chain that is acceptable: what it is and its bytes, given what follows. */
type Link = { kind: number; make: (next: number) => Uint8Array };

const skippableOption = fc
  .tuple(
    fc.integer({ min: 2, max: 0x3f }).filter((t) => t !== 5),
    fc.uint8Array({ maxLength: 12 }),
  )
  .map(([type, bytes]): [number, Uint8Array] => [type, bytes]);
const knownOption = fc.oneof(
  fc.constant<[number, Uint8Array?]>([0]), // Pad1
  fc.uint8Array({ maxLength: 6 }).map((b): [number, Uint8Array] => [1, b]), // PadN
  fc.constant<[number, Uint8Array]>([5, new Uint8Array(2)]), // Router Alert
  skippableOption, // unknown, action 00: skipped
);
const optionsLink = (kind: number) =>
  fc
    .array(knownOption, { maxLength: 5 })
    .map((list): Link => ({ kind, make: (next) => extensionHeader(next, options(...list)) }));
const link: fc.Arbitrary<Link> = fc.oneof(
  optionsLink(DESTINATION_OPTIONS),
  fc
    .integer({ min: 0, max: 255 })
    .map((type): Link => ({ kind: ROUTING, make: (next) => routingHeader(next, type, 0) })),
);

/** Builds the chain: optional hop-by-hop first, the links, then the upper layer. */
function build(
  hopByHop: Link | undefined,
  links: Link[],
  upper: number,
): { packet: Uint8Array; offset: number } {
  const all = hopByHop ? [hopByHop, ...links] : links;
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < all.length; i++) bytes.push(all[i]!.make(all[i + 1]?.kind ?? upper));
  const headers = concat(...bytes);
  const packet = ipv6Packet({
    nextHeader: all[0]?.kind ?? upper,
    payload: concat(headers, data(20)),
  });
  return { packet, offset: 40 + headers.length };
}

describe("extension-header chains (RFC 8200 §4)", () => {
  test("any acceptable chain walks to its upper layer at the right offset", () => {
    fc.assert(
      fc.property(
        fc.option(optionsLink(HOP_BY_HOP), { nil: undefined }),
        fc.array(link, { maxLength: MAX_EXTENSION_HEADERS - 1 }),
        fc.constantFrom(UDP, TCP, ICMPV6),
        (hopByHop, links, upper) => {
          const { packet, offset } = build(hopByHop, links, upper);
          expect(walk(packet)).toEqual({ kind: "upper", protocol: upper, offset });
          expect(skipToUpperLayer(packet)).toEqual({ protocol: upper, offset });
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("a chain longer than the limit is dropped, not walked to the end", () => {
    const links = Array.from({ length: MAX_EXTENSION_HEADERS + 1 }, () => ({
      kind: DESTINATION_OPTIONS,
      make: (next: number) => extensionHeader(next, new Uint8Array(0)),
    }));
    const { packet } = build(undefined, links, UDP);
    expect(walk(packet)).toMatchObject({ kind: "drop", detail: "extension header chain too long" });
    expect(skipToUpperLayer(packet)).toBeUndefined();
  });

  test("no next header (59) ends the walk (§4.7)", () => {
    expect(
      walk(chain(DESTINATION_OPTIONS, extensionHeader(NO_NEXT_HEADER, new Uint8Array(0)))),
    ).toEqual({
      kind: "noNextHeader",
    });
  });

  test("hop-by-hop anywhere but first is an unrecognized next header (§4.3), pointing at its name", () => {
    const packet = chain(
      DESTINATION_OPTIONS,
      extensionHeader(HOP_BY_HOP, new Uint8Array(0)),
      extensionHeader(UDP, new Uint8Array(0)),
    );
    expect(walk(packet)).toMatchObject({
      kind: "problem",
      code: ParameterProblemCode.UNRECOGNIZED_NEXT_HEADER,
      pointer: 40,
    });
  });

  test("an unknown next header (ESP, 50) is a Parameter Problem code 1 at its Next Header field", () => {
    expect(walk(ipv6Packet({ nextHeader: 50, payload: data(16) }))).toMatchObject({
      kind: "problem",
      reason: "ipv6InUnknownProtos",
      code: 1,
      pointer: 6,
      evenToMulticast: false,
    });
    const after = chain(DESTINATION_OPTIONS, extensionHeader(51, new Uint8Array(0)));
    expect(walk(after)).toMatchObject({ kind: "problem", code: 1, pointer: 40 });
  });

  // §4.2: the action of an unrecognized option is in its two high bits.
  const actions: [number, object][] = [
    [0x1e, { kind: "upper" }],
    [0x7e, { kind: "drop", reason: "ipv6InUnknownOptions" }],
    [0xbe, { kind: "problem", code: 2, pointer: 44, evenToMulticast: true }],
    [0xfe, { kind: "problem", code: 2, pointer: 44, evenToMulticast: false }],
  ];
  for (const [type, expected] of actions) {
    test(`unrecognized option 0x${type.toString(16)}: ${JSON.stringify(expected)}`, () => {
      // PadN of 2 data octets first, so the option sits at 40 + 2 + 2.
      const header = extensionHeader(
        UDP,
        options([1, new Uint8Array(0)], [type, new Uint8Array(2)]),
      );
      expect(walk(chain(DESTINATION_OPTIONS, header))).toMatchObject(expected);
    });
  }

  test("routing: segments left 0 is ignored, any type; otherwise Parameter Problem at the type (RFC 5095)", () => {
    for (const type of [0, 2, 3, 4, 253]) {
      expect(walk(chain(ROUTING, routingHeader(UDP, type, 0)))).toMatchObject({ kind: "upper" });
      expect(walk(chain(ROUTING, routingHeader(UDP, type, 1)))).toMatchObject({
        kind: "problem",
        code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD,
        pointer: 42,
      });
    }
  });

  test("the walk stops at a Fragment header, naming the field that pointed at it", () => {
    const packet = chain(
      DESTINATION_OPTIONS,
      extensionHeader(NextHeader.FRAGMENT, new Uint8Array(0)),
      fragmentHeader({ nextHeader: UDP, offset: 8, more: true, identification: 1 }),
    );
    expect(walk(packet)).toEqual({ kind: "fragment", offset: 48, nextHeaderAt: 40 });
    expect(skipToUpperLayer(packet)).toBeUndefined(); // a non-first fragment shows no ports
  });

  test("an option or header running past the packet is dropped as truncated", () => {
    const overrun = new Uint8Array([UDP, 0, 1, 200, 0, 0, 0, 0]); // PadN of 200 in 8 octets
    expect(walk(ipv6Packet({ nextHeader: DESTINATION_OPTIONS, payload: overrun }))).toMatchObject({
      kind: "drop",
      reason: "ipv6InHdrErrors",
    });
    const long = new Uint8Array([UDP, 5, 1, 0]); // says 48 octets, has 4
    expect(walk(ipv6Packet({ nextHeader: DESTINATION_OPTIONS, payload: long }))).toMatchObject({
      kind: "drop",
      truncated: true,
    });
  });

  test("arbitrary bytes after the fixed header: the walk ends, in bounds, never throwing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 300 }),
        (first, payload) => {
          const packet = ipv6Packet({ nextHeader: first, payload });
          const end = walk(packet);
          if (end.kind === "upper") expect(end.offset).toBeLessThanOrEqual(packet.length);
          if (end.kind === "fragment") expect(end.offset + 8).toBeLessThanOrEqual(packet.length);
          if (end.kind === "problem") expect(end.pointer).toBeLessThan(packet.length);
          const skipped = skipToUpperLayer(packet);
          if (skipped) expect(skipped.offset).toBeLessThanOrEqual(packet.length);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test("every truncation of a valid chain is dropped or reaches the upper layer in bounds", () => {
    fc.assert(
      fc.property(
        fc.option(optionsLink(HOP_BY_HOP), { nil: undefined }),
        fc.array(link, { maxLength: 6 }),
        fc.nat(),
        (hopByHop, links, cut) => {
          const { packet, offset } = build(hopByHop, links, UDP);
          const at = 40 + (cut % (packet.length - 39));
          const short = packet.subarray(0, at);
          const end = walk(short);
          if (at >= offset) expect(end).toEqual({ kind: "upper", protocol: UDP, offset });
          else expect(end.kind).toBe("drop");
        },
      ),
      { numRuns: 1000 },
    );
  });
});
