/** The TCP header and options codec (RFC 9293 §3.1–3.2, RFC 7323, RFC 2018). */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ReceivedDatagram } from "../../../stack/ipv4/datagram.ts";
import { emptyIpv4Header } from "../../../stack/ipv4/header.ts";
import { Flag, parseSegment, ReceivedSegment } from "../../../stack/tcp/header.ts";
import {
  emitOptions,
  optionsLength,
  parseOptions,
  type TcpOptions,
} from "../../../stack/tcp/options.ts";
import { hex } from "../../helpers/packets.ts";
import { datagram, LOCAL, REMOTE } from "../../helpers/tcp_segments.ts";
import { tcpBytes } from "../../helpers/tcp_wire.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const block = fc.record({ left: u32, right: u32 });

const optionsArbitrary: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: fc.integer({ min: 0, max: 0xffff }),
      windowScale: fc.integer({ min: 0, max: 14 }),
      sackPermitted: fc.constant(true),
      timestamp: fc.record({ value: u32, echo: u32 }),
      sackBlocks: fc.array(block, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .filter((o) => optionsLength(o) <= 40);

describe("options", () => {
  test("parse ∘ emit = identity", () => {
    fc.assert(
      fc.property(optionsArbitrary, (options) => {
        const bytes = new Uint8Array(optionsLength(options));
        expect(emitOptions(options, bytes, 0)).toBe(bytes.length);
        expect(bytes.length % 4).toBe(0);
        expect(parseOptions(bytes)).toEqual(options);
      }),
    );
  });

  test("a Linux SYN's options, field by field", () => {
    // RFC 9293 MUST-4: EOL/NOP/MSS and the rest parsed.
    const bytes = hex(`
      02 04 05 b4              # MSS 1460
      04 02                    # SACK permitted
      08 0a 00 01 e2 40 00 00 00 00   # timestamps TSval 123456, TSecr 0
      01                       # NOP
      03 03 07                 # window scale 7
    `);
    expect(parseOptions(bytes)).toEqual({
      mss: 1460,
      sackPermitted: true,
      timestamp: { value: 123456, echo: 0 },
      windowScale: 7,
    });
  });

  test("malformed lengths are rejected, never loop or throw", () => {
    // RFC 9293 MUST-7: an illegal option length is coped with.
    expect(parseOptions(hex("02 00 05 b4"))).toBeUndefined(); // length 0
    expect(parseOptions(hex("08 01 00 00"))).toBeUndefined(); // length 1
    expect(parseOptions(hex("08 0a 00 00"))).toBeUndefined(); // runs past the end
    expect(parseOptions(hex("01 01 01 02"))).toBeUndefined(); // kind with no length byte
    expect(parseOptions(hex("00 ff ff ff"))).toEqual({}); // after EOL nothing counts
    expect(parseOptions(hex("02 03 05 00"))).toEqual({}); // wrong length for MSS: skipped
  });

  test("arbitrary bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        parseOptions(bytes);
      }),
    );
  });
});

describe("header", () => {
  test("parse of a built segment gives back its fields", () => {
    fc.assert(
      fc.property(
        fc.record({
          seq: u32,
          ack: u32,
          wnd: fc.integer({ min: 0, max: 0xffff }),
          sourcePort: fc.integer({ min: 0, max: 0xffff }),
          destinationPort: fc.integer({ min: 0, max: 0xffff }),
          data: fc.uint8Array({ maxLength: 100 }),
          options: optionsArbitrary,
        }),
        (f) => {
          const bytes = tcpBytes(REMOTE, LOCAL, { flags: "PA", ...f });
          const seg = parseSegment(datagram(REMOTE, LOCAL, bytes));
          if (typeof seg === "string") throw new Error(seg);
          expect(seg.seq).toBe(f.seq);
          expect(seg.ack).toBe(f.ack);
          expect(seg.wnd).toBe(f.wnd);
          expect(seg.flags).toBe(Flag.PSH | Flag.ACK);
          expect(seg.sourcePort).toBe(f.sourcePort);
          expect(seg.destinationPort).toBe(f.destinationPort);
          expect(seg.options).toEqual(f.options);
          expect([...seg.payload]).toEqual([...f.data]);
        },
      ),
    );
  });

  test("parsed in place (a reused segment, from the packet IPv4 received) = parsed afresh", () => {
    const into = new ReceivedSegment();
    fc.assert(
      fc.property(
        fc.record({
          seq: u32,
          ack: u32,
          flags: fc.constantFrom("A", "PA", "FA", "SA", "R"),
          data: fc.uint8Array({ maxLength: 100 }),
          options: optionsArbitrary,
        }),
        fc.integer({ min: 0, max: 10 }), // IPv4 option words, so the TCP bytes start anywhere
        (f, ipOptionWords) => {
          const tcp = tcpBytes(REMOTE, LOCAL, f);
          const headerLength = 20 + 4 * ipOptionWords;
          const packet = new Uint8Array(headerLength + tcp.length);
          packet.set(tcp, headerLength);
          const header = { ...emptyIpv4Header(), headerLength, source: REMOTE, destination: LOCAL };
          const received = new ReceivedDatagram().fill(header, packet, false, false);
          const fresh = parseSegment(datagram(REMOTE, LOCAL, tcp));
          const reused = parseSegment(received, into);
          if (typeof fresh === "string" || typeof reused === "string") throw new Error("dropped");
          expect(reused).toBe(into);
          for (const field of [
            "seq",
            "ack",
            "flags",
            "wnd",
            "sourcePort",
            "destinationPort",
          ] as const)
            expect(reused[field]).toBe(fresh[field]);
          for (const option of ["mss", "windowScale", "sackPermitted", "sackBlocks"] as const)
            expect(reused.options[option]).toEqual(fresh.options[option]);
          expect(reused.options.timestamp).toEqual(fresh.options.timestamp);
          expect([...reused.payload]).toEqual([...f.data]);
        },
      ),
    );
  });

  test("bad checksum, short header, bad data offset and bad options are named drops", () => {
    const good = tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 1 });
    const flipped = good.slice();
    flipped[4]! ^= 1;
    expect(parseSegment(datagram(REMOTE, LOCAL, flipped))).toBe("tcpInCsumErrors");
    expect(parseSegment(datagram(REMOTE, LOCAL, good.subarray(0, 19)))).toBe("tcpInErrs");
    const badOffset = tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 1 }).slice();
    badOffset[12] = 0x40; // 16 bytes: below the minimum
    expect(parseSegment(datagram(REMOTE, LOCAL, badOffset))).toBe("tcpInErrs");
    const withOptions = tcpBytes(REMOTE, LOCAL, {
      flags: "S",
      seq: 1,
      options: { mss: 1460 },
    }).slice();
    withOptions[21] = 0; // MSS length 0; the checksum no longer matches either, so fix it
    const view = new DataView(withOptions.buffer, withOptions.byteOffset);
    view.setUint16(16, 0);
    view.setUint16(16, recompute(withOptions));
    expect(parseSegment(datagram(REMOTE, LOCAL, withOptions))).toBe("tcpInBadOptions");
  });

  test("malformed segments are dropped and counted by the layer, never thrown", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        parseSegment(datagram(REMOTE, LOCAL, bytes));
      }),
    );
  });
});

import { internetChecksum, pseudoHeaderSum } from "../../../stack/checksum.ts";

function recompute(tcp: Uint8Array): number {
  return internetChecksum(tcp, pseudoHeaderSum(REMOTE, LOCAL, 6, tcp.length));
}
