import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TextTrace, timeOfDay } from "../../device/text_trace.ts";
import { formatPacket } from "../../stack/trace_format.ts";
import {
  concat,
  fragmentHeader,
  icmpv6Packet,
  ipv6Packet,
  udp6,
} from "./ipv6/fixtures/packets6.ts";

/** Writes an IPv4 header (RFC 791 §3.1) in front of `payload`; checksum left 0 (not read). */
function ipv4(protocol: number, payload: number[], fields: { flagsAndOffset?: number } = {}) {
  const total = 20 + payload.length;
  return Uint8Array.from([
    0x45,
    0x00,
    total >> 8,
    total & 0xff, // version 4, IHL 5, TOS, total length
    0x12,
    0x34,
    (fields.flagsAndOffset ?? 0x4000) >> 8,
    (fields.flagsAndOffset ?? 0x4000) & 0xff, // id, DF
    64,
    protocol,
    0,
    0, // TTL, protocol, checksum
    10,
    0,
    0,
    1, // source 10.0.0.1
    10,
    0,
    0,
    2, // destination 10.0.0.2
    ...payload,
  ]);
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function tcp(o: {
  flags: number;
  seq: number;
  ack?: number;
  win?: number;
  options?: number[];
  data?: number;
}) {
  const options = o.options ?? [];
  const offsetWords = (20 + options.length) / 4;
  return [
    ...u16(53422),
    ...u16(80), // ports
    ...u32(o.seq),
    ...u32(o.ack ?? 0),
    offsetWords << 4,
    o.flags,
    ...u16(o.win ?? 64240),
    0,
    0,
    0,
    0, // checksum, urgent pointer
    ...options,
    ...new Array(o.data ?? 0).fill(0x61),
  ];
}

describe("TCP lines", () => {
  test("a SYN with Linux's options", () => {
    const options = [
      2,
      4,
      ...u16(1460), // mss 1460
      4,
      2, // sackOK
      8,
      10,
      ...u32(1),
      ...u32(0), // TS val 1 ecr 0
      1, // nop
      3,
      3,
      7, // wscale 7
    ];
    const packet = ipv4(6, tcp({ flags: 0x02, seq: 1234, options }));
    expect(formatPacket(packet)).toBe(
      "10.0.0.1.53422 > 10.0.0.2.80: Flags [S], seq 1234, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
    );
  });

  test("data with PSH and ACK shows the sequence range", () => {
    const packet = ipv4(6, tcp({ flags: 0x18, seq: 0xfffffffe, ack: 77, win: 502, data: 5 }));
    expect(formatPacket(packet)).toBe(
      "10.0.0.1.53422 > 10.0.0.2.80: Flags [P.], seq 4294967294:3, ack 77, win 502, length 5",
    );
  });

  test("SYN-ACK, FIN-ACK, RST and SACK blocks", () => {
    expect(formatPacket(ipv4(6, tcp({ flags: 0x12, seq: 9, ack: 1235 })))).toContain(
      "Flags [S.], seq 9, ack 1235",
    );
    expect(formatPacket(ipv4(6, tcp({ flags: 0x11, seq: 9, ack: 1 })))).toContain("Flags [F.]");
    expect(formatPacket(ipv4(6, tcp({ flags: 0x04, seq: 9 })))).toContain("Flags [R], seq 9, win");
    const sack = [1, 1, 5, 10, ...u32(100), ...u32(200)];
    expect(formatPacket(ipv4(6, tcp({ flags: 0x10, seq: 1, options: sack })))).toContain(
      "options [nop,nop,sack 1 {100:200}]",
    );
  });

  test("a truncated or inconsistent header prints as such", () => {
    expect(formatPacket(ipv4(6, [0, 80, 0]))).toBe("10.0.0.1 > 10.0.0.2: TCP truncated, length 3");
    const bad = tcp({ flags: 2, seq: 1 });
    bad[12] = 0xf0; // data offset 60 > segment
    expect(formatPacket(ipv4(6, bad))).toContain("TCP bad data offset 60");
    const badOption = tcp({ flags: 2, seq: 1, options: [2, 9, 0, 0] });
    expect(formatPacket(ipv4(6, badOption))).toContain("options [bad option 2]");
  });
});

describe("UDP, ICMP and IP lines", () => {
  test("UDP", () => {
    const packet = ipv4(17, [...u16(5353), ...u16(7), ...u16(13), 0, 0, 104, 101, 108, 108, 111]);
    expect(formatPacket(packet)).toBe("10.0.0.1.5353 > 10.0.0.2.7: UDP, length 5");
  });

  test("ICMP echo and port unreachable", () => {
    const echo = ipv4(1, [8, 0, 0, 0, ...u16(7), ...u16(1), ...new Array(56).fill(0)]);
    expect(formatPacket(echo)).toBe(
      "10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64",
    );
    const quoted = [...ipv4(17, [...u16(5353), ...u16(9), ...u16(8), 0, 0])];
    const unreachable = ipv4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...quoted]);
    expect(formatPacket(unreachable)).toBe(
      "10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 udp port 9 unreachable, length 36",
    );
  });

  test("fragments and malformed IP", () => {
    expect(formatPacket(ipv4(17, new Array(16).fill(0), { flagsAndOffset: 0x2000 | 185 }))).toBe(
      "10.0.0.1 > 10.0.0.2: UDP fragment, offset 1480, length 16 (frag id 4660, more fragments)",
    );
    expect(formatPacket(new Uint8Array(3))).toBe("malformed IPv4 packet, 3 bytes");
    expect(formatPacket(Uint8Array.from([0x50, ...new Array(39).fill(0)]))).toContain("not IPv4");
  });

  test("formatPacket never throws on any bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom(1, 6, 17, 99),
        (bytes, protocol) => {
          expect(typeof formatPacket(bytes)).toBe("string");
          const withHeader = ipv4(protocol, [...bytes]);
          expect(typeof formatPacket(withHeader)).toBe("string");
          expect(typeof formatPacket(withHeader.subarray(0, bytes.length))).toBe("string");
        },
      ),
    );
  });
});

