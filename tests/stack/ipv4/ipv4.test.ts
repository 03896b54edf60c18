import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { IpProtocol } from "../../../stack/ipv4/datagram.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import {
  bytes,
  HOST,
  icmpEchoPacket,
  ipv4Fields,
  ipv4Packet,
  PEER,
  udpPacket,
} from "../../helpers/packets.ts";

const TCP_SEGMENT = bytes("pretend TCP segment!");

describe("IPv4 input", () => {
  test("delivers a datagram for us to TCP, trimming link padding", () => {
    const host = ipHost();
    const packet = ipv4Packet({ protocol: IpProtocol.TCP, payload: TCP_SEGMENT });
    const padded = new Uint8Array(packet.length + 6);
    padded.set(packet);
    host.receive(padded, 0);
    expect(host.tcp.inputs).toEqual([{ source: PEER, destination: HOST, payload: TCP_SEGMENT }]);
    expect(host.stats.get("ipInReceives")).toBe(1);
    expect(host.stats.get("ipInDelivers")).toBe(1);
  });

  const dropped: [string, Uint8Array, string][] = [
    ["for another host", ipv4Packet({ destination: 0x0a000009, protocol: 6 }), "ipInAddrErrors"],
    [
      "from a broadcast source",
      ipv4Packet({ source: 0xffffffff, protocol: 6 }),
      "ipInInvalidSources",
    ],
    [
      "from the subnet broadcast",
      ipv4Packet({ source: 0x0a0000ff, protocol: 6 }),
      "ipInInvalidSources",
    ],
    [
      "from a multicast source",
      ipv4Packet({ source: 0xe0000005, protocol: 6 }),
      "ipInInvalidSources",
    ],
    ["from loopback", ipv4Packet({ source: 0x7f000001, protocol: 6 }), "ipInInvalidSources"],
    ["from our own address", ipv4Packet({ source: HOST, protocol: 6 }), "ipInInvalidSources"],
    [
      "to a multicast group we did not join",
      ipv4Packet({ destination: 0xe0000005 }),
      "ipInAddrErrors",
    ],
    ["with a bad checksum", ipv4Packet({ checksum: 0x1234 }), "ipInHdrErrors"],
    ["truncated", ipv4Packet({ payload: new Uint8Array(8) }).subarray(0, 24), "ipInTruncatedPkts"],
  ];
  for (const [name, packet, reason] of dropped) {
    test(`drops a packet ${name} and counts ${reason}, answering nothing`, () => {
      const host = ipHost();
      host.receive(packet, 0);
      expect(host.stats.get(reason)).toBe(1);
      expect(host.tcp.inputs).toEqual([]);
      expect(host.sent).toEqual([]);
    });
  }

  test("accepts the limited broadcast, the subnet broadcast and all-hosts, marked broadcast", () => {
    for (const destination of [0xffffffff, 0x0a0000ff, 0xe0000001]) {
      const host = ipHost();
      const endpoint = host.udp.bind(0, 9999);
      host.receive(udpPacket({ destination, destinationPort: 9999, data: bytes("hi") }), 0);
      expect(endpoint.receive()?.data).toEqual(bytes("hi"));
    }
  });

  test("an unknown protocol is answered with ICMP protocol unreachable (code 2)", () => {
    const host = ipHost();
    host.receive(ipv4Packet({ protocol: 99, payload: new Uint8Array(12) }), 0);
    expect(host.stats.get("ipInUnknownProtos")).toBe(1);
    expect(host.sent.length).toBe(1);
    const reply = ipv4Fields(host.sent[0]!);
    expect([reply.protocol, reply.destination, reply.payload[0], reply.payload[1]]).toEqual([
      1,
      PEER,
      3,
      2,
    ]);
  });

  test("traces every packet in and out when the trace is enabled", () => {
    const seen: string[] = [];
    const trace = {
      enabled: true,
      packet: (direction: "in" | "out", p: Uint8Array) => seen.push(`${direction} ${p.length}`),
      transition() {},
      drop: (reason: string) => seen.push(`drop ${reason}`),
    };
    const host = ipHost({ trace });
    host.receive(icmpEchoPacket({}), 0);
    host.receive(ipv4Packet({ destination: 0x0a000009 }), 0);
    expect(seen).toEqual(["in 60", "out 60", "in 20", "drop ipInAddrErrors"]);
  });

  test("random bytes never throw; each packet is delivered, held for reassembly, or counted as a drop", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (packet) => expectAccounted(packet)),
      { numRuns: 1000 },
    );
  });

  test("random mutations of valid packets never throw and are all accounted for", () => {
    const valid = [
      udpPacket({ data: bytes("hello") }),
      icmpEchoPacket({}),
      ipv4Packet({ protocol: 6, payload: TCP_SEGMENT, options: Uint8Array.of(1, 1, 1, 0) }),
      ipv4Packet({ protocol: 17, moreFragments: true, payload: new Uint8Array(16) }),
    ];
    const mutation = fc.record({
      which: fc.nat(valid.length - 1),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      cut: fc.nat(),
      fixChecksum: fc.boolean(),
    });
    fc.assert(
      fc.property(mutation, ({ which, edits, cut, fixChecksum }) => {
        const packet = valid[which]!.slice(0, Math.max(0, valid[which]!.length - (cut % 8)));
        for (const [at, value] of edits) if (packet.length > 0) packet[at % packet.length] = value;
        if (fixChecksum && packet.length >= 20) refreshChecksum(packet);
        expectAccounted(packet);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Exactly one of: delivered, held for reassembly, or dropped under an IPv4 reason. */
function expectAccounted(packet: Uint8Array): void {
  const host = ipHost();
  host.receive(packet, 0);
  const outcomes = [
    "ipInDelivers",
    "ipReasmReqds",
    "ipInHdrErrors",
    "ipInTruncatedPkts",
    "ipInAddrErrors",
    "ipInInvalidSources",
    "ipInUnknownProtos",
  ].map((name) => host.stats.get(name));
  expect(outcomes.reduce((a, b) => a + b, 0)).toBe(1);
  expect(host.stats.get("ipInReceives")).toBe(1);
}

function refreshChecksum(packet: Uint8Array): void {
  const ihl = Math.min((packet[0]! & 0x0f) * 4, packet.length);
  packet[10] = 0;
  packet[11] = 0;
  let sum = 0;
  for (let i = 0; i + 1 < ihl; i += 2) sum += (packet[i]! << 8) | packet[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  packet[10] = (~sum >>> 8) & 0xff;
  packet[11] = ~sum & 0xff;
}

describe("IPv4 output", () => {
  function outgoing(length: number): Uint8Array {
    const packet = new Uint8Array(20 + length);
    for (let i = 0; i < length; i++) packet[20 + i] = i & 0xff;
    return packet;
  }

  test("writes the header in the headroom: TTL 64, fresh identifications, our source", () => {
    const host = ipHost({ seed: 42 });
    host.ipv4.output(outgoing(10), { source: 0, destination: PEER, protocol: IpProtocol.UDP });
    host.ipv4.output(outgoing(10), {
      source: HOST,
      destination: PEER,
      protocol: IpProtocol.UDP,
      dontFragment: true,
    });
    const [a, b] = host.sent.map(ipv4Fields);
    expect(a).toMatchObject({
      ttl: 64,
      source: HOST,
      destination: PEER,
      totalLength: 30,
      headerChecksumOk: true,
    });
    expect(b!.identification).toBe((a!.identification + 1) & 0xffff);
    expect(b!.dontFragment).toBe(true);
    expect(host.stats.get("ipOutRequests")).toBe(2);
  });

  test("fragments anything over the MTU into 8-aligned pieces that cover the data exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 68, max: 1500 }),
        fc.integer({ min: 0, max: 9000 }),
        (mtu, length) => {
          const host = ipHost({ mtu });
          const packet = outgoing(length);
          host.ipv4.output(packet, { source: HOST, destination: PEER, protocol: IpProtocol.UDP });
          const pieces = host.sent.map(ipv4Fields);
          let expectedOffset = 0;
          for (const [i, p] of pieces.entries()) {
            expect(p.totalLength).toBeLessThanOrEqual(mtu);
            expect(p.headerChecksumOk).toBe(true);
            expect(p.fragmentOffset).toBe(expectedOffset);
            expect(p.moreFragments).toBe(i < pieces.length - 1);
            if (p.moreFragments) expect(p.payload.length % 8).toBe(0);
            expect(p.identification).toBe(pieces[0]!.identification);
            expect(p.payload).toEqual(
              packet.subarray(20 + expectedOffset, 20 + expectedOffset + p.payload.length),
            );
            expectedOffset += p.payload.length;
          }
          expect(expectedOffset).toBe(length);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("drops and counts a DF datagram over the MTU", () => {
    const host = ipHost({ mtu: 576 });
    host.ipv4.output(outgoing(1000), {
      source: HOST,
      destination: PEER,
      protocol: 6,
      dontFragment: true,
    });
    expect(host.sent).toEqual([]);
    expect(host.stats.get("ipOutFragFails")).toBe(1);
  });
});
