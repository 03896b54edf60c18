import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  checkOptions,
  emitIpv4Header,
  type Ipv4Header,
  isParseFailure,
  parseIpv4Header,
} from "../../../stack/ipv4/header.ts";
import { hex, ipv4Packet } from "../../helpers/packets.ts";

// An ICMP echo request shaped as Linux's `ping -c1 -s 8 10.0.0.2` sends it (DF set, TTL 64),
// with its checksums computed by hand from RFC 1071.
const PING_FIXTURE = hex(`
  45          # version 4, IHL 5 (20 octets)
  00          # type of service
  00 24       # total length 36
  6a 4d       # identification
  40 00       # flags DF, fragment offset 0
  40          # TTL 64
  01          # protocol 1 (ICMP)
  bc 89       # header checksum
  0a 00 00 01 # source 10.0.0.1
  0a 00 00 02 # destination 10.0.0.2
  08 00       # ICMP type 8 (echo request), code 0
  56 31       # ICMP checksum
  00 2a 00 01 # identifier 42, sequence 1
  de ad be ef 01 02 03 04 # 8 octets of data
`);

function parsed(packet: Uint8Array): Ipv4Header {
  const result = parseIpv4Header(packet);
  if (isParseFailure(result)) throw new Error(`unexpected drop: ${result.detail}`);
  return result;
}

describe("parseIpv4Header", () => {
  test("reads every field of the annotated fixture", () => {
    expect(parsed(PING_FIXTURE)).toEqual({
      headerLength: 20,
      typeOfService: 0,
      totalLength: 36,
      identification: 0x6a4d,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 1,
      source: 0x0a000001,
      destination: 0x0a000002,
    });
  });

  test("parses a header at an odd byteOffset inside a larger buffer", () => {
    const buffer = new Uint8Array(PING_FIXTURE.length + 3);
    buffer.set(PING_FIXTURE, 3);
    expect(parsed(buffer.subarray(3)).identification).toBe(0x6a4d);
  });

  const broken: [string, (p: Uint8Array) => Uint8Array, string, string][] = [
    ["too short", (p) => p.subarray(0, 19), "ipInTruncatedPkts", "shorter than 20"],
    ["version 6", (p) => patch(p, 0, 0x65), "ipInHdrErrors", "version not 4"],
    ["IHL 4", (p) => patch(p, 0, 0x44), "ipInHdrErrors", "IHL below 5"],
    ["total length > bytes", (p) => patch(p, 3, 0x30), "ipInTruncatedPkts", "total length > bytes"],
    ["total length < IHL", (p) => patch(p, 3, 0x10), "ipInHdrErrors", "total length below IHL"],
    [
      "flipped checksum bit",
      (p) => patch(p, 11, 0x7b, false),
      "ipInHdrErrors",
      "bad header checksum",
    ],
  ];
  for (const [name, mutate, reason, detail] of broken) {
    test(`drops ${name} as ${reason}`, () => {
      expect(parseIpv4Header(mutate(PING_FIXTURE))).toEqual({ reason, detail } as never);
    });
  }

  test("trailing link padding is allowed (total length is authoritative)", () => {
    const padded = new Uint8Array(PING_FIXTURE.length + 10);
    padded.set(PING_FIXTURE);
    expect(parsed(padded).totalLength).toBe(36);
  });

  test("a non-final fragment whose data is not a multiple of 8 is dropped", () => {
    const packet = ipv4Packet({ moreFragments: true, payload: new Uint8Array(12) });
    expect(parseIpv4Header(packet)).toMatchObject({ reason: "ipInHdrErrors" });
  });

  test("a fragment reaching past 65535 is dropped", () => {
    const packet = ipv4Packet({ fragmentOffset: 65528, payload: new Uint8Array(16) });
    expect(parseIpv4Header(packet)).toMatchObject({ detail: "fragment ends beyond 65535" });
  });
});

describe("IP options walk (RFC 791 §3.1)", () => {
  test("accepts NOPs, a record-route option and end-of-list padding", () => {
    expect(checkOptions(hex("01 01 07 07 04 00 00 00 00 00 00 00"))).toBeUndefined();
    expect(parsed(ipv4Packet({ options: hex("01 07 07 04 00000000 00") })).headerLength).toBe(32);
  });
  test("rejects a zero length, a length of 1, a missing length and an overrun", () => {
    expect(checkOptions(hex("07 00 00 00"))).toBe("option length below 2");
    expect(checkOptions(hex("07 01 00 00"))).toBe("option length below 2");
    expect(checkOptions(hex("01 01 01 07"))).toBe("option length missing");
    expect(checkOptions(hex("07 09 04 00"))).toBe("option runs past the header");
    expect(parseIpv4Header(ipv4Packet({ options: hex("07 09 04 00") }))).toMatchObject({
      reason: "ipInHdrErrors",
    });
  });
  test("never throws on arbitrary option bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (options) => {
        const result = checkOptions(options);
        expect(result === undefined || typeof result === "string").toBe(true);
      }),
    );
  });
});

describe("emitIpv4Header", () => {
  test("parse ∘ emit is the identity on the emitted fields", () => {
    const fields = fc.record({
      totalLength: fc.integer({ min: 20, max: 200 }),
      identification: fc.nat(0xffff),
      dontFragment: fc.boolean(),
      ttl: fc.integer({ min: 0, max: 255 }),
      typeOfService: fc.nat(255),
      protocol: fc.nat(255),
      source: fc.nat(0xffffffff),
      destination: fc.nat(0xffffffff),
    });
    fc.assert(
      fc.property(fields, fc.nat(3), (f, offset) => {
        const buffer = new Uint8Array(offset + f.totalLength).subarray(offset);
        emitIpv4Header(buffer, f);
        expect(parsed(buffer)).toEqual({
          headerLength: 20,
          typeOfService: f.typeOfService,
          totalLength: f.totalLength,
          identification: f.identification,
          dontFragment: f.dontFragment,
          moreFragments: false,
          fragmentOffset: 0,
          ttl: f.ttl,
          protocol: f.protocol,
          source: f.source,
          destination: f.destination,
        });
      }),
    );
  });

  test("reproduces the fixture's header byte for byte", () => {
    const buffer = PING_FIXTURE.slice();
    buffer.fill(0, 0, 20);
    emitIpv4Header(buffer, {
      totalLength: 36,
      identification: 0x6a4d,
      dontFragment: true,
      protocol: 1,
      source: 0x0a000001,
      destination: 0x0a000002,
    });
    expect(buffer as Uint8Array).toEqual(PING_FIXTURE);
  });
});

function patch(packet: Uint8Array, index: number, value: number, fixChecksum = true): Uint8Array {
  const copy = packet.slice();
  copy[index] = value;
  if (fixChecksum) {
    const ihl = Math.max(5, copy[0]! & 0x0f) * 4;
    copy[10] = 0;
    copy[11] = 0;
    // Recompute so only the patched field is wrong.
    let sum = 0;
    for (let i = 0; i < ihl; i += 2) sum += (copy[i]! << 8) | copy[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const checksum = ~sum & 0xffff;
    copy[10] = checksum >>> 8;
    copy[11] = checksum & 0xff;
  }
  return copy;
}
