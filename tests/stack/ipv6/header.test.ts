import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { internetChecksum } from "../../../stack/checksum.ts";
import { readIpv6 } from "../../../stack/ipv6/address.ts";
import { ipv6PseudoHeaderSum } from "../../../stack/ipv6/checksum.ts";
import { flowLabelOf } from "../../../stack/ipv6/flow_label.ts";
import { emitFragmentHeader, parseFragmentHeader } from "../../../stack/ipv6/fragment_header.ts";
import {
  emitIpv6Header,
  type Ipv6Header,
  isIpv6ParseFailure,
  packetAddressSum,
  parseIpv6Header,
} from "../../../stack/ipv6/header.ts";
import { hex } from "../../helpers/packets.ts";
import { a6, HOST6, ipv6Packet, PEER6 } from "./fixtures/packets6.ts";

/** `ping -6 -c 1 -s 8 fd00::2` as Linux put it on the TUN (captured in a namespace). */
const LINUX_ECHO_REQUEST = hex(`
  60 05 fe 0b   # version 6, traffic class 0, flow label 0x5fe0b (Linux auto_flowlabels)
  00 10         # payload length 16
  3a            # next header 58: ICMPv6
  40            # hop limit 64
  fd00 0000 0000 0000 0000 0000 0000 0001   # source fd00::1
  fd00 0000 0000 0000 0000 0000 0000 0002   # destination fd00::2
  80 00 2429    # ICMPv6 echo request, code 0, checksum
  5576 0001     # identifier, sequence number
  0001020304050607                          # data
`);

const address = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => readIpv6(bytes));

const header: fc.Arbitrary<Ipv6Header> = fc.record({
  trafficClass: fc.integer({ min: 0, max: 0xff }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLength: fc.integer({ min: 1, max: 200 }),
  nextHeader: fc.integer({ min: 0, max: 255 }),
  hopLimit: fc.integer({ min: 0, max: 255 }),
  source: address,
  destination: address,
});

describe("IPv6 fixed header (RFC 8200 §3)", () => {
  test("reads Linux's echo request field by field", () => {
    const h = parseIpv6Header(LINUX_ECHO_REQUEST);
    expect(h).toEqual({
      trafficClass: 0,
      flowLabel: 0x5fe0b,
      payloadLength: 16,
      nextHeader: 58,
      hopLimit: 64,
      source: PEER6,
      destination: HOST6,
    });
    // The pseudo-header sum (§8.1) from the packet's bytes agrees with the one from text,
    // and Linux's ICMPv6 checksum verifies with it.
    const message = LINUX_ECHO_REQUEST.subarray(40);
    const pseudo = ipv6PseudoHeaderSum(PEER6, HOST6, 58, message.length);
    expect(packetAddressSum(LINUX_ECHO_REQUEST) + 58 + message.length).toBe(pseudo);
    expect(internetChecksum(message, pseudo)).toBe(0);
  });

  test("emit writes the same 40 octets Linux did", () => {
    const out = new Uint8Array(LINUX_ECHO_REQUEST.length);
    out.set(LINUX_ECHO_REQUEST.subarray(40), 40);
    emitIpv6Header(out, parseIpv6Header(LINUX_ECHO_REQUEST) as Ipv6Header);
    expect(out).toEqual(new Uint8Array(LINUX_ECHO_REQUEST));
  });

  test("parse ∘ emit = identity", () => {
    fc.assert(
      fc.property(header, (h) => {
        const packet = new Uint8Array(40 + h.payloadLength);
        emitIpv6Header(packet, h);
        const parsed = parseIpv6Header(packet);
        expect(parsed).toEqual(h);
      }),
      { numRuns: 1000 },
    );
  });

  const refused: [string, Uint8Array, string][] = [
    ["shorter than 40 octets", ipv6Packet({}).subarray(0, 39), "ipv6InTruncatedPkts"],
    ["of version 4", ipv6Packet({ version: 4 }), "ipv6InHdrErrors"],
    ["of version 7", ipv6Packet({ version: 7 }), "ipv6InHdrErrors"],
    [
      "promising more payload than it has",
      ipv6Packet({ payload: new Uint8Array(8), payloadLength: 9 }),
      "ipv6InTruncatedPkts",
    ],
    [
      "a jumbogram (payload length 0, hop-by-hop)",
      ipv6Packet({ nextHeader: 0, payload: new Uint8Array(16), payloadLength: 0 }),
      "ipv6InHdrErrors",
    ],
  ];
  for (const [name, packet, reason] of refused) {
    test(`refuses a packet ${name} as ${reason}`, () => {
      const parsed = parseIpv6Header(packet);
      expect(isIpv6ParseFailure(parsed)).toBe(true);
      expect(isIpv6ParseFailure(parsed) ? (parsed.reason as string) : "parsed").toBe(reason);
    });
  }

  test("any bytes parse to a header or a named failure, never an exception", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const parsed = parseIpv6Header(bytes);
        if (isIpv6ParseFailure(parsed)) {
          expect(["ipv6InHdrErrors", "ipv6InTruncatedPkts"]).toContain(parsed.reason);
        } else {
          expect(40 + parsed.payloadLength).toBeLessThanOrEqual(bytes.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("flow labels (RFC 6437)", () => {
  const flow = {
    source: HOST6,
    destination: PEER6,
    protocol: 6,
    sourcePort: 80,
    destinationPort: 40000,
  };

  test("are 20 bits, never zero, stable per flow and key", () => {
    fc.assert(
      fc.property(
        address,
        address,
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.integer(),
        (s, d, sp, dp, key) => {
          const f = { source: s, destination: d, protocol: 6, sourcePort: sp, destinationPort: dp };
          const label = flowLabelOf(f, key);
          expect(label).toBeGreaterThan(0);
          expect(label).toBeLessThanOrEqual(0xfffff);
          expect(flowLabelOf({ ...f }, key)).toBe(label);
        },
      ),
    );
  });

  test("differ between flows and between keys (§3: high variability)", () => {
    const labels = new Set<number>();
    for (let port = 0; port < 1000; port++) {
      labels.add(flowLabelOf({ ...flow, destinationPort: 40000 + port }, 7));
    }
    expect(labels.size).toBeGreaterThan(990); // 1000 draws from 2^20: a few collisions at most
    expect(flowLabelOf(flow, 1)).not.toBe(flowLabelOf(flow, 2));
    expect(flowLabelOf({ ...flow, destination: a6("fd00::3") }, 1)).not.toBe(flowLabelOf(flow, 1));
  });
});

describe("Fragment header (RFC 8200 §4.5)", () => {
  test("parse ∘ emit = identity", () => {
    fc.assert(
      fc.property(
        fc.record({
          nextHeader: fc.integer({ min: 0, max: 255 }),
          fragmentOffset: fc.integer({ min: 0, max: 8191 }).map((units) => units * 8),
          moreFragments: fc.boolean(),
          identification: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        fc.integer({ min: 0, max: 40 }),
        (fields, at) => {
          const bytes = new Uint8Array(at + 8).fill(0xee);
          emitFragmentHeader(bytes, at, fields);
          expect(parseFragmentHeader(bytes, at)).toEqual(fields);
          expect(bytes[at + 1]).toBe(0); // Reserved
          expect(bytes[at + 3]! & 0x06).toBe(0); // Res
        },
      ),
      { numRuns: 1000 },
    );
  });
});
