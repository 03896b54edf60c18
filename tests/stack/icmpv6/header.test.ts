import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  emitIcmpv6Header,
  isIcmpv6Error,
  parseIcmpv6Header,
} from "../../../stack/icmpv6/header.ts";
import { readIpv6 } from "../../../stack/ipv6/address.ts";
import { ipv6AddressSum } from "../../../stack/ipv6/checksum.ts";
import { hex } from "../../helpers/packets.ts";
import { HOST6, PEER6 } from "../ipv6/fixtures/packets6.ts";

const address = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => readIpv6(b));

describe("ICMPv6 header (RFC 4443 §2.1)", () => {
  test("parse ∘ emit = identity, the checksum covering the pseudo-header (§2.3)", () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: 0, max: 255 }),
          code: fc.integer({ min: 0, max: 255 }),
          restOfHeader: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        fc.uint8Array({ maxLength: 300 }),
        address,
        address,
        (fields, body, source, destination) => {
          const message = new Uint8Array(8 + body.length);
          message.set(body, 8);
          emitIcmpv6Header(message, fields, { source, destination });
          const parsed = parseIcmpv6Header(message, ipv6AddressSum(source, destination));
          expect(parsed).toMatchObject(fields);
          // The same bytes between other addresses fail the checksum unless they sum alike.
          const other = parseIcmpv6Header(message, ipv6AddressSum(source, destination) + 1);
          expect(other).toBe("icmpv6InCsumErrors");
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("reads Linux's echo request (captured on a TUN)", () => {
    const message = hex("80 00 2429  5576 0001  0001020304050607");
    expect(parseIcmpv6Header(message, ipv6AddressSum(PEER6, HOST6))).toEqual({
      type: 128,
      code: 0,
      checksum: 0x2429,
      restOfHeader: 0x55760001,
    });
  });

  test("a short message is an error; a device-vouched one is not summed", () => {
    expect(parseIcmpv6Header(new Uint8Array(7), 0)).toBe("icmpv6InErrors");
    const unsummed = hex("80 00 0000 0000 0000");
    expect(parseIcmpv6Header(unsummed, 0, true)).toMatchObject({ type: 128 });
  });

  test("errors are the types below 128", () => {
    expect([1, 2, 3, 4, 127].every(isIcmpv6Error)).toBe(true);
    expect([128, 129, 133, 135, 143].some(isIcmpv6Error)).toBe(false);
  });
});
