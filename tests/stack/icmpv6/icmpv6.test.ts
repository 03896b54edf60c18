import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Icmpv6Type } from "../../../stack/icmpv6/header.ts";
import { NextHeader } from "../../../stack/ipv6/datagram.ts";
import { ipv6Host } from "../ipv6/fixtures/ipv6_host.ts";
import {
  a6,
  bytes,
  concat,
  extensionHeader,
  fragmentHeader,
  HOST6,
  icmpv6ChecksumOk,
  icmpv6Message,
  icmpv6Packet,
  ipv6Packet,
  KERNEL_LINK_LOCAL,
  options,
  PEER6,
  readAddress,
  udp6,
} from "../ipv6/fixtures/packets6.ts";

const { UDP, TCP } = NextHeader;
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A packet we sent to PEER6 (UDP 5000 → 53, or TCP), as a peer would quote it back. */
function ourPacket(protocol: number = UDP, size = 32, destination = PEER6): Uint8Array {
  const data = new Uint8Array(size).fill(0x5a);
  const upper =
    protocol === UDP
      ? udp6({ source: HOST6, destination, sourcePort: 5000, destinationPort: 53, data })
      : concat(new Uint8Array([0x13, 0x88, 0x00, 0x50, 0, 0, 0, 1]), data);
  return ipv6Packet({ source: HOST6, destination, nextHeader: protocol, payload: upper });
}

/** An ICMPv6 error from `from` to us quoting `quote`. */
function errorPacket(
  type: number,
  code: number,
  quote: Uint8Array,
  restOfHeader = 0,
  from = PEER6,
) {
  return icmpv6Packet({ type, code, restOfHeader, body: quote, source: from });
}

describe("ICMPv6 echo (RFC 4443 §4)", () => {
  test("a request is answered with the same identifier, sequence and data, checksummed", () => {
    const host = ipv6Host();
    const data = bytes("0123456789abcdef");
    host.receive(icmpv6Packet({ type: 128, restOfHeader: 0x55760001, body: data }), 0);
    expect(host.sent.length).toBe(1);
    const reply = host.sent[0]!;
    expect(readAddress(reply, 8)).toBe(HOST6);
    expect(readAddress(reply, 24)).toBe(PEER6);
    expect([reply[6], reply[40], reply[41]]).toEqual([58, 129, 0]);
    expect(view(reply).getUint32(44)).toBe(0x55760001);
    expect(reply.subarray(48)).toEqual(data);
    expect(icmpv6ChecksumOk(reply)).toBe(true);
    expect(host.stats.get("icmpv6InEchos")).toBe(1);
    expect(host.stats.get("icmpv6OutEchoReplies")).toBe(1);
  });

  test("a request to all-nodes is answered from our unicast address (§4.2)", () => {
    const host = ipv6Host();
    host.receive(icmpv6Packet({ type: 128, destination: a6("ff02::1"), restOfHeader: 7 }), 0);
    expect(readAddress(host.sent[0]!, 8)).toBe(HOST6);
    expect(icmpv6ChecksumOk(host.sent[0]!)).toBe(true);
  });

  test("a 4000-octet request arrives in fragments and its reply leaves in fragments under the MTU", () => {
    const host = ipv6Host({ mtu: 1500 });
    const message = icmpv6Message({
      type: 128,
      restOfHeader: 0x00010002,
      body: new Uint8Array(4000).fill(3),
    });
    const cut = [0, 1448, 2896, message.length];
    for (let i = 0; i < 3; i++) {
      const part = message.subarray(cut[i]!, cut[i + 1]!);
      const header = fragmentHeader({
        nextHeader: 58,
        offset: cut[i]!,
        more: i < 2,
        identification: 42,
      });
      host.receive(
        ipv6Packet({ nextHeader: NextHeader.FRAGMENT, payload: concat(header, part) }),
        0,
      );
    }
    expect(host.stats.get("icmpv6OutEchoReplies")).toBe(1);
    expect(host.sent.length).toBe(3);
    expect(host.sent.every((p) => p.length <= 1500 && p[6] === NextHeader.FRAGMENT)).toBe(true);
    // Reassembled by a peer, the reply is the request with type 129.
    const peer = ipv6Host({ address6: PEER6 });
    for (const p of host.sent) peer.receive(p, 0);
    // The peer's ICMPv6 counts an echo reply it did not ask for, and only counts it.
    expect(peer.stats.get("icmpv6InEchoReplies")).toBe(1);
    expect(peer.sent).toEqual([]);
  });

  test("a bad checksum or a short message is dropped and counted", () => {
    const host = ipv6Host();
    host.receive(icmpv6Packet({ type: 128, checksum: 0x1234 }), 0);
    host.receive(ipv6Packet({ nextHeader: 58, payload: new Uint8Array([128, 0, 0]) }), 0);
    expect(host.stats.get("icmpv6InCsumErrors")).toBe(1);
    expect(host.stats.get("icmpv6InErrors")).toBe(2);
    expect(host.sent).toEqual([]);
  });

  test("an informational message of unknown type is silently dropped (§2.4 (b))", () => {
    const host = ipv6Host();
    host.receive(icmpv6Packet({ type: 200 }), 0);
    expect(host.stats.get("icmpv6InUnknownTypes")).toBe(1);
    expect(host.sent).toEqual([]);
  });
});

