import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { internetChecksum } from "../../../stack/checksum.ts";
import { ipv6PseudoHeaderSum } from "../../../stack/ipv6/checksum.ts";
import { NextHeader } from "../../../stack/ipv6/datagram.ts";
import { IPV6_HEADER_LENGTH } from "../../../stack/ipv6/ipv6.ts";
import { ipv6Host } from "./fixtures/ipv6_host.ts";
import {
  a6,
  concat,
  extensionHeader,
  fragmentHeader,
  HOST6,
  icmpv6ChecksumOk,
  ipv6Packet,
  KERNEL_LINK_LOCAL,
  options,
  PEER6,
  readAddress,
  routingHeader,
  udp6,
} from "./fixtures/packets6.ts";

const { UDP, TCP, FRAGMENT, DESTINATION_OPTIONS, HOP_BY_HOP, ROUTING } = NextHeader;
const SEGMENT = new TextEncoder().encode("pretend TCP segment!");

/** The upper-layer bytes of a UDP datagram of `size` data octets, ready for `output`. */
function udpOut(size: number, source = HOST6, destination = PEER6): Uint8Array {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
  const datagram = udp6({ source, destination, sourcePort: 5000, destinationPort: 53, data });
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + datagram.length);
  packet.set(datagram, IPV6_HEADER_LENGTH);
  return packet;
}

