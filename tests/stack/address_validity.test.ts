/**
 * Address validity (RFC 1122 §3.2.1.3, §3.2.2, §4.1.3.6, §4.2.3.10; RFC 9293 MUST-46,
 * MUST-57, MUST-63), rule by rule and layer by layer, at packet level: what comes from
 * an address that cannot be a source is dropped silently and counted, never answered;
 * TCP drops a segment to a broadcast or multicast address; an OPEN to one is refused.
 *
 * IPv4 input drops bad sources first (`ipInInvalidSources`); TCP, UDP and ICMP check
 * again on their own (`tcpInInvalidSources`, `udpInInvalidSources`,
 * `icmpInInvalidSources`), which the second half tests by handing them datagrams
 * directly, as RFC 1122 lets "either the IP layer or ... each protocol" do it.
 */
import { describe, expect, test } from "bun:test";
import { formatIpv4 } from "../../stack/address.ts";
import { IpProtocol, type Ipv4Datagram } from "../../stack/ipv4/datagram.ts";
import { ipHost } from "../helpers/ip_host.ts";
import {
  bytes,
  HOST,
  icmpEchoPacket,
  icmpMessage,
  ipv4Fields,
  ipv4Packet,
  PEER,
  udpPacket,
  udpSegment,
} from "../helpers/packets.ts";
import { ADDRESS_B, connectedPair, socketHosts } from "../helpers/socket_hosts.ts";
import {
  datagram,
  expectNothingSent,
  harness,
  LOCAL,
  LOCAL_PORT,
  REMOTE,
} from "../helpers/tcp_segments.ts";
import { tcpBytes } from "../helpers/tcp_wire.ts";

/** Sources no datagram may come from (the host is 10.0.0.2/24). */
const INVALID_SOURCES: [string, number][] = [
  ["0.0.0.0 to a unicast address (§3.2.1.3 a)", 0x00000000],
  ["{0, host} 0.0.0.7 (§3.2.1.3 b)", 0x00000007],
  ["the limited broadcast (§3.2.1.3 c)", 0xffffffff],
  ["a multicast address", 0xe0000005],
  ["the loopback net (§3.2.1.3 g)", 0x7f000001],
  ["class E", 0xf0000001],
];
/** Invalid only with knowledge of the subnet: the IPv4 layer's rules. */
const INVALID_ON_THIS_LINK: [string, number][] = [
  ["our subnet's broadcast (§3.2.1.3 d)", 0x0a0000ff],
  ["our subnet's all-zeros broadcast", 0x0a000000],
  ["our own address", HOST],
];

describe("IPv4 input drops invalid sources (RFC 1122 §3.2.1.3)", () => {
  for (const [name, source] of [...INVALID_SOURCES, ...INVALID_ON_THIS_LINK]) {
    test(`from ${name}: dropped as ipInInvalidSources, nothing delivered or sent`, () => {
      const host = ipHost();
      host.udp.bind(0, 7);
      host.receive(udpPacket({ source, destinationPort: 7, data: bytes("x") }), 0); // UDP (§4.1.3.6)
      host.receive(udpPacket({ source, destinationPort: 9 }), 0); // no Port Unreachable
      host.receive(icmpEchoPacket({ source }), 0); // no echo reply
      host.receive(
        ipv4Packet({ source, protocol: IpProtocol.TCP, payload: new Uint8Array(20) }),
        0,
      );
      expect(host.stats.get("ipInInvalidSources")).toBe(4);
      expect(host.stats.get("ipInDelivers")).toBe(0);
      expect(host.tcp.inputs).toEqual([]);
      expect(host.sent).toEqual([]);
    });
  }

  test("the bootstrap case: from 0.0.0.0 to 255.255.255.255 (a DHCP client) is delivered, never answered", () => {
    const host = ipHost();
    const endpoint = host.udp.bind(0, 67);
    host.receive(udpPacket({ source: 0, destination: 0xffffffff, destinationPort: 67 }), 0);
    host.receive(udpPacket({ source: 0, destination: 0xffffffff, destinationPort: 68 }), 0);
    expect(endpoint.receive()?.sourceAddress).toBe(0);
    expect(host.stats.get("ipInInvalidSources")).toBe(0);
    expect(host.sent).toEqual([]); // no Port Unreachable for the closed port 68
  });

  test("0.0.0.0 to the subnet broadcast is not bootstrap (as Linux: only 255.255.255.255)", () => {
    const host = ipHost();
    host.udp.bind(0, 67);
    host.receive(udpPacket({ source: 0, destination: 0x0a0000ff, destinationPort: 67 }), 0);
    expect(host.stats.get("ipInInvalidSources")).toBe(1);
  });
});

/** A datagram as IPv4 would hand it to a transport, for the transports' own checks. */
function handed(source: number, protocol: number, payload: Uint8Array, to = HOST): Ipv4Datagram {
  const broadcast = to === 0xffffffff || to === 0x0a0000ff;
  return {
    source,
    destination: to,
    protocol,
    ttl: 64,
    header: new Uint8Array(20),
    payload,
    broadcast,
  };
}

