import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { emitIcmpHeader, parseIcmpHeader } from "../../../stack/icmp/header.ts";
import { TokenBucket } from "../../../stack/icmp/rate_limit.ts";
import { msSinceMidnightUt } from "../../../stack/icmp/timestamp.ts";
import { IpProtocol } from "../../../stack/ipv4/datagram.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import {
  bytes,
  fragmentOf,
  HOST,
  icmpEchoPacket,
  icmpMessage,
  icmpUnreachablePacket,
  ipv4Fields,
  ipv4Packet,
  PEER,
  udpPacket,
} from "../../helpers/packets.ts";

function icmpOf(packet: Uint8Array) {
  const ip = ipv4Fields(packet);
  const m = ip.payload;
  return {
    ip,
    type: m[0],
    code: m[1],
    checksumOk: parseIcmpHeader(m) !== "icmpInCsumErrors",
    rest: m.subarray(4, 8),
    data: m.subarray(8),
  };
}

describe("ICMP header", () => {
  test("parse ∘ emit is the identity, for any type, code, rest of header and data", () => {
    fc.assert(
      fc.property(
        fc.nat(255),
        fc.nat(255),
        fc.nat(0xffffffff),
        fc.uint8Array({ maxLength: 64 }),
        (type, code, rest, data) => {
          const message = new Uint8Array(8 + data.length);
          message.set(data, 8);
          emitIcmpHeader(message, { type, code, restOfHeader: rest });
          expect(parseIcmpHeader(message)).toMatchObject({ type, code, restOfHeader: rest });
        },
      ),
    );
  });
});