describe("IPv6 input", () => {
  test("delivers a packet for us to TCP, trimming link padding", () => {
    const host = ipv6Host();
    const packet = ipv6Packet({ nextHeader: TCP, payload: SEGMENT });
    const padded = concat(packet, new Uint8Array(6));
    host.receive(padded, 0);
    expect(host.tcp.inputs).toMatchObject([
      {
        source: PEER6,
        destination: HOST6,
        protocol: TCP,
        ttl: 64,
        broadcast: false,
        payload: SEGMENT,
      },
    ]);
    expect(host.stats.get("ipv6InReceives")).toBe(1);
    expect(host.stats.get("ipv6InDelivers")).toBe(1);
  });

  test("addressSum makes the pseudo-header the same sum as from the addresses (RFC 8200 §8.1)", () => {
    const host = ipv6Host();
    host.receive(ipv6Packet({ nextHeader: UDP, payload: SEGMENT }), 0);
    const d = host.udp.inputs[0]!;
    expect(d.addressSum + UDP + SEGMENT.length).toBe(
      ipv6PseudoHeaderSum(PEER6, HOST6, UDP, SEGMENT.length),
    );
  });

  test("walks options and a spent routing header to the upper layer", () => {
    const host = ipv6Host();
    const payload = concat(
      extensionHeader(DESTINATION_OPTIONS, options([0x05, new Uint8Array(2)])),
      extensionHeader(ROUTING, new Uint8Array(0)),
      routingHeader(UDP, 0, 0),
      SEGMENT,
    );
    // hop-by-hop, destination options (first of two), routing (type 0, 0 segments left).
    const packet = ipv6Packet({ nextHeader: HOP_BY_HOP, payload });
    host.receive(packet, 0);
    expect(host.udp.inputs.length).toBe(1);
    expect(host.udp.inputs[0]!.payload).toEqual(SEGMENT);
  });

  const dropped: [string, Uint8Array, string][] = [
    [
      "for another host",
      ipv6Packet({ destination: a6("fd00::9"), nextHeader: TCP }),
      "ipv6InAddrErrors",
    ],
    [
      "from a multicast source",
      ipv6Packet({ source: a6("ff02::1"), nextHeader: TCP }),
      "ipv6InAddrErrors",
    ],
    ["from loopback", ipv6Packet({ source: a6("::1"), nextHeader: TCP }), "ipv6InAddrErrors"],
    [
      "from a v4-mapped source",
      ipv6Packet({ source: a6("::ffff:10.0.0.1"), nextHeader: TCP }),
      "ipv6InAddrErrors",
    ],
    ["from our own address", ipv6Packet({ source: HOST6, nextHeader: TCP }), "ipv6InAddrErrors"],
    [
      "to all-routers (RS from the kernel)",
      ipv6Packet({ source: KERNEL_LINK_LOCAL, destination: a6("ff02::2"), nextHeader: 58 }),
      "ipv6InAddrErrors",
    ],
    [
      "to MLDv2 routers (a report with Router Alert)",
      ipv6Packet({
        source: KERNEL_LINK_LOCAL,
        destination: a6("ff02::16"),
        nextHeader: HOP_BY_HOP,
        hopLimit: 1,
        payload: concat(
          extensionHeader(58, options([5, new Uint8Array(2)])),
          new Uint8Array(28).fill(143, 0, 1),
        ),
      }),
      "ipv6InAddrErrors",
    ],
    [
      "to interface-local all-nodes",
      ipv6Packet({ destination: a6("ff01::1"), nextHeader: TCP }),
      "ipv6InAddrErrors",
    ],
    ["of version 4", ipv6Packet({ version: 4 }), "ipv6InHdrErrors"],
    [
      "truncated",
      ipv6Packet({ payload: new Uint8Array(8) }).subarray(0, 44),
      "ipv6InTruncatedPkts",
    ],
    [
      "with an option of action 01",
      ipv6Packet({
        nextHeader: DESTINATION_OPTIONS,
        payload: concat(extensionHeader(TCP, options([0x7f, new Uint8Array(1)])), SEGMENT),
      }),
      "ipv6InUnknownOptions",
    ],
  ];
  for (const [name, packet, reason] of dropped) {
    test(`drops a packet ${name}, counted under ${reason}, answering nothing`, () => {
      const host = ipv6Host();
      host.receive(packet, 0);
      expect(host.stats.get(reason)).toBe(1);
      expect(host.tcp.inputs).toEqual([]);
      expect(host.sent).toEqual([]);
    });
  }

  test("accepts all-nodes and our solicited-node group, marked broadcast", () => {
    for (const destination of [a6("ff02::1"), a6("ff02::1:ff00:2")]) {
      const host = ipv6Host();
      host.receive(ipv6Packet({ destination, nextHeader: UDP, payload: SEGMENT }), 0);
      expect(host.udp.inputs).toMatchObject([{ destination, broadcast: true }]);
    }
  });

  test("an unknown next header draws Parameter Problem code 1 pointing at it (RFC 8200 §4)", () => {
    const host = ipv6Host();
    const packet = ipv6Packet({ nextHeader: 253, payload: SEGMENT });
    host.receive(packet, 0);
    expect(host.stats.get("ipv6InUnknownProtos")).toBe(1);
    expect(host.sent.length).toBe(1);
    const reply = host.sent[0]!;
    expect(readAddress(reply, 24)).toBe(PEER6);
    expect([reply[40], reply[41]]).toEqual([4, 1]);
    expect(new DataView(reply.buffer).getUint32(44)).toBe(6);
    expect(reply.subarray(48)).toEqual(packet);
    expect(icmpv6ChecksumOk(reply)).toBe(true);
  });

  test("an unknown option of action 11 to a multicast group is dropped without a word; 10 is answered", () => {
    for (const [type, answered] of [
      [0xfe, 0],
      [0xbe, 1],
    ] as const) {
      const host = ipv6Host();
      const payload = concat(extensionHeader(UDP, options([type, new Uint8Array(1)])), SEGMENT);
      host.receive(
        ipv6Packet({ destination: a6("ff02::1"), nextHeader: DESTINATION_OPTIONS, payload }),
        0,
      );
      expect(host.stats.get("ipv6InUnknownOptions")).toBe(1);
      expect(host.sent.length).toBe(answered);
      if (answered) expect([host.sent[0]![40], host.sent[0]![41]]).toEqual([4, 2]);
    }
  });

  test("an atomic fragment is processed alone (RFC 6946), not mixed with a queued fragment of its id", () => {
    const host = ipv6Host();
    const queued = concat(
      fragmentHeader({ nextHeader: UDP, offset: 8, more: false, identification: 9 }),
      new Uint8Array(8),
    );
    host.receive(ipv6Packet({ nextHeader: FRAGMENT, payload: queued }), 0);
    const atomic = concat(
      fragmentHeader({ nextHeader: UDP, offset: 0, more: false, identification: 9 }),
      SEGMENT,
    );
    host.receive(ipv6Packet({ nextHeader: FRAGMENT, payload: atomic }), 0);
    expect(host.udp.inputs.map((d) => d.payload)).toEqual([SEGMENT]);
    expect(host.stats.get("ipv6InAtomicFragments")).toBe(1);
    expect(host.ipv6.reassembly.packetsInProgress).toBe(1);
  });

  test("hop-by-hop behind a Fragment header is refused, also once reassembled (RFC 8200 §4.3)", () => {
    const host = ipv6Host();
    const hopByHop = extensionHeader(UDP, new Uint8Array(0));
    const atomic = concat(
      fragmentHeader({ nextHeader: HOP_BY_HOP, offset: 0, more: false, identification: 3 }),
      hopByHop,
      SEGMENT,
    );
    host.receive(ipv6Packet({ nextHeader: FRAGMENT, payload: atomic }), 0);
    const whole = concat(hopByHop, SEGMENT, new Uint8Array(4));
    for (const [start, end] of [
      [0, 16],
      [16, whole.length],
    ] as const) {
      const header = fragmentHeader({
        nextHeader: HOP_BY_HOP,
        offset: start,
        more: end < whole.length,
        identification: 4,
      });
      host.receive(
        ipv6Packet({ nextHeader: FRAGMENT, payload: concat(header, whole.subarray(start, end)) }),
        0,
      );
    }
    expect(host.udp.inputs).toEqual([]);
    expect(host.stats.get("ipv6ReasmOKs")).toBe(1);
    expect(host.sent.map((p) => [p[40], p[41]])).toEqual([
      [4, 1],
      [4, 1],
    ]);
  });

  test("a fragment with more to come and a length not a multiple of 8 draws Parameter Problem at Payload Length", () => {
    const host = ipv6Host();
    const payload = concat(
      fragmentHeader({ nextHeader: UDP, offset: 0, more: true, identification: 1 }),
      new Uint8Array(12),
    );
    host.receive(ipv6Packet({ nextHeader: FRAGMENT, payload }), 0);
    expect(host.sent.length).toBe(1);
    expect([host.sent[0]![40], host.sent[0]![41]]).toEqual([4, 0]);
    expect(new DataView(host.sent[0]!.buffer).getUint32(44)).toBe(4);
  });

  test("a first fragment without the whole header chain draws Parameter Problem code 3 (RFC 7112)", () => {
    const host = ipv6Host();
    const payload = concat(
      fragmentHeader({ nextHeader: DESTINATION_OPTIONS, offset: 0, more: true, identification: 1 }),
      new Uint8Array([UDP, 3, 1, 4, 0, 0, 0, 0]), // says 32 octets, has 8
    );
    host.receive(ipv6Packet({ nextHeader: FRAGMENT, payload }), 0);
    expect([host.sent[0]?.[40], host.sent[0]?.[41]]).toEqual([4, 3]);
    expect(host.ipv6.reassembly.packetsInProgress).toBe(0);
  });

  test("reassembly timeout: dropped and Time Exceeded code 1 quoting the first fragment (RFC 8200 §4.5)", () => {
    const host = ipv6Host();
    const first = ipv6Packet({
      nextHeader: FRAGMENT,
      payload: concat(
        fragmentHeader({ nextHeader: UDP, offset: 0, more: true, identification: 5 }),
        new Uint8Array(16),
      ),
    });
    host.receive(first, 1000);
    expect(host.ipv6.nextDeadline()).toBe(61_000);
    host.ipv6.poll(60_999);
    expect(host.sent).toEqual([]);
    host.ipv6.poll(61_000);
    expect(host.stats.get("ipv6ReasmFails")).toBe(1);
    expect(host.sent.length).toBe(1);
    expect([host.sent[0]![40], host.sent[0]![41]]).toEqual([3, 1]);
    expect(host.sent[0]!.subarray(48)).toEqual(first);
    expect(host.ipv6.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
  });

  test("a packet arriving while another is delivered (a looped-back reply) does not overwrite it", () => {
    const host = ipv6Host();
    const outer = ipv6Packet({ nextHeader: UDP, payload: SEGMENT });
    const inner = ipv6Packet({
      source: a6("fd00::9"),
      nextHeader: TCP,
      payload: new Uint8Array(33),
    });
    const seen: string[] = [];
    host.udp.input = (d) => {
      host.receive(inner, 0); // re-entry, as a synchronous link would do
      seen.push(`${d.source} ${d.protocol} ${d.payload.length} ${d.ttl}`);
    };
    host.receive(outer, 0);
    expect(seen).toEqual([`${PEER6} ${UDP} ${SEGMENT.length} 64`]);
    expect(host.tcp.inputs).toMatchObject([{ source: a6("fd00::9"), protocol: TCP }]);
    // And the reused objects serve the next packet as before.
    host.udp.input = (d) => seen.push(`${d.source} ${d.payload.length}`);
    host.receive(outer, 0);
    expect(seen[1]).toBe(`${PEER6} ${SEGMENT.length}`);
  });

  test("a link MTU under 1280 leaves IPv6 off: every packet dropped and counted", () => {
    const host = ipv6Host({ mtu: 576 });
    host.receive(ipv6Packet({ nextHeader: TCP, payload: SEGMENT }), 0);
    host.ipv6.output(udpOut(10), { source: HOST6, destination: PEER6, protocol: UDP });
    expect(host.stats.get("ipv6InDiscards")).toBe(1);
    expect(host.stats.get("ipv6OutDiscards")).toBe(1);
    expect(host.sent).toEqual([]);
  });
});

describe("IPv6 output", () => {
  test("never sends to ::, ::1 or a v4-mapped address (RFC 4291 §2.5)", () => {
    const host = ipv6Host();
    for (const destination of [a6("::"), a6("::1"), a6("::ffff:10.0.0.1")]) {
      host.ipv6.output(udpOut(10), { source: HOST6, destination, protocol: UDP });
    }
    expect(host.sent).toEqual([]);
    expect(host.stats.get("ipv6OutDiscards")).toBe(3);
  });

  test("a stack without an IPv6 address (`::`) takes and sends nothing", () => {
    const host = ipv6Host({ address6: a6("::") });
    host.receive(ipv6Packet({ destination: a6("::"), nextHeader: TCP, payload: SEGMENT }), 0);
    host.receive(ipv6Packet({ destination: a6("ff02::1"), nextHeader: TCP, payload: SEGMENT }), 0);
    host.ipv6.output(udpOut(10), { source: a6("::"), destination: PEER6, protocol: UDP });
    expect(host.tcp.inputs).toEqual([]);
    expect(host.sent).toEqual([]);
    expect(host.stats.get("ipv6InDiscards")).toBe(2);
    expect(host.stats.get("ipv6OutDiscards")).toBe(1);
  });

  test("writes the header in the headroom; `::` as source means ours", () => {
    const host = ipv6Host();
    const packet = udpOut(100);
    host.ipv6.output(packet, {
      source: a6("::"),
      destination: PEER6,
      protocol: UDP,
      hopLimit: 7,
      flowLabel: 0x12345,
      trafficClass: 0xb8,
    });
    const sent = host.sent[0]!;
    expect(sent.length).toBe(packet.length);
    expect(readAddress(sent, 8)).toBe(HOST6);
    expect(readAddress(sent, 24)).toBe(PEER6);
    expect(new DataView(sent.buffer).getUint32(0)).toBe((6 << 28) | (0xb8 << 20) | 0x12345);
    expect([sent[6], sent[7]]).toEqual([UDP, 7]);
    expect((sent[4]! << 8) | sent[5]!).toBe(packet.length - 40);
  });

  test("TCP and UDP flows get a stable non-zero flow label from a keyed hash (RFC 6437); ICMPv6 none", () => {
    const label = (host: ReturnType<typeof ipv6Host>, packet: Uint8Array, protocol: number) => {
      host.ipv6.output(packet, { source: HOST6, destination: PEER6, protocol });
      return new DataView(host.sent[host.sent.length - 1]!.buffer).getUint32(0) & 0xfffff;
    };
    const host = ipv6Host({ flowLabelKey: 1 });
    const first = label(host, udpOut(10), UDP);
    expect(first).toBeGreaterThan(0);
    expect(label(host, udpOut(500), UDP)).toBe(first); // same ports, same flow
    const otherPorts = udpOut(10);
    otherPorts[41] = 0x99;
    expect(label(host, otherPorts, UDP)).not.toBe(first);
    expect(label(host, udpOut(10), 58)).toBe(0);
    expect(label(ipv6Host({ flowLabelKey: 2 }), udpOut(10), UDP)).not.toBe(first);
    const explicit = udpOut(10);
    host.ipv6.output(explicit, { source: HOST6, destination: PEER6, protocol: UDP, flowLabel: 7 });
    expect(new DataView(host.sent[host.sent.length - 1]!.buffer).getUint32(0) & 0xfffff).toBe(7);
  });

  test("fragments to the path MTU and the peer reassembles the exact datagram", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1280, max: 9000 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        (size, mtu, seed) => {
          const sender = ipv6Host({ address6: HOST6, mtu, seed });
          const receiver = ipv6Host({ address6: PEER6, mtu });
          const packet = udpOut(size);
          const original = packet.slice(40);
          sender.ipv6.output(packet, { source: HOST6, destination: PEER6, protocol: UDP });
          for (const fragment of sender.sent) {
            expect(fragment.length).toBeLessThanOrEqual(mtu);
            receiver.receive(fragment, 0);
          }
          expect(sender.sent.length).toBe(
            packet.length <= mtu ? 1 : Math.ceil((size + 8) / Math.floor((mtu - 48) / 8) / 8),
          );
          expect(receiver.udp.inputs.length).toBe(1);
          expect(receiver.udp.inputs[0]!.payload).toEqual(original);
          const d = receiver.udp.inputs[0]!;
          expect(internetChecksum(d.payload, d.addressSum + UDP + d.payload.length)).toBe(0);
          expect(receiver.ipv6.reassembly.bytesInUse).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a Packet Too Big lowers the path MTU for that destination only, never below 1280 nor up", () => {
    const host = ipv6Host({ mtu: 1500 });
    expect(host.ipv6.pathMtu(PEER6)).toBe(1500);
    expect(host.ipv6.lowerPathMtu(PEER6, 1400, 0)).toBe(1400);
    expect(host.ipv6.lowerPathMtu(PEER6, 1450, 0)).toBe(1400); // RFC 8201 §4: never raised by a PTB
    expect(host.ipv6.lowerPathMtu(PEER6, 500, 0)).toBe(1280); // never under the minimum
    expect(host.ipv6.pathMtu(a6("fd00::3"))).toBe(1500);
    // RFC 8201 §5.3: aged back to the link MTU after 10 minutes.
    expect(host.ipv6.pathMtu(PEER6, 599_999)).toBe(1280);
    expect(host.ipv6.pathMtu(PEER6, 600_000)).toBe(1500);
  });

  test("a packet over the path MTU with dontFragment is dropped and counted, never fragmented", () => {
    const host = ipv6Host({ mtu: 1500 });
    host.ipv6.lowerPathMtu(PEER6, 1280, 0);
    host.ipv6.output(udpOut(1300), {
      source: HOST6,
      destination: PEER6,
      protocol: TCP,
      dontFragment: true,
    });
    expect(host.sent).toEqual([]);
    expect(host.stats.get("ipv6OutFragFails")).toBe(1);
    host.ipv6.output(udpOut(1300), { source: HOST6, destination: PEER6, protocol: UDP });
    expect(host.sent.length).toBe(2);
    expect(host.sent.every((f) => f.length <= 1280)).toBe(true);
  });

  test("the path MTU cache stays bounded", () => {
    const host = ipv6Host({ limits: { pathMtu: { maxEntries: 16 } } });
    for (let i = 0; i < 100; i++)
      host.ipv6.lowerPathMtu(a6(`fd00::${(i + 10).toString(16)}`), 1300, i);
    expect(host.ipv6.pathMtus.size).toBe(16);
    expect(host.ipv6.pathMtu(a6("fd00::6d"), 100)).toBe(1300); // the newest are kept
  });
});