describe("TextTrace", () => {
  test("prints packets, transitions and drops in order", () => {
    const lines: string[] = [];
    const trace = new TextTrace({ sink: (line) => lines.push(line), wallClock: undefined });
    trace.packet("in", ipv4(6, tcp({ flags: 0x02, seq: 1 })));
    trace.transition("10.0.0.2.80 10.0.0.1.53422", "LISTEN", "SYN-RECEIVED");
    trace.drop("tcpInErrs", "bad checksum");
    trace.drop("udpNoPorts");
    expect(lines).toEqual([
      "in  10.0.0.1.53422 > 10.0.0.2.80: Flags [S], seq 1, win 64240, length 0",
      "tcp 10.0.0.2.80 10.0.0.1.53422: LISTEN -> SYN-RECEIVED",
      "drop tcpInErrs: bad checksum",
      "drop udpNoPorts",
    ]);
  });

  test("the time column is tcpdump's HH:MM:SS.micros (UTC)", () => {
    expect(timeOfDay(Date.UTC(2026, 0, 1, 9, 5, 7, 123))).toBe("09:05:07.123000");
    const lines: string[] = [];
    new TextTrace({ sink: (l) => lines.push(l), wallClock: () => 0 }).drop("x");
    expect(lines).toEqual(["00:00:00.000000 drop x"]);
  });
});

describe("IPv6 lines (trace_format_ipv6.ts)", () => {
  const echo = icmpv6Packet({ type: 128, restOfHeader: (7 << 16) | 1, body: new Uint8Array(56) });

  test("ICMPv6 echo, addresses in RFC 5952 text", () => {
    expect(formatPacket(echo)).toBe(
      "fd00::1 > fd00::2: ICMP6, echo request, id 7, seq 1, length 64",
    );
  });

  test("UDP and TCP use the IPv4 lines' transport formats", () => {
    const udp = ipv6Packet({
      nextHeader: 17,
      payload: udp6({ sourcePort: 5353, destinationPort: 7, data: new Uint8Array(5) }),
    });
    expect(formatPacket(udp)).toBe("fd00::1.5353 > fd00::2.7: UDP, length 5");
    const syn = Uint8Array.from([
      0xd0, 0x00, 0x00, 0x50, 0, 0, 0x04, 0xd2, 0, 0, 0, 0, 0x50, 0x02, 0xfd, 0x20, 0, 0, 0, 0,
    ]); // 53248 > 80, seq 1234, SYN, win 64800
    expect(formatPacket(ipv6Packet({ nextHeader: 6, payload: syn }))).toBe(
      "fd00::1.53248 > fd00::2.80: Flags [S], seq 1234, win 64800, length 0",
    );
  });

  test("a fragment header is shown, later fragments by their id; a Packet Too Big by its MTU", () => {
    const first = ipv6Packet({
      nextHeader: 44,
      payload: concat(
        fragmentHeader({ nextHeader: 58, offset: 0, more: true, identification: 9 }),
        echo.subarray(40),
      ),
    });
    expect(formatPacket(first)).toBe(
      "fd00::1 > fd00::2: frag (0|64) ICMP6, echo request, id 7, seq 1, length 64",
    );
    const later = ipv6Packet({
      nextHeader: 44,
      payload: concat(
        fragmentHeader({ nextHeader: 58, offset: 1232, more: false, identification: 9 }),
        new Uint8Array(16),
      ),
    });
    expect(formatPacket(later)).toBe("fd00::1 > fd00::2: frag (1232|16) ICMP6 fragment id 9");
    const tooBig = icmpv6Packet({ type: 2, restOfHeader: 1280, body: new Uint8Array(48) });
    expect(formatPacket(tooBig)).toBe(
      "fd00::1 > fd00::2: ICMP6, packet too big, mtu 1280, length 56",
    );
  });

  test("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        if (bytes.length > 0) bytes[0] = 0x60 | (bytes[0]! & 0x0f);
        expect(typeof formatPacket(bytes)).toBe("string");
      }),
      { numRuns: 2000, seed: 6 },
    );
  });
});
