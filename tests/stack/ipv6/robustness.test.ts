/**
 * Hostile input to the IPv6 and ICMPv6 receive path: random and mutated packets, chains
 * and fragments. Whatever arrives, nothing is thrown, every packet is accounted for
 * (delivered or counted under a named reason), what leaves is well formed, and memory
 * stays within its budget.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { IPV6_COUNTERS } from "../../../stack/ipv6/counters.ts";
import { NextHeader } from "../../../stack/ipv6/datagram.ts";
import { ipv6Host } from "./fixtures/ipv6_host.ts";
import {
  a6,
  concat,
  extensionHeader,
  fragmentHeader,
  HOST6,
  icmpv6ChecksumOk,
  icmpv6Message,
  ipv6Packet,
  options,
  routingHeader,
  udp6,
} from "./fixtures/packets6.ts";

const { FRAGMENT, DESTINATION_OPTIONS, HOP_BY_HOP, ROUTING, UDP, ICMPV6 } = NextHeader;

/** Plausible packets: a valid chain of random headers to UDP or ICMPv6, maybe fragmented. */
const plausible = fc
  .record({
    headers: fc.array(fc.constantFrom(HOP_BY_HOP, DESTINATION_OPTIONS, ROUTING, FRAGMENT, 50), {
      maxLength: 5,
    }),
    upper: fc.constantFrom(UDP, ICMPV6, 253),
    optionType: fc.integer({ min: 0, max: 255 }),
    segmentsLeft: fc.integer({ min: 0, max: 2 }),
    offset: fc.integer({ min: 0, max: 300 }),
    more: fc.boolean(),
    id: fc.integer({ min: 0, max: 3 }),
    data: fc.uint8Array({ maxLength: 200 }),
    destination: fc.constantFrom(HOST6, a6("ff02::1"), a6("ff02::1:ff00:2")),
  })
  .map((r) => {
    const parts: Uint8Array[] = [];
    r.headers.forEach((kind, i) => {
      const next = r.headers[i + 1] ?? r.upper;
      if (kind === HOP_BY_HOP || kind === DESTINATION_OPTIONS) {
        parts.push(extensionHeader(next, options([r.optionType, new Uint8Array(2)])));
      } else if (kind === ROUTING) {
        parts.push(routingHeader(next, 0, r.segmentsLeft));
      } else if (kind === FRAGMENT) {
        parts.push(
          fragmentHeader({
            nextHeader: next,
            offset: r.offset * 8,
            more: r.more,
            identification: r.id,
          }),
        );
      } else {
        parts.push(new Uint8Array([next, 0, 0, 0, 0, 0, 0, 0]));
      }
    });
    const upper =
      r.upper === UDP
        ? udp6({ destination: r.destination, sourcePort: 1, destinationPort: 2, data: r.data })
        : r.upper === ICMPV6
          ? icmpv6Message({ type: r.data[0] ?? 128, destination: r.destination, body: r.data })
          : r.data;
    return ipv6Packet({
      destination: r.destination,
      nextHeader: r.headers[0] ?? r.upper,
      payload: concat(...parts, upper),
    });
  });

/** Plausible packets with a few bytes overwritten, cut short, or extended. */
const mutated = fc
  .tuple(
    plausible,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat(),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([packet, writes, cut, shorten]) => {
    const out = packet.slice();
    for (const [at, value] of writes) out[at % out.length] = value;
    return shorten === 0 ? out.subarray(0, cut % (out.length + 1)) : out;
  });

const anyPacket = fc.oneof(
  plausible,
  mutated,
  fc.uint8Array({ maxLength: 400 }).map((b) => concat(new Uint8Array([0x60]), b)),
);

describe("IPv6 under hostile input", () => {
  test("nothing throws, every packet is delivered or counted, replies are well formed, memory bounded", () => {
    fc.assert(
      fc.property(fc.array(anyPacket, { minLength: 1, maxLength: 40 }), (packets) => {
        const limits = { reassembly: { maxBytes: 16_384, maxPackets: 4 } };
        const host = ipv6Host({ limits, icmpRateLimit: { ratePerSecond: 1000, burst: 1000 } });
        packets.forEach((packet, i) => {
          const before = accounted(host);
          host.receive(packet, i * 1000);
          // Every packet moves at least one counter besides ipv6InReceives.
          expect(accounted(host)).toBeGreaterThan(before);
          expect(host.ipv6.reassembly.bytesInUse).toBeLessThanOrEqual(limits.reassembly.maxBytes);
          expect(host.ipv6.reassembly.packetsInProgress).toBeLessThanOrEqual(4);
        });
        host.ipv6.poll(10_000_000);
        expect(host.ipv6.reassembly.bytesInUse).toBe(0);
        for (const sent of host.sent) {
          expect(sent.length).toBeLessThanOrEqual(1500);
          expect(sent[0]! >>> 4).toBe(6);
          expect((sent[4]! << 8) | sent[5]!).toBe(sent.length - 40);
          if (sent[6] === ICMPV6) {
            expect(icmpv6ChecksumOk(sent)).toBe(true);
            // An error we send fits the minimum MTU (RFC 4443 §2.4 (c)).
            if (sent[40]! < 128) expect(sent.length).toBeLessThanOrEqual(1280);
          }
        }
        for (const name of Object.keys(host.stats.snapshot()))
          expect(IPV6_COUNTERS).toHaveProperty(name);
      }),
      { numRuns: 1500 },
    );
  });

  test("every counter name the code uses is listed in counters.ts", () => {
    const used = new Set<string>();
    for (const dir of ["stack/ipv6", "stack/icmpv6"]) {
      for (const file of readdirSync(dir)) {
        if (file === "counters.ts") continue;
        const text = readFileSync(`${dir}/${file}`, "utf8");
        for (const m of text.matchAll(/"((?:ipv6|icmpv6)[A-Z][A-Za-z0-9]+)"/g)) used.add(m[1]!);
      }
    }
    expect(used.size).toBeGreaterThan(30);
    for (const name of used) expect(IPV6_COUNTERS).toHaveProperty(name);
  });
});

function accounted(host: ReturnType<typeof ipv6Host>): number {
  const snapshot = host.stats.snapshot();
  let total = 0;
  for (const [name, value] of Object.entries(snapshot))
    if (name !== "ipv6InReceives") total += value;
  return total + host.udp.inputs.length + host.tcp.inputs.length;
}
