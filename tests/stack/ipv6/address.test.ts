import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type Ipv6Address,
  inIpv6Prefix,
  ipv6Bytes,
  ipv6FromBytes,
  isCanonicalIpv6,
  isLinkLocalIpv6,
  isMulticastIpv6,
  isSolicitedNodeIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  multicastScope,
  parseIpv6,
  parseIpv6Cidr,
  readIpv6,
  solicitedNodeAddress,
  v4Mapped,
  v4MappedToIpv4,
  writeIpv6,
} from "../../../stack/ipv6/address.ts";

/** Eight 16-bit pieces, biased towards zeros so that runs of them (and `::`) are common. */
const pieces = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  {
    minLength: 8,
    maxLength: 8,
  },
);

/** Independent of the code under test: the full, uncompressed, zero-padded text. */
function fullText(p: number[]): string {
  return p.map((x) => x.toString(16).padStart(4, "0")).join(":");
}

function bytesOf(p: number[]): Uint8Array {
  return Uint8Array.from(p.flatMap((x) => [x >>> 8, x & 0xff]));
}

/** RFC 4291 §2.2 renderings of the same address: any case, leading zeros, `::` anywhere valid. */
const rendering = fc
  .record({
    p: pieces,
    upper: fc.boolean(),
    pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
    gapStart: fc.integer({ min: 0, max: 8 }),
    gapLength: fc.integer({ min: 0, max: 8 }),
  })
  .map(({ p, upper, pad, gapStart, gapLength }) => {
    const groups = p.map((x, i) => {
      const hex = x.toString(16);
      return "0".repeat(Math.min(pad[i]!, 4 - hex.length)) + hex;
    });
    // Compress a run of zero groups if the chosen one is all zeros and at least one long.
    let text = groups.join(":");
    const end = Math.min(8, gapStart + gapLength);
    if (end > gapStart && p.slice(gapStart, end).every((x) => x === 0)) {
      text = `${groups.slice(0, gapStart).join(":")}::${groups.slice(end).join(":")}`;
    }
    return { p, text: upper ? text.toUpperCase() : text };
  });

