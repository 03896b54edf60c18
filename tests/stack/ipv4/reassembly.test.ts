import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { internetChecksum } from "../../../stack/checksum.ts";
import { IpProtocol } from "../../../stack/ipv4/datagram.ts";
import { isParseFailure, parseIpv4Header } from "../../../stack/ipv4/header.ts";
import { type Fragment, Reassembly } from "../../../stack/ipv4/reassembly.ts";
import { Stats } from "../../../stack/stats.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import { fragmentOf, ipv4Fields, ipv4Packet, PEER } from "../../helpers/packets.ts";

/** A Fragment (as IPv4 input builds it) from fragment bytes. */
function fragment(bytes: Uint8Array): Fragment {
  const h = parseIpv4Header(bytes);
  if (isParseFailure(h)) throw new Error(h.detail);
  return {
    source: h.source,
    destination: h.destination,
    protocol: h.protocol,
    identification: h.identification,
    fragmentOffset: h.fragmentOffset,
    moreFragments: h.moreFragments,
    broadcast: false,
    header: bytes.subarray(0, h.headerLength),
    payload: bytes.subarray(h.headerLength, h.totalLength),
  };
}

/**
 * An arbitrary fragmentation of `length` data octets: cut points at multiples of 8, and
 * optional overlapping duplicates (re-sent ranges that start and end on a cut).
 */
const fragmentation = fc.integer({ min: 1, max: 4000 }).chain((length) =>
  fc.record({
    data: fc.uint8Array({ minLength: length, maxLength: length }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, Math.ceil(length / 8) - 1) }), {
      maxLength: 20,
    }),
    extra: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }),
    seed: fc.integer(),
  }),
);