describe("ICMPv6 errors we send (RFC 4443 §2.4)", () => {
  test("port unreachable quotes the invoking packet, at most 1280 octets in all (§2.4 (c))", () => {
    for (const size of [10, 1000, 1232, 3000]) {
      const host = ipv6Host();
      const invoking = ipv6Packet({ nextHeader: UDP, payload: new Uint8Array(size) });
      host.icmpv6.sendDestinationUnreachable(datagramOf(invoking), 4, 0);
      const reply = host.sent[0]!;
      expect(reply.length).toBe(Math.min(1280, 48 + invoking.length));
      expect(reply.subarray(48)).toEqual(invoking.subarray(0, reply.length - 48));
      expect([reply[40], reply[41]]).toEqual([1, 4]);
      expect(icmpv6ChecksumOk(reply)).toBe(true);
    }
  });

  const silent: [string, Uint8Array][] = [
    ["an ICMPv6 error", concat(icmpv6Packet({ type: 1, body: new Uint8Array(48) }))],
    ["a redirect", icmpv6Packet({ type: 137, body: new Uint8Array(32) })],
    ["a packet to a multicast group", ipv6Packet({ destination: a6("ff02::1"), nextHeader: 253 })],
    ["a packet from the unspecified address", ipv6Packet({ source: a6("::"), nextHeader: 253 })],
    [
      "a packet from our subnet-router anycast address",
      ipv6Packet({ source: a6("fd00::"), nextHeader: 253 }),
    ],
  ];
  for (const [name, packet] of silent) {
    test(`no error about ${name} (§2.4 (e))`, () => {
      const host = ipv6Host();
      const d = datagramOf(packet);
      host.icmpv6.sendParameterProblem(d, 1, 6, 0);
      host.icmpv6.sendDestinationUnreachable(d, 4, 0);
      expect(host.sent).toEqual([]);
      expect(host.stats.get("icmpv6OutErrorsSuppressed")).toBe(2);
    });
  }

  test("an error about an error is recognised behind refused options too (e.1)", () => {
    const host = ipv6Host();
    const error = icmpv6Message({ type: 1, body: new Uint8Array(48) });
    const payload = concat(extensionHeader(58, options([0xbe, new Uint8Array(1)])), error);
    host.receive(ipv6Packet({ nextHeader: NextHeader.DESTINATION_OPTIONS, payload }), 0);
    expect(host.stats.get("ipv6InUnknownOptions")).toBe(1);
    expect(host.sent).toEqual([]);
  });

  test("Packet Too Big and Parameter Problem code 2 may answer multicast (§2.4 (e.3))", () => {
    const host = ipv6Host();
    const d = datagramOf(ipv6Packet({ destination: a6("ff02::1"), nextHeader: 253 }));
    host.icmpv6.sendPacketTooBig(d, 1280, 0);
    host.icmpv6.sendParameterProblem(d, 2, 40, 0);
    host.icmpv6.sendParameterProblem(d, 1, 6, 0);
    expect(host.sent.map((p) => [p[40], p[41]])).toEqual([
      [2, 0],
      [4, 2],
    ]);
    expect(readAddress(host.sent[0]!, 8)).toBe(HOST6); // from our unicast address
  });

  test("errors are rate limited by a token bucket (§2.4 (f))", () => {
    const host = ipv6Host({ icmpRateLimit: { ratePerSecond: 10, burst: 3 } });
    const packet = ipv6Packet({ nextHeader: 253 });
    for (let i = 0; i < 10; i++) host.receive(packet, 0);
    expect(host.sent.length).toBe(3);
    expect(host.stats.get("icmpv6OutRateLimited")).toBe(7);
    for (let i = 0; i < 10; i++) host.receive(packet, 1000);
    expect(host.sent.length).toBe(6);
  });
});

