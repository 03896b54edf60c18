import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { emitUdpHeader, isUdpParseFailure, parseUdpHeader } from "../../../stack/udp/header.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import {
  bytes,
  HOST,
  hex,
  ipv4Fields,
  ipv4Packet,
  PEER,
  udpPacket,
  udpSegment,
} from "../../helpers/packets.ts";

// A DNS-sized UDP datagram from 10.0.0.1:53 to 10.0.0.2:40000, checksum computed by hand
// (RFC 768: pseudo-header 0a000001 0a000002 0011 000c + header + data).
const FIXTURE = hex(`
  00 35   # source port 53
  9c 40   # destination port 40000
  00 0c   # length 12 (8 header + 4 data)
  8a 97   # checksum: ~(1420 + 9c81 + c4c6, folded) = ~7568
  61 62 63 64 # data "abcd"
`);

describe("UDP header (RFC 768)", () => {
  test("parses the annotated fixture and verifies its checksum", () => {
    expect(parseUdpHeader(FIXTURE, PEER, HOST)).toEqual({
      sourcePort: 53,
      destinationPort: 40000,
      length: 12,
      checksum: 0x8a97,
    });
  });

  test("parse ∘ emit is the identity; the checksum verifies; never a zero checksum", () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        fc.uint8Array({ maxLength: 100 }),
        (sourcePort, destinationPort, source, destination, data) => {
          const segment = new Uint8Array(8 + data.length);
          segment.set(data, 8);
          emitUdpHeader(segment, { sourcePort, destinationPort, source, destination });
          const parsed = parseUdpHeader(segment, source, destination);
          expect(parsed).toMatchObject({ sourcePort, destinationPort, length: segment.length });
          expect(isUdpParseFailure(parsed) ? 0 : parsed.checksum).not.toBe(0);
        },
      ),
    );
  });

  test("a zero checksum means none: accepted without verification", () => {
    expect(parseUdpHeader(udpSegment({ udpChecksum: 0 }), PEER, HOST)).toMatchObject({
      checksum: 0,
    });
  });

  test("length beyond the IP payload, below 8, or a bad checksum is rejected", () => {
    expect(parseUdpHeader(udpSegment({ udpLength: 100 }), PEER, HOST)).toMatchObject({
      reason: "udpInErrors",
    });
    expect(parseUdpHeader(udpSegment({ udpLength: 7 }), PEER, HOST)).toMatchObject({
      reason: "udpInErrors",
    });
    expect(parseUdpHeader(udpSegment({ udpChecksum: 0x1234 }), PEER, HOST)).toMatchObject({
      reason: "udpInCsumErrors",
    });
  });
});