describe("ICMP echo (RFC 792)", () => {
  test("replies with the request's identifier, sequence and data, addresses swapped", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.uint8Array({ maxLength: 3000 }),
        (identifier, sequence, data) => {
          const host = ipHost();
          host.receive(icmpEchoPacket({ identifier, sequence, data }), 0);
          const sent = host.sent.map(ipv4Fields);
          // Replies over the MTU go out as fragments: reassemble the payload by offset.
          const message = new Uint8Array(8 + data.length);
          for (const f of sent) message.set(f.payload, f.fragmentOffset);
          expect(sent[0]).toMatchObject({
            source: HOST,
            destination: PEER,
            protocol: IpProtocol.ICMP,
          });
          expect([message[0], message[1]]).toEqual([0, 0]);
          expect(parseIcmpHeader(message)).toMatchObject({
            type: 0,
            restOfHeader: ((identifier << 16) | sequence) >>> 0,
          });
          expect(message.subarray(8)).toEqual(data);
          expect(host.stats.get("icmpInEchos")).toBe(1);
          expect(host.stats.get("icmpOutEchoReps")).toBe(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("a 60,000-byte ping arriving in fragments is answered (fragmented) in full", () => {
    const host = ipHost({ mtu: 1500 });
    const data = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 7) & 0xff);
    const whole = icmpEchoPacket({ data, identifier: 9, sequence: 3 });
    const header = whole.subarray(0, 20);
    const payload = whole.subarray(20);
    for (let offset = 0; offset < payload.length; offset += 1480) {
      const end = Math.min(offset + 1480, payload.length);
      host.receive(
        fragmentOf(header, payload.subarray(offset, end), offset, end < payload.length),
        0,
      );
    }
    const total = host.sent.map(ipv4Fields).reduce((n, f) => n + f.payload.length, 0);
    expect(total).toBe(8 + 60_000);
    expect(host.stats.get("icmpOutEchoReps")).toBe(1);
  });

  test("an echo request to a broadcast address is silently ignored", () => {
    const host = ipHost();
    host.receive(icmpEchoPacket({ destination: 0x0a0000ff }), 0);
    host.receive(icmpEchoPacket({ destination: 0xffffffff }), 0);
    expect(host.sent).toEqual([]);
    expect(host.stats.get("icmpInEchosIgnored")).toBe(2);
  });

  test("a bad checksum or a short message is dropped and counted", () => {
    const host = ipHost();
    const bad = icmpEchoPacket({});
    bad[bad.length - 1]! ^= 0xff;
    host.receive(bad, 0);
    host.receive(ipv4Packet({ protocol: 1, payload: Uint8Array.of(8, 0, 0) }), 0);
    expect(host.stats.get("icmpInCsumErrors")).toBe(1);
    expect(host.stats.get("icmpInErrors")).toBe(2);
    expect(host.sent).toEqual([]);
  });

  test("an unknown type is silently discarded (RFC 1122 §3.2.2)", () => {
    const host = ipHost();
    host.receive(ipv4Packet({ protocol: 1, payload: icmpMessage({ type: 42 }) }), 0);
    expect(host.stats.get("icmpInUnknownTypes")).toBe(1);
    expect(host.sent).toEqual([]);
  });
});

describe("ICMP timestamp (RFC 792, RFC 1122 §3.2.2.8)", () => {
  /** A Timestamp message: identifier, sequence, originate; receive and transmit zero. */
  const timestampRequest = (identifier: number, sequence: number, originate: number) => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setUint32(0, originate);
    return icmpMessage({ type: 13, restOfHeader: ((identifier << 16) | sequence) >>> 0, data });
  };

  test("replies with type 14, the request's identifier, sequence and originate time, and ours twice", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.nat(86_399_999),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (identifier, sequence, originate, now) => {
          const host = ipHost();
          host.receive(
            ipv4Packet({ protocol: 1, payload: timestampRequest(identifier, sequence, originate) }),
            now,
          );
          expect(host.sent.length).toBe(1);
          const reply = icmpOf(host.sent[0]!);
          expect(reply.ip).toMatchObject({ source: HOST, destination: PEER, protocol: 1 });
          expect([reply.type, reply.code, reply.checksumOk]).toEqual([14, 0, true]);
          const rest = new DataView(reply.rest.buffer, reply.rest.byteOffset, 4).getUint32(0);
          expect(rest).toBe(((identifier << 16) | sequence) >>> 0);
          const times = new DataView(reply.data.buffer, reply.data.byteOffset, 12);
          expect(times.getUint32(0)).toBe(originate);
          expect(times.getUint32(4)).toBe(msSinceMidnightUt(now));
          expect(times.getUint32(8)).toBe(msSinceMidnightUt(now));
          expect(host.stats.get("icmpOutTimestampReps")).toBe(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("milliseconds since midnight UT: a known instant, and always within one day", () => {
    expect(msSinceMidnightUt(Date.UTC(2026, 10, 22, 1, 2, 3, 456))).toBe(3_723_456);
    fc.assert(
      fc.property(fc.double({ min: -1e13, max: 1e13, noNaN: true }), (now) => {
        const ms = msSinceMidnightUt(now);
        expect(ms >= 0 && ms < 86_400_000 && Number.isInteger(ms)).toBe(true);
      }),
    );
  });

  test("a short message is dropped and counted; one to a broadcast address is ignored", () => {
    const host = ipHost();
    host.receive(
      ipv4Packet({ protocol: 1, payload: icmpMessage({ type: 13, data: new Uint8Array(4) }) }),
      0,
    );
    host.receive(
      ipv4Packet({ protocol: 1, destination: 0x0a0000ff, payload: timestampRequest(1, 1, 0) }),
      0,
    );
    expect(host.sent).toEqual([]);
    expect(host.stats.get("icmpInErrors")).toBe(1);
    expect(host.stats.get("icmpInTimestampsIgnored")).toBe(1);
  });
});

describe("ICMP errors we send", () => {
  test("port unreachable quotes the offending IP header and its first 8 data octets", () => {
    const host = ipHost();
    const offending = udpPacket({
      sourcePort: 5555,
      destinationPort: 4444,
      data: bytes("knock knock"),
    });
    host.receive(offending, 0);
    expect(host.sent.length).toBe(1);
    const reply = icmpOf(host.sent[0]!);
    expect(reply.ip).toMatchObject({ source: HOST, destination: PEER, protocol: 1 });
    expect([reply.type, reply.code, reply.checksumOk]).toEqual([3, 3, true]);
    expect(reply.data).toEqual(offending.subarray(0, 28));
    expect(host.stats.get("udpNoPorts")).toBe(1);
    expect(host.stats.get("icmpOutDestUnreachs")).toBe(1);
  });

  test("port unreachable quotes any UDP datagram exactly: its header (options too) + 8 octets", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff),
        fc.integer({ min: 1, max: 0xffff }),
        fc.uint8Array({ maxLength: 100 }),
        fc.constantFrom(
          new Uint8Array(0),
          Uint8Array.of(1, 1, 1, 0),
          Uint8Array.of(7, 7, 4, 0, 0, 0, 0, 0),
        ),
        (sourcePort, destinationPort, data, options) => {
          const host = ipHost();
          const offending = udpPacket({ sourcePort, destinationPort, data, options });
          host.receive(offending, 0);
          expect(host.sent.length).toBe(1);
          const reply = icmpOf(host.sent[0]!);
          const headerLength = 20 + options.length;
          expect([reply.type, reply.code, reply.checksumOk]).toEqual([3, 3, true]);
          expect(reply.data).toEqual(offending.subarray(0, headerLength + 8));
        },
      ),
      { numRuns: 200 },
    );
  });

  const never: [string, Uint8Array][] = [
    ["a datagram sent to broadcast", udpPacket({ destination: 0xffffffff })],
    ["a datagram sent to the subnet broadcast", udpPacket({ destination: 0x0a0000ff })],
    ["a source of 0.0.0.0", udpPacket({ source: 0 })],
    ["a Class E source", udpPacket({ source: 0xf0000001 })],
  ];
  for (const [name, packet] of never) {
    test(`never about ${name} (RFC 1122 §3.2.2)`, () => {
      const host = ipHost();
      host.receive(packet, 0);
      expect(host.sent).toEqual([]);
    });
  }

  test("never about an ICMP error message, nor a non-initial fragment", () => {
    const host = ipHost();
    const errorMessage = ipv4Packet({
      protocol: 1,
      payload: icmpMessage({ type: 3, code: 3, data: new Uint8Array(28) }),
    });
    const d = {
      source: PEER,
      destination: HOST,
      protocol: 1,
      ttl: 64,
      header: errorMessage.subarray(0, 20),
      payload: errorMessage.subarray(20),
      broadcast: false,
    };
    host.icmp.sendDestinationUnreachable(d, 3, 0);
    const fragment = ipv4Packet({ protocol: 17, fragmentOffset: 64, payload: new Uint8Array(8) });
    host.icmp.sendDestinationUnreachable(
      { ...d, protocol: 17, header: fragment.subarray(0, 20), payload: fragment.subarray(20) },
      3,
      0,
    );
    expect(host.sent).toEqual([]);
    expect(host.stats.get("icmpOutErrorsSuppressed")).toBe(2);
  });

  test("a datagram of an unknown protocol from a unicast host does get its error", () => {
    const host = ipHost();
    host.receive(ipv4Packet({ protocol: 99, payload: new Uint8Array(8) }), 0);
    expect(host.sent.length).toBe(1);
  });

  test("rate limit: a burst of 50, then about one per millisecond", () => {
    const host = ipHost();
    for (let i = 0; i < 200; i++) host.receive(udpPacket({ destinationPort: 1000 + i }), 0);
    expect(host.sent.length).toBe(50);
    expect(host.stats.get("icmpOutRateLimited")).toBe(150);
    for (let ms = 1; ms <= 100; ms++) {
      for (let i = 0; i < 5; i++) host.receive(udpPacket({ destinationPort: 2000 + i }), ms);
    }
    expect(host.sent.length).toBe(150);
  });

  test("the token bucket never allows more than burst + rate × time", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        (gaps) => {
          const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 50 });
          let now = 0;
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            if (bucket.take(now)) allowed++;
          }
          expect(allowed).toBeLessThanOrEqual(50 + now);
        },
      ),
    );
  });
});