describe("ICMPv6 errors we receive", () => {
  test("port unreachable reaches UDP as ECONNREFUSED with the quoted ports", () => {
    const host = ipv6Host();
    host.receive(errorPacket(1, 4, ourPacket(UDP)), 0);
    expect(host.udp.icmpErrors).toMatchObject([
      {
        source: HOST6,
        destination: PEER6,
        protocol: UDP,
        sourcePort: 5000,
        destinationPort: 53,
        error: "ECONNREFUSED",
        nextHopMtu: 0,
        icmpType: 1,
        icmpCode: 4,
      },
    ]);
    expect(host.stats.get("icmpv6InDestUnreachs")).toBe(1);
  });

  test("codes map to the errno Linux gives (icmpv6_err_convert)", () => {
    const expected = [
      "ENETUNREACH",
      "EACCES",
      "EHOSTUNREACH",
      "EHOSTUNREACH",
      "ECONNREFUSED",
      "EACCES",
      "EACCES",
    ];
    expected.forEach((errno, code) => {
      const host = ipv6Host();
      host.receive(errorPacket(1, code, ourPacket(TCP)), 0);
      expect(host.tcp.icmpErrors[0]?.error).toBe(errno as never);
    });
  });

  test("Packet Too Big lowers the path MTU, then tells the transport the MTU in force (RFC 8201)", () => {
    const host = ipv6Host({ mtu: 1500 });
    host.receive(errorPacket(2, 0, ourPacket(TCP, 1100), 1400), 0);
    expect(host.ipv6.pathMtu(PEER6)).toBe(1400);
    expect(host.tcp.icmpErrors).toMatchObject([
      { error: "EMSGSIZE", nextHopMtu: 1400, destinationPort: 80 },
    ]);
    host.receive(errorPacket(2, 0, ourPacket(TCP, 1100), 600), 0);
    expect(host.ipv6.pathMtu(PEER6)).toBe(1280);
    expect(host.tcp.icmpErrors[1]!.nextHopMtu).toBe(1280);
  });

  test("Packet Too Big about a later fragment of ours (no ports) still lowers the path MTU", () => {
    const host = ipv6Host({ mtu: 1500 });
    const laterFragment = ipv6Packet({
      source: HOST6,
      destination: PEER6,
      nextHeader: NextHeader.FRAGMENT,
      payload: concat(
        fragmentHeader({ nextHeader: UDP, offset: 1448, more: false, identification: 9 }),
        new Uint8Array(64),
      ),
    });
    host.receive(errorPacket(2, 0, laterFragment, 1300), 0);
    expect(host.ipv6.pathMtu(PEER6)).toBe(1300);
    expect(host.udp.icmpErrors).toEqual([]);
    expect(host.stats.get("icmpv6InErrors")).toBe(0);
    // One that quotes somebody else's packet teaches nothing.
    const theirs = ipv6Packet({
      source: a6("fd00::7"),
      destination: a6("fd00::8"),
      nextHeader: UDP,
    });
    host.receive(errorPacket(2, 0, theirs, 1280), 0);
    expect(host.ipv6.pathMtu(a6("fd00::8"))).toBe(1500);
    expect(host.stats.get("icmpv6InErrors")).toBe(1);
  });

  test("an error that does not quote a packet of ours is dropped and counted", () => {
    const cases = [
      new Uint8Array(10), // too short for an IPv6 header
      ourPacket(UDP).map((b, i) => (i === 0 ? 0x45 : b)), // not IPv6
      ipv6Packet({ source: a6("fd00::7"), nextHeader: UDP, payload: new Uint8Array(8) }), // not from us
      ourPacket(UDP).subarray(0, 44), // ports cut off
      ipv6Packet({ source: HOST6, nextHeader: 50, payload: new Uint8Array(16) }), // ESP: no ports
    ];
    for (const quote of cases) {
      const host = ipv6Host();
      host.receive(errorPacket(1, 4, quote), 0);
      expect(host.stats.get("icmpv6InErrors")).toBe(1);
      expect(host.udp.icmpErrors).toEqual([]);
      expect(host.ipv6.pathMtus.size).toBe(0);
    }
  });

  test("errors quoting garbage: nothing thrown, nothing sent, all counted", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 77),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 1300 }),
        fc.boolean(),
        (type, code, rest, garbage, keepOurHeader) => {
          const host = ipv6Host();
          // Half the time the garbage follows a real header of ours, so the walk runs deep.
          const quote = keepOurHeader ? concat(ourPacket(UDP).subarray(0, 40), garbage) : garbage;
          if (keepOurHeader) quote[6] = garbage[0] ?? UDP;
          host.receive(errorPacket(type, code, quote, rest), 0);
          expect(host.sent).toEqual([]);
          expect(host.stats.get("icmpv6InMsgs")).toBe(1);
          const delivered = host.udp.icmpErrors.length + host.tcp.icmpErrors.length;
          expect(delivered + host.stats.get("icmpv6InErrors")).toBeLessThanOrEqual(1);
          expect(host.ipv6.pathMtu(PEER6)).toBeGreaterThanOrEqual(1280);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("Neighbour Discovery and MLD on a TUN (neighbor_discovery.ts)", () => {
  const messages: [string, number, string][] = [
    [
      "a Neighbour Solicitation for our address",
      Icmpv6Type.NEIGHBOR_SOLICITATION,
      "icmpv6InNeighborSolicits",
    ],
    ["a Router Advertisement", Icmpv6Type.ROUTER_ADVERTISEMENT, "icmpv6InRouterAdvertisements"],
    ["a Redirect", Icmpv6Type.REDIRECT, "icmpv6InRedirects"],
    ["an MLD query", Icmpv6Type.MULTICAST_LISTENER_QUERY, "icmpv6InGroupMembQueries"],
    [
      "a Neighbour Advertisement",
      Icmpv6Type.NEIGHBOR_ADVERTISEMENT,
      "icmpv6InNeighborAdvertisements",
    ],
  ];
  for (const [name, type, counter] of messages) {
    test(`${name} is counted and not answered`, () => {
      const host = ipv6Host();
      const destination =
        type === Icmpv6Type.NEIGHBOR_SOLICITATION ? a6("ff02::1:ff00:2") : a6("ff02::1");
      host.receive(
        icmpv6Packet({
          type,
          source: KERNEL_LINK_LOCAL,
          destination,
          hopLimit: 255,
          body: new Uint8Array(16),
        }),
        0,
      );
      expect(host.stats.get(counter)).toBe(1);
      expect(host.sent).toEqual([]);
    });
  }

  test("a DAD probe (from ::, to our solicited-node group) gets no answer that could claim the address", () => {
    const host = ipv6Host();
    const target = new Uint8Array(20);
    target.set(new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), 4);
    host.receive(
      icmpv6Packet({
        type: 135,
        source: a6("::"),
        destination: a6("ff02::1:ff00:2"),
        hopLimit: 255,
        body: target,
      }),
      0,
    );
    expect(host.stats.get("icmpv6InNeighborSolicits")).toBe(1);
    expect(host.sent).toEqual([]);
  });
});

/** A datagram for ICMPv6's send methods from a whole packet (upper layer found by walking). */
function datagramOf(packet: Uint8Array) {
  return {
    source: readAddress(packet, 8),
    destination: readAddress(packet, 24),
    protocol: packet[6]!,
    ttl: packet[7]!,
    packet,
    transportStart: 40,
    header: packet.subarray(0, 40),
    payload: packet.subarray(40),
    broadcast: packet[24] === 0xff,
    addressSum: 0,
  };
}