describe("IPv6 address text (RFC 4291 §2.2, RFC 5952)", () => {
  const canonical: [string, string][] = [
    // RFC 5952 §4.1: leading zeros suppressed; §4.3 lowercase.
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:DB8::1", "2001:db8::1"],
    // §4.2.1: the longest possible run is shortened.
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    // §4.2.2: a single 16-bit zero is not shortened.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // §4.2.3: the longest run; the first when equal.
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["fe80::1:2", "fe80::1:2"],
    ["ff02::1:ff00:2", "ff02::1:ff00:2"],
    // RFC 4291 §2.2 form 3, and RFC 5952 §5 for v4-mapped.
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["::FFFF:0a00:0001", "::ffff:10.0.0.1"],
    ["0:0:0:0:0:ffff:129.144.52.38", "::ffff:129.144.52.38"],
    ["::13.1.68.3", "::d01:4403"], // IPv4-compatible (deprecated): plain hex.
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ];
  for (const [text, expected] of canonical) {
    test(`${text} is ${expected}`, () => {
      expect(parseIpv6(text)).toBe(expected as Ipv6Address);
      expect(isCanonicalIpv6(expected)).toBe(true);
    });
  }

  const invalid = [
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8", // "::" must stand for at least one group
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::1",
    "1:2:3:4:5:6:7:8/64",
    "fe80::1%eth0",
    "::ffff:256.0.0.1",
    "::ffff:10.0.0",
    "::ffff:10.0.0.01",
    "::10.0.0.1:1",
    "1.2.3.4",
    ":1::",
    "1::2:",
    " ::1",
  ];
  for (const text of invalid) {
    test(`${JSON.stringify(text)} is not an address`, () => {
      expect(parseIpv6(text)).toBeUndefined();
    });
  }

  test("any rendering parses to the address of its pieces", () => {
    fc.assert(
      fc.property(rendering, ({ p, text }) => {
        const address = parseIpv6(text);
        expect(address).toBeDefined();
        expect(ipv6Bytes(address!)).toEqual(bytesOf(p));
        expect(parseIpv6(fullText(p))).toBe(address!);
      }),
      { numRuns: 2000 },
    );
  });

  test("format is RFC 5952: parse ∘ format = identity, and the text obeys §4", () => {
    fc.assert(
      fc.property(pieces, (p) => {
        const address = readIpv6(bytesOf(p));
        expect(parseIpv6(address)).toBe(address); // canonical: a fixed point
        expect(ipv6Bytes(address)).toEqual(bytesOf(p));
        if (address.startsWith("::ffff:") && address.includes(".")) return; // §5
        expect(address as string).toBe(address.toLowerCase()); // §4.3
        expect(address.split("::").length).toBeLessThanOrEqual(2); // §4.2
        for (const group of address.split(":")) {
          if (group !== "") expect(group).toMatch(/^(0|[1-9a-f][0-9a-f]{0,3})$/); // §4.1
        }
        // §4.2.2: "::" never stands for a single 16-bit zero.
        const written = address.split(":").filter((g) => g !== "").length;
        if (address.includes("::")) expect(8 - written).toBeGreaterThanOrEqual(2);
        else expect(written).toBe(8);
      }),
      { numRuns: 2000 },
    );
  });

  test("the longest run is the one compressed, the first of equals", () => {
    fc.assert(
      fc.property(pieces, (p) => {
        const address = readIpv6(bytesOf(p));
        if (address.includes(".")) return;
        let best = { start: -1, length: 0 };
        for (let i = 0; i < 8; ) {
          let j = i;
          while (j < 8 && p[j] === 0) j++;
          if (j - i > best.length) best = { start: i, length: j - i };
          i = Math.max(j, i + 1);
        }
        if (best.length < 2) {
          expect(address).not.toContain("::");
        } else {
          const head = p
            .slice(0, best.start)
            .map((x) => x.toString(16))
            .join(":");
          const tail = p
            .slice(best.start + best.length)
            .map((x) => x.toString(16))
            .join(":");
          expect(address).toBe(`${head}::${tail}` as Ipv6Address);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("IPv6 address bytes", () => {
  test("read at an offset and written back give the same 16 bytes", () => {
    fc.assert(
      fc.property(pieces, fc.integer({ min: 0, max: 20 }), (p, offset) => {
        const packet = new Uint8Array(offset + 16 + 3);
        packet.set(bytesOf(p), offset);
        const address = readIpv6(packet, offset);
        const out = new Uint8Array(offset + 16 + 3);
        writeIpv6(address, out, offset);
        expect(out).toEqual(packet);
        expect(ipv6FromBytes(bytesOf(p))).toBe(address);
      }),
      { numRuns: 500 },
    );
  });

  test("the read memo never confuses two addresses", () => {
    fc.assert(
      fc.property(fc.array(pieces, { minLength: 1, maxLength: 30 }), (list) => {
        for (const p of list) expect(ipv6Bytes(readIpv6(bytesOf(p)))).toEqual(bytesOf(p));
      }),
    );
  });
});

describe("IPv6 address classes (RFC 4291 §2.4)", () => {
  const a = (text: string) => parseIpv6(text)!;

  test("unspecified, multicast, link-local and scope", () => {
    expect(isUnspecifiedIpv6(a("0::0"))).toBe(true);
    expect(isMulticastIpv6(a("ff02::1"))).toBe(true);
    expect(isMulticastIpv6(a("fe80::1"))).toBe(false);
    expect(isMulticastIpv6(a("ff::"))).toBe(false); // 00ff::, not ff00::/8
    expect(multicastScope(a("ff02::16"))).toBe(2);
    expect(multicastScope(a("ff05::2"))).toBe(5);
    expect(isLinkLocalIpv6(a("fe80::dfc9:e1dd:36b1:bf73"))).toBe(true);
    expect(isLinkLocalIpv6(a("febf::1"))).toBe(true);
    expect(isLinkLocalIpv6(a("fec0::1"))).toBe(false);
  });

  test("multicast is exactly ff00::/8, read from the text", () => {
    fc.assert(
      fc.property(pieces, (p) => {
        expect(isMulticastIpv6(readIpv6(bytesOf(p)))).toBe(p[0]! >= 0xff00);
      }),
      { numRuns: 2000 },
    );
    for (const text of ["ff::", "ff1::", "ff0:1::", "fff::", "ff00::", "ffff::1"]) {
      expect(isMulticastIpv6(a(text))).toBe(parseInt(text.split(":")[0]!, 16) >= 0xff00);
    }
  });

  test("v4-mapped addresses carry the IPv4 number both ways", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (ipv4) => {
        const mapped = v4Mapped(ipv4);
        expect(isCanonicalIpv6(mapped)).toBe(true);
        expect(v4MappedToIpv4(mapped)).toBe(ipv4);
        expect(isV4MappedIpv6(mapped)).toBe(true);
      }),
    );
    expect(v4Mapped(0x0a000001)).toBe(a("::ffff:10.0.0.1"));
    expect(v4MappedToIpv4(a("fd00::2"))).toBeUndefined();
    expect(v4MappedToIpv4(a("::ffff:1:0:0"))).toBeUndefined(); // 0:0:0:0:ffff:1::, not mapped
  });

  test("solicited-node addresses keep the low 24 bits (§2.7.1)", () => {
    expect(solicitedNodeAddress(a("fd00::2"))).toBe(a("ff02::1:ff00:2"));
    expect(solicitedNodeAddress(a("fe80::dfc9:e1dd:36b1:bf73"))).toBe(a("ff02::1:ffb1:bf73"));
    expect(isSolicitedNodeIpv6(a("ff02::1:ffb1:bf73"))).toBe(true);
    expect(isSolicitedNodeIpv6(a("ff02::1"))).toBe(false);
  });

  test("prefix matching compares exactly the first n bits", () => {
    fc.assert(
      fc.property(
        pieces,
        fc.integer({ min: 0, max: 128 }),
        fc.integer({ min: 0, max: 127 }),
        (p, n, flip) => {
          const bytes = bytesOf(p);
          const other = bytes.slice();
          other[flip >>> 3]! ^= 0x80 >>> (flip & 7);
          const x = readIpv6(bytes);
          const y = readIpv6(other);
          expect(inIpv6Prefix(x, y, n)).toBe(flip >= n);
        },
      ),
    );
    expect(parseIpv6Cidr("fd00::2/64")).toEqual({ address: a("fd00::2"), prefixLength: 64 });
    expect(parseIpv6Cidr("fd00::2/129")).toBeUndefined();
    expect(parseIpv6Cidr("fd00::2")).toBeUndefined();
  });
});