describe("ICMP errors we receive", () => {
  function sentUdp(sourcePort: number, destinationPort: number): Uint8Array {
    return udpPacket({
      source: HOST,
      destination: PEER,
      sourcePort,
      destinationPort,
      data: bytes("ping?"),
    });
  }

  test("port unreachable for a connected UDP endpoint sets ECONNREFUSED and wakes it", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5000);
    endpoint.connect(PEER, 53);
    let changes = 0;
    endpoint.onChange = () => changes++;
    host.receive(icmpUnreachablePacket(sentUdp(5000, 53), { code: 3 }), 0);
    expect(endpoint.error).toBe("ECONNREFUSED");
    expect(changes).toBe(1);
    expect(endpoint.takeError()).toBe("ECONNREFUSED");
    expect(endpoint.error).toBeUndefined();
  });

  test("an unconnected endpoint does not get the error (Linux semantics)", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5000);
    host.receive(icmpUnreachablePacket(sentUdp(5000, 53), { code: 3 }), 0);
    expect(endpoint.error).toBeUndefined();
  });

  test("a report about a datagram not from us is dropped", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5000);
    endpoint.connect(PEER, 53);
    const notOurs = udpPacket({
      source: 0x0a000007,
      destination: PEER,
      sourcePort: 5000,
      destinationPort: 53,
    });
    host.receive(icmpUnreachablePacket(notOurs, { code: 3 }), 0);
    expect(endpoint.error).toBeUndefined();
    expect(host.stats.get("icmpInErrors")).toBe(1);
  });

  test("time exceeded and parameter problem reach the transport too (RFC 1122 §3.2.2.4/5)", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5000);
    endpoint.connect(PEER, 53);
    const offending = sentUdp(5000, 53);
    const quote = offending.subarray(0, 28);
    for (const type of [11, 12]) {
      const message = icmpMessage({ type, code: 0, data: quote });
      host.receive(ipv4Packet({ protocol: 1, payload: message }), 0);
      expect(endpoint.takeError()).toBe("EHOSTUNREACH");
    }
    const tcpSegment = ipv4Packet({
      source: HOST,
      destination: PEER,
      protocol: 6,
      payload: new Uint8Array(20),
    });
    const timeExceeded = icmpMessage({ type: 11, code: 1, data: tcpSegment.subarray(0, 28) });
    host.receive(ipv4Packet({ protocol: 1, payload: timeExceeded }), 0);
    expect(host.tcp.icmpErrors[0]).toMatchObject({
      error: "EHOSTUNREACH",
      icmpType: 11,
      icmpCode: 1,
      nextHopMtu: 0,
    });
    expect([host.stats.get("icmpInTimeExcds"), host.stats.get("icmpInParmProbs")]).toEqual([2, 1]);
  });

  test("TCP gets host unreachable and fragmentation needed (with the next-hop MTU)", () => {
    const host = ipHost();
    const tcpSegment = ipv4Packet({
      source: HOST,
      destination: PEER,
      protocol: 6,
      payload: Uint8Array.of(0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0),
    });
    host.receive(icmpUnreachablePacket(tcpSegment, { code: 1 }), 0);
    host.receive(icmpUnreachablePacket(tcpSegment, { code: 4, nextHopMtu: 1280 }), 0);
    expect(
      host.tcp.icmpErrors.map((r) => [r.error, r.sourcePort, r.destinationPort, r.nextHopMtu]),
    ).toEqual([
      ["EHOSTUNREACH", 40000, 80, 0],
      ["EMSGSIZE", 40000, 80, 1280],
    ]);
    expect(host.tcp.icmpErrors.map((r) => [r.icmpType, r.icmpCode])).toEqual([
      [3, 1],
      [3, 4],
    ]);
    expect(host.tcp.icmpErrors[0]!.quoted.subarray(4, 8)).toEqual(Uint8Array.of(0, 0, 0, 1));
    expect(host.stats.get("icmpInDestUnreachs")).toBe(2);
  });
});
