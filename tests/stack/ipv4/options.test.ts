/**
 * Record Route and Timestamp in replies (stack/ipv4/options.ts, RFC 791 §3.1, RFC 1122
 * §3.2.2.6): the option rules one by one, a property over arbitrary option lists, and
 * an echo request carrying them through a whole host.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { checkOptions } from "../../../stack/ipv4/header.ts";
import { replyOptions, stamp } from "../../../stack/ipv4/options.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import { HOST, icmpMessage, ipv4Fields, ipv4Packet, PEER } from "../../helpers/packets.ts";

const US = HOST;
const word = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** A Record Route option with room for `slots` addresses, the first `filled` used. */
function recordRoute(slots: number, filled = 0): Uint8Array {
  const option = new Uint8Array(3 + 4 * slots);
  option[0] = 7;
  option[1] = option.length;
  option[2] = 4 + 4 * filled;
  return option;
}

/** A Timestamp option with `slots` entries of its flag's size. */
function timestampOption(flag: 0 | 1 | 3, slots: number, overflow = 0): Uint8Array {
  const entry = flag === 0 ? 4 : 8;
  const option = new Uint8Array(4 + entry * slots);
  option[0] = 68;
  option[1] = option.length;
  option[2] = 5;
  option[3] = (overflow << 4) | flag;
  return option;
}

describe("Record Route (RFC 791)", () => {
  test("the host's address goes in the next slot and the pointer moves 4", () => {
    const option = recordRoute(3, 1);
    stamp(option, US, 0);
    expect(word(option, 7)).toBe(US);
    expect(option[2]).toBe(12);
  });

  test("a full route is left as it is", () => {
    const option = recordRoute(2, 2);
    const before = option.slice();
    stamp(option, US, 0);
    expect(option).toEqual(before);
  });
});

describe("Timestamp (RFC 791)", () => {
  test("flag 0: timestamps only", () => {
    const option = timestampOption(0, 2);
    stamp(option, US, 12345);
    expect([word(option, 4), option[2]]).toEqual([12345, 9]);
  });

  test("flag 1: address and timestamp", () => {
    const option = timestampOption(1, 2);
    stamp(option, US, 777);
    expect([word(option, 4), word(option, 8), option[2]]).toEqual([US, 777, 13]);
  });

  test("flag 3: only the prespecified host stamps, in its own slot", () => {
    const option = timestampOption(3, 2);
    new DataView(option.buffer).setUint32(4, PEER);
    new DataView(option.buffer).setUint32(12, US);
    stamp(option, US, 99); // the next named host is PEER: nothing happens
    expect(option[2]).toBe(5);
    option[2] = 13; // now it is us
    stamp(option, US, 99);
    expect([word(option, 16), option[2]]).toEqual([99, 21]);
  });

  test("a full option counts the overflow, up to 15", () => {
    const option = timestampOption(0, 0);
    for (let i = 0; i < 20; i++) stamp(option, US, 1);
    expect(option[3]! >>> 4).toBe(15);
    expect(option[3]! & 0x0f).toBe(0);
  });
});

describe("reply options", () => {
  test("Record Route and Timestamp are kept, stamped on arrival and on departure; others are dropped", () => {
    const request = new Uint8Array([
      1, // NOP
      ...[0x83, 7, 4, 10, 0, 0, 1], // loose source route (not returned)
      ...recordRoute(4, 1),
      0, // End of Option List
    ]);
    new DataView(request.buffer).setUint32(11, PEER); // the sender's own entry
    const reply = replyOptions(request, US, 5)!;
    expect(reply.length % 4).toBe(0);
    expect(reply[0]).toBe(7);
    expect([word(reply, 3), word(reply, 7), word(reply, 11), reply[2]]).toEqual([PEER, US, US, 16]);
    expect(replyOptions(Uint8Array.of(1, 1, 0, 0), US, 5)).toBeUndefined();
  });

  test("property: any well-formed option list gives a well-formed reply list of at most 40 octets", () => {
    const option = fc.oneof(
      fc.constant(Uint8Array.of(1)),
      fc
        .tuple(fc.nat(8), fc.nat(40))
        .map(([slots, filled]) => recordRoute(slots, Math.min(slots + 1, filled))),
      fc
        .tuple(
          fc.constantFrom(0 as const, 1 as const, 3 as const, 2 as const),
          fc.nat(4),
          fc.nat(15),
        )
        .map(([flag, slots, overflow]) => timestampOption(flag as 0 | 1 | 3, slots, overflow)),
      fc
        .uint8Array({ minLength: 0, maxLength: 10 })
        .map((data) => Uint8Array.of(0x94, data.length + 2, ...data)),
    );
    fc.assert(
      fc.property(fc.array(option, { maxLength: 6 }), fc.nat(86_399_999), (options, now) => {
        const bytes = new Uint8Array(options.reduce((n, o) => n + o.length, 0));
        let at = 0;
        for (const o of options) {
          bytes.set(o, at);
          at += o.length;
        }
        const list = bytes.subarray(0, Math.min(40, Math.floor(bytes.length / 4) * 4));
        if (checkOptions(list) !== undefined) return; // the IPv4 parse would have dropped it
        const reply = replyOptions(list, US, now);
        if (reply === undefined) return;
        expect(reply.length).toBeLessThanOrEqual(40);
        expect(reply.length % 4).toBe(0);
        expect(checkOptions(reply)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe("an echo request with Record Route (ping -R)", () => {
  test("the reply carries the route with this host added twice, and the data intact", () => {
    const host = ipHost();
    const option = recordRoute(9, 1);
    new DataView(option.buffer).setUint32(3, PEER);
    const data = Uint8Array.from({ length: 56 }, (_, i) => i);
    const echo = icmpMessage({ type: 8, restOfHeader: 0x00010002, data });
    host.receive(ipv4Packet({ protocol: 1, options: option, payload: echo }), 0);
    expect(host.sent.length).toBe(1);
    const reply = ipv4Fields(host.sent[0]!);
    expect(reply.headerLength).toBe(60);
    expect(reply.headerChecksumOk).toBe(true);
    const options = host.sent[0]!.subarray(20, 60);
    expect([word(options, 3), word(options, 7), word(options, 11)]).toEqual([PEER, US, US]);
    expect(reply.payload[0]).toBe(0); // echo reply
    expect(reply.payload.subarray(8)).toEqual(data);
  });

  test("a reply too big for the link is fragmented and leaves without the options", () => {
    const host = ipHost({ mtu: 1500 });
    const echo = icmpMessage({ type: 8, data: new Uint8Array(3000) });
    host.receive(ipv4Packet({ protocol: 1, options: recordRoute(9), payload: echo }), 0);
    const fragments = host.sent.map(ipv4Fields);
    expect(fragments.length).toBeGreaterThan(1);
    for (const f of fragments) expect(f.headerLength).toBe(20);
    expect(fragments.reduce((n, f) => n + f.payload.length, 0)).toBe(8 + 3000);
  });
});