function ranges(length: number, cuts: number[], extra: [number, number][]): [number, number][] {
  const points = [0, ...cuts.map((c) => c * 8).filter((p) => p < length), length].sort(
    (a, b) => a - b,
  );
  const unique = [...new Set(points)];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < unique.length; i++) out.push([unique[i]!, unique[i + 1]!]);
  // Overlapping re-sends spanning several pieces.
  const base = out.length;
  for (const [a, b] of extra) {
    const i = a % base;
    const j = i + (b % (base - i));
    out.push([out[i]![0], out[j]![1]]);
  }
  return out;
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("Reassembly", () => {
  test("any fragmentation, in any order, with duplicates and overlaps, yields the datagram", () => {
    fc.assert(
      fc.property(fragmentation, ({ data, cuts, extra, seed }) => {
        const whole = ipv4Packet({ payload: data, protocol: IpProtocol.UDP, identification: 77 });
        const header = whole.subarray(0, 20);
        const pieces = shuffle(ranges(data.length, cuts, extra), seed);
        const reassembly = new Reassembly(new Stats());
        let result: Uint8Array | undefined;
        for (const [start, end] of pieces) {
          const bytes = fragmentOf(header, data.subarray(start, end), start, end < data.length);
          const r = reassembly.add(fragment(bytes), 0);
          expect(r.kind).not.toBe("failed");
          if (r.kind === "complete") {
            result = r.packet;
            break; // Later pieces can only be duplicates (they would start a new partial).
          }
        }
        expect(result).toBeDefined();
        expect(ipv4Fields(result!).payload).toEqual(data);
        expect(ipv4Fields(result!).headerChecksumOk).toBe(true);
        expect(ipv4Fields(result!).moreFragments).toBe(false);
        expect(reassembly.bytesInUse).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  test("an overlap carrying different bytes discards the whole datagram", () => {
    const stats = new Stats();
    const reassembly = new Reassembly(stats);
    const header = ipv4Packet({ payload: new Uint8Array(0) }).subarray(0, 20);
    const a = new Uint8Array(16).fill(1);
    const b = new Uint8Array(16).fill(1);
    b[10] = 2;
    expect(reassembly.add(fragment(fragmentOf(header, a, 0, true)), 0).kind).toBe("incomplete");
    expect(reassembly.add(fragment(fragmentOf(header, b, 0, true)), 0)).toEqual({
      kind: "failed",
      detail: "overlapping fragments differ",
    });
    expect(reassembly.datagramsInProgress).toBe(0);
    expect(reassembly.bytesInUse).toBe(0);
  });

  test("conflicting last fragments fail; data beyond the end fails", () => {
    const reassembly = new Reassembly(new Stats());
    const header = ipv4Packet({}).subarray(0, 20);
    reassembly.add(fragment(fragmentOf(header, new Uint8Array(8), 16, false)), 0);
    expect(
      reassembly.add(fragment(fragmentOf(header, new Uint8Array(8), 32, false)), 0),
    ).toMatchObject({
      kind: "failed",
    });
    reassembly.add(fragment(fragmentOf(header, new Uint8Array(8), 16, false)), 0);
    expect(
      reassembly.add(fragment(fragmentOf(header, new Uint8Array(16), 16, true)), 0),
    ).toMatchObject({
      kind: "failed",
      detail: "data beyond the last fragment",
    });
  });

  test("a datagram that would exceed 65535 octets is rejected", () => {
    const reassembly = new Reassembly(new Stats());
    const header = ipv4Packet({}).subarray(0, 20);
    // Ends at 65520 + 8 + 20 = 65548 > 65535: IPv4 input already drops such a fragment,
    // reassembly refuses it too once the first fragment's header length is known.
    reassembly.add(fragment(fragmentOf(header, new Uint8Array(8), 0, true)), 0);
    const late = fragment(fragmentOf(header, new Uint8Array(8), 8, true));
    expect(reassembly.add({ ...late, fragmentOffset: 65520 }, 0)).toMatchObject({
      detail: "reassembled datagram over 65535",
    });
  });

  test("times out after 30 s: nextDeadline, ipReasmFails, and the first fragment reported", () => {
    const stats = new Stats();
    const reassembly = new Reassembly(stats);
    const header = ipv4Packet({}).subarray(0, 20);
    expect(reassembly.nextDeadline()).toBe(Infinity);
    reassembly.add(
      fragment(
        fragmentOf(
          header,
          Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
          0,
          true,
        ),
      ),
      1000,
    );
    expect(reassembly.nextDeadline()).toBe(31_000);
    const expired: Uint8Array[] = [];
    reassembly.expire(30_999, (e) => expired.push(e.firstData));
    expect(expired).toEqual([]);
    reassembly.expire(31_000, (e) => expired.push(e.firstData));
    expect(expired).toEqual([Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)]);
    expect(stats.get("ipReasmFails")).toBe(1);
    expect(reassembly.nextDeadline()).toBe(Infinity);
  });

  test("a flood of partial datagrams stays under the memory and count bounds", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(0xffff),
            fc.integer({ min: 0, max: 8000 }),
            fc.integer({ min: 1, max: 1400 }),
          ),
          {
            minLength: 1,
            maxLength: 600,
          },
        ),
        (flood) => {
          const limits = { maxBytes: 256 * 1024, maxDatagrams: 64 };
          const reassembly = new Reassembly(new Stats(), limits);
          for (const [id, offsetUnits, length] of flood) {
            const header = ipv4Packet({ identification: id, source: PEER }).subarray(0, 20);
            const data = new Uint8Array(Math.ceil(length / 8) * 8).fill(id & 0xff);
            reassembly.add(fragment(fragmentOf(header, data, offsetUnits * 8, true)), 0);
            expect(reassembly.bytesInUse).toBeLessThanOrEqual(limits.maxBytes);
            expect(reassembly.datagramsInProgress).toBeLessThanOrEqual(limits.maxDatagrams);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("IPv4 input with fragments", () => {
  test("reassembles fragments sent by IPv4 output, and delivers once", () => {
    const sender = ipHost({ mtu: 576, address: PEER });
    const receiver = ipHost({ mtu: 576 });
    const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    const packet = new Uint8Array(20 + data.length);
    packet.set(data, 20);
    sender.ipv4.output(packet, {
      source: PEER,
      destination: receiver.address,
      protocol: IpProtocol.TCP,
    });
    expect(sender.sent.length).toBe(Math.ceil(3000 / 552));
    expect(sender.stats.get("ipFragCreates")).toBe(sender.sent.length);
    for (const f of sender.sent.slice().reverse()) receiver.receive(f, 0);
    expect(receiver.tcp.inputs.length).toBe(1);
    expect(receiver.tcp.inputs[0]!.payload).toEqual(data);
    expect(receiver.stats.get("ipReasmOKs")).toBe(1);
    expect(receiver.stats.get("ipReasmReqds")).toBe(sender.sent.length);
  });

  test("a flood of 2,000 never-finished datagrams through input stays within the 1 MiB default", () => {
    const host = ipHost();
    const header = ipv4Packet({ protocol: IpProtocol.UDP }).subarray(0, 20);
    for (let id = 0; id < 2000; id++) {
      const first = fragmentOf(header, new Uint8Array(1480).fill(id & 0xff), 0, true);
      first[4] = id >>> 8;
      first[5] = id & 0xff;
      first[10] = 0;
      first[11] = 0;
      const checksum = internetChecksum(first.subarray(0, 20));
      first[10] = checksum >>> 8;
      first[11] = checksum & 0xff;
      host.receive(first, id);
      expect(host.ipv4.reassembly.bytesInUse).toBeLessThanOrEqual(1024 * 1024);
    }
    expect(host.stats.get("ipReasmReqds")).toBe(2000);
    // Evicted ones count as failures; the survivors are the newest.
    expect(host.stats.get("ipReasmFails")).toBe(2000 - host.ipv4.reassembly.datagramsInProgress);
    expect(host.ipv4.nextDeadline()).toBeGreaterThan(30_000);
  });

  test("a timed-out datagram draws ICMP Time Exceeded code 1 from poll()", () => {
    const host = ipHost();
    const header = ipv4Packet({ protocol: IpProtocol.UDP }).subarray(0, 20);
    host.receive(fragmentOf(header, new Uint8Array(64).fill(9), 0, true), 0);
    expect(host.ipv4.nextDeadline()).toBe(30_000);
    host.ipv4.poll(29_999);
    expect(host.sent.length).toBe(0);
    host.ipv4.poll(30_000);
    expect(host.sent.length).toBe(1);
    const icmp = ipv4Fields(host.sent[0]!).payload;
    expect([icmp[0], icmp[1]]).toEqual([11, 1]);
    expect(icmp.length).toBe(8 + 20 + 8);
  });
});