describe("UDP input", () => {
  test("queues the data with the sender's address and port, and wakes the endpoint", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7);
    let changes = 0;
    endpoint.onChange = () => changes++;
    host.receive(udpPacket({ sourcePort: 1234, destinationPort: 7, data: bytes("hello") }), 0);
    expect(changes).toBe(1);
    expect(endpoint.queueLength).toBe(1);
    expect(endpoint.receive()).toEqual({
      sourceAddress: PEER,
      sourcePort: 1234,
      destinationAddress: HOST,
      data: bytes("hello"),
    });
    expect(endpoint.receive()).toBeUndefined();
    expect(host.stats.get("udpInDatagrams")).toBe(1);
  });

  test("ignores IP payload past the UDP length", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7);
    const segment = udpSegment({ destinationPort: 7, data: bytes("abc") });
    const longer = new Uint8Array(segment.length + 5);
    longer.set(segment);
    host.receive(ipv4Packet({ protocol: 17, payload: longer }), 0);
    expect(endpoint.receive()?.data).toEqual(bytes("abc"));
    expect(host.stats.get("udpInErrors")).toBe(0);
  });

  test("a bad checksum is counted (udpInCsumErrors and udpInErrors) and not delivered", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7);
    host.receive(udpPacket({ destinationPort: 7, udpChecksum: 0xbeef }), 0);
    expect(endpoint.queueLength).toBe(0);
    expect([host.stats.get("udpInCsumErrors"), host.stats.get("udpInErrors")]).toEqual([1, 1]);
    expect(host.sent).toEqual([]);
  });

  test("demux: a connected four-tuple beats a specific address, which beats the wildcard", () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(["wildcard", "specific", "connected", "otherPeer"] as const, {
          minLength: 1,
        }),
        (kinds) => {
          const host = ipHost();
          const endpoints = new Map<string, ReturnType<typeof host.udp.bind>>();
          for (const kind of kinds) {
            const e = host.udp.bind(kind === "wildcard" ? 0 : HOST, 9000);
            if (kind === "connected") e.connect(PEER, 1111);
            if (kind === "otherPeer") e.connect(PEER, 2222);
            endpoints.set(kind, e);
          }
          host.receive(udpPacket({ sourcePort: 1111, destinationPort: 9000, data: bytes("x") }), 0);
          const winner = ["connected", "specific", "wildcard"].find((k) => endpoints.has(k));
          for (const [kind, e] of endpoints) expect(e.queueLength).toBe(kind === winner ? 1 : 0);
          // Only a peer-mismatched endpoint: nobody takes it, ICMP port unreachable goes out.
          expect(host.sent.length).toBe(winner === undefined ? 1 : 0);
        },
      ),
    );
  });

  test("a broadcast goes to every matching endpoint, and never draws an ICMP error", () => {
    const host = ipHost();
    const a = host.udp.bind(0, 67);
    const b = host.udp.bind(0xffffffff, 67);
    const c = host.udp.bind(HOST, 67); // bound to our unicast address: not a broadcast listener
    host.receive(
      udpPacket({ destination: 0xffffffff, destinationPort: 67, data: bytes("offer") }),
      0,
    );
    expect([a.queueLength, b.queueLength, c.queueLength]).toEqual([1, 1, 0]);
    expect(a.receive()?.destinationAddress).toBe(0xffffffff);
    host.receive(udpPacket({ destination: 0xffffffff, destinationPort: 68 }), 0);
    expect(host.sent).toEqual([]);
    expect(host.stats.get("udpNoPorts")).toBe(1);
  });

  test("the receive queue is bounded in bytes: a full queue drops and counts udpRcvbufErrors", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7, { receiveQueueBytes: 1000 });
    for (let i = 0; i < 10; i++)
      host.receive(udpPacket({ destinationPort: 7, data: new Uint8Array(300) }), 0);
    // Each datagram is charged 300 + 64 bytes of bookkeeping: two fit in 1000.
    expect(endpoint.queueLength).toBe(2);
    expect(host.stats.get("udpRcvbufErrors")).toBe(8);
    endpoint.receive();
    host.receive(udpPacket({ destinationPort: 7, data: new Uint8Array(300) }), 0);
    expect(endpoint.queueLength).toBe(2);
  });

  test("after close() the port is free and datagrams draw port unreachable", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7);
    expect(host.udp.portInUse(0, 7)).toBe(true);
    expect(host.udp.portInUse(HOST, 7)).toBe(true);
    endpoint.close();
    expect(host.udp.portInUse(0, 7)).toBe(false);
    host.receive(udpPacket({ destinationPort: 7 }), 0);
    expect(host.sent.length).toBe(1);
    expect(() => endpoint.sendTo(bytes("x"), PEER, 7, 0)).toThrow();
  });

  test("portInUse: specific addresses coexist, the wildcard clashes with all", () => {
    const host = ipHost();
    host.udp.bind(HOST, 53);
    expect(host.udp.portInUse(0x0a000003, 53)).toBe(false);
    expect(host.udp.portInUse(HOST, 53)).toBe(true);
    expect(host.udp.portInUse(0, 53)).toBe(true);
    expect(host.udp.portInUse(HOST, 54)).toBe(false);
  });
});

describe("UDP output", () => {
  test("sendTo builds one checksummed datagram behind an IPv4 header", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5353);
    expect(endpoint.sendTo(bytes("query"), PEER, 53, 0)).toBeUndefined();
    const ip = ipv4Fields(host.sent[0]!);
    expect(ip).toMatchObject({
      source: HOST,
      destination: PEER,
      protocol: 17,
      headerChecksumOk: true,
    });
    expect(parseUdpHeader(ip.payload, HOST, PEER)).toMatchObject({
      sourcePort: 5353,
      destinationPort: 53,
      length: 13,
    });
    expect(ip.payload.subarray(8)).toEqual(bytes("query"));
    expect(host.stats.get("udpOutDatagrams")).toBe(1);
  });

  test("over 65,507 bytes is EMSGSIZE; up to it goes out fragmented", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 5353);
    expect(endpoint.sendTo(new Uint8Array(65_508), PEER, 9, 0)).toBe("EMSGSIZE");
    expect(host.sent).toEqual([]);
    expect(endpoint.sendTo(new Uint8Array(65_507), PEER, 9, 0)).toBeUndefined();
    expect(host.sent.length).toBe(Math.ceil((65_507 + 8) / 1480));
  });

  test("a round trip between two hosts delivers the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        const a = ipHost({ address: PEER });
        const b = ipHost({ address: HOST });
        const from = a.udp.bind(0, 1111);
        const to = b.udp.bind(0, 2222);
        from.sendTo(data, HOST, 2222, 0);
        for (const packet of a.sent) b.receive(packet, 0);
        expect(to.receive()).toEqual({
          sourceAddress: PEER,
          sourcePort: 1111,
          destinationAddress: HOST,
          data,
        });
      }),
      { numRuns: 50 },
    );
  });

  test("connect() filters: only the peer's datagrams are queued", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 7);
    endpoint.connect(PEER, 1111);
    expect(endpoint.localAddress).toBe(HOST);
    host.receive(udpPacket({ sourcePort: 2222, destinationPort: 7 }), 0);
    host.receive(udpPacket({ sourcePort: 1111, destinationPort: 7 }), 0);
    expect(endpoint.queueLength).toBe(1);
    expect(endpoint.receive()?.sourcePort).toBe(1111);
  });
});