describe("UDP checks the source itself (RFC 1122 §4.1.3.6)", () => {
  for (const [name, source] of INVALID_SOURCES) {
    test(`from ${name}: udpInInvalidSources, not delivered, no Port Unreachable`, () => {
      const host = ipHost();
      const endpoint = host.udp.bind(0, 7);
      const d = (port: number) =>
        handed(
          source,
          IpProtocol.UDP,
          udpSegment({ source, destination: HOST, destinationPort: port }),
        );
      host.udp.input(d(7), 0);
      host.udp.input(d(9), 0);
      expect(host.stats.get("udpInInvalidSources")).toBe(2);
      expect(endpoint.receive()).toBeUndefined();
      expect(host.sent).toEqual([]);
    });
  }
});

describe("ICMP checks the source itself (RFC 1122 §3.2.1.3, §3.2.2)", () => {
  for (const [name, source] of INVALID_SOURCES) {
    test(`an echo request from ${name}: icmpInInvalidSources, no reply`, () => {
      const host = ipHost();
      host.icmp.input(
        handed(source, IpProtocol.ICMP, icmpMessage({ type: 8, data: bytes("ping") })),
        0,
      );
      expect(host.stats.get("icmpInInvalidSources")).toBe(1);
      expect(host.stats.get("icmpOutEchoReps")).toBe(0);
      expect(host.sent).toEqual([]);
    });
  }

  test("a valid echo request handed the same way is answered (the check is not blanket)", () => {
    const host = ipHost();
    host.icmp.input(
      handed(PEER, IpProtocol.ICMP, icmpMessage({ type: 8, data: bytes("ping") })),
      0,
    );
    expect(ipv4Fields(host.sent[0]!).destination).toBe(PEER);
  });
});

describe("TCP remote address validation (RFC 1122 §4.2.3.10)", () => {
  for (const [name, source] of INVALID_SOURCES) {
    test(`MUST-63: a SYN from ${name} is ignored: no SYN,ACK, no TCB; an ACK gets no RST`, () => {
      const h = harness();
      h.listener = h.tcp.listen(0, LOCAL_PORT, 8);
      const from = (flags: string, port: number) =>
        datagram(
          source,
          LOCAL,
          tcpBytes(source, LOCAL, { flags, seq: 100, ack: 5, destinationPort: port }),
        );
      h.tcp.input(from("S", LOCAL_PORT), h.now);
      h.tcp.input(from("A", 4444), h.now); // no connection there: would be a RST
      expectNothingSent(h);
      expect([...h.tcp.connections()]).toEqual([]);
      expect(h.stats.get("tcpInInvalidSources")).toBe(2);
    });
  }

  for (const [name, destination] of [
    ["the limited broadcast", 0xffffffff],
    ["the subnet broadcast", 0x0a0000ff],
    ["the all-hosts group", 0xe0000001],
    ["another multicast group", 0xe0000005],
  ] as const) {
    test(`MUST-57: a SYN to ${name} is silently discarded`, () => {
      const h = harness();
      h.listener = h.tcp.listen(0, LOCAL_PORT, 8);
      const bytesOut = tcpBytes(REMOTE, destination, {
        flags: "S",
        seq: 100,
        destinationPort: LOCAL_PORT,
      });
      const broadcast = !(destination >>> 28 === 0xe && destination !== 0xe0000001);
      h.tcp.input(datagram(REMOTE, destination, bytesOut, broadcast), h.now);
      expectNothingSent(h);
      expect([...h.tcp.connections()]).toEqual([]);
      expect(h.stats.get("tcpInBroadcast")).toBe(1);
    });
  }

  test("a SYN from a valid peer is still answered (the checks are not blanket)", () => {
    const h = harness();
    h.listener = h.tcp.listen(0, LOCAL_PORT, 8);
    h.tcp.input(datagram(REMOTE, LOCAL, tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 100 })), h.now);
    expect(h.sent.map((s) => s.flags)).toEqual(["SA"]);
  });
});

describe("MUST-46: an OPEN to an invalid remote address is refused", () => {
  for (const address of ["0.0.0.0", "255.255.255.255", "10.0.0.255", "224.0.0.1", "240.0.0.1"]) {
    test(`connect(${address}) fails with ENETUNREACH and sends nothing`, async () => {
      const hosts = socketHosts();
      const { a } = hosts;
      const fd = a.api.socket("inet", "stream");
      const before = a.link.faults.sent;
      await expect(a.api.connect(fd, address, 80)).rejects.toMatchObject({ code: "ENETUNREACH" });
      expect(a.link.faults.sent).toBe(before);
    });
  }

  test("a unicast peer is still reachable", async () => {
    const hosts = socketHosts();
    const { client } = await connectedPair(hosts);
    expect(hosts.a.api.getpeername(client).address).toBe(ADDRESS_B);
    expect(formatIpv4(REMOTE)).toBe("10.0.0.1");
  });
});
