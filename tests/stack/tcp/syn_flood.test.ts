/**
 * A SYN flood on the simulated link (RFC 4987): thousands of SYNs from spoofed
 * addresses and ports. The listener's half-open table stays bounded, SYN cookies answer
 * the overflow, and a genuine client still connects and exchanges data.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { IpProtocol } from "../../../stack/ipv4/datagram.ts";
import { Random } from "../../../stack/random.ts";
import {
  cookieOptionsFrom,
  cookieTimestamp,
  cookieTimestampValid,
} from "../../../stack/tcp/syn_cookies.ts";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import { ipv4Packet } from "../../helpers/packets.ts";
import { tcpBytes } from "../../helpers/tcp_wire.ts";
import { ADDRESS_A, ADDRESS_B, twoHosts } from "../../helpers/two_hosts.ts";

const SYN_BACKLOG = 64;

function spoofedSyn(random: Random): Uint8Array {
  const source = (0x0a000000 | random.nextInt(10, 250)) >>> 0; // 10.0.0.x: nobody answers
  const tcp = tcpBytes(source, ADDRESS_B, {
    flags: "S",
    seq: random.nextUint32(),
    sourcePort: random.nextInt(1024, 65535),
    destinationPort: 80,
    options: { mss: 1460 },
  });
  return ipv4Packet({ source, destination: ADDRESS_B, protocol: IpProtocol.TCP, payload: tcp });
}

describe("SYN flood", () => {
  test("a genuine connection completes while 5000 spoofed SYNs arrive; memory stays bounded", () => {
    const { clock, a, b } = twoHosts({
      seed: 5,
      faults: { delayMs: 1 },
      tcpB: { synBacklog: SYN_BACKLOG },
    });
    const listener = b.stack.tcp.listen(0, 80, 16);
    const random = new Random(99);
    let maxConnections = 0;
    const flood = (count: number) => {
      for (let i = 0; i < count; i++) a.device.send(spoofedSyn(random));
      clock.advance(1);
      maxConnections = Math.max(maxConnections, b.stack.tcp.connectionCount);
    };
    flood(2500);
    const client = a.stack.tcp.connect(
      { address: ADDRESS_A, port: 40000 },
      { address: ADDRESS_B, port: 80 },
      defaultTcpConnectionOptions(),
      clock.now(),
    );
    a.service();
    flood(2500);
    for (let i = 0; i < 50 && client.state !== "ESTABLISHED"; i++) flood(100);
    expect(client.state).toBe("ESTABLISHED");
    clock.advance(5); // the final ACK crosses the link
    const server = listener.accept();
    expect(server).toBeDefined();
    client.send(new TextEncoder().encode("still here"), clock.now());
    a.service();
    clock.advance(50);
    const into = new Uint8Array(64);
    const n = server!.receive(into, clock.now());
    expect(new TextDecoder().decode(into.subarray(0, n))).toBe("still here");
    // Bounded: the half-open table never exceeded synBacklog (plus the real connection).
    expect(maxConnections).toBeLessThanOrEqual(SYN_BACKLOG + 1);
    expect(b.stack.stats.get("tcpSynCookiesSent")).toBeGreaterThan(4000);
    expect(b.stack.stats.get("tcpSynCookiesRecv")).toBe(1);
    // The half-open entries give up after their SYN,ACK retries.
    clock.advance(200_000);
    expect(b.stack.tcp.connectionCount).toBe(1);
  });

  test("a forged cookie ACK makes no connection (and, while cookies are in use, no reset)", () => {
    const { clock, a, b } = twoHosts({ seed: 6, tcpB: { synBacklog: 1 } });
    b.stack.tcp.listen(0, 80, 16);
    const random = new Random(3);
    for (let i = 0; i < 10; i++) a.device.send(spoofedSyn(random));
    clock.advance(1);
    const forged = tcpBytes(0x0a000033, ADDRESS_B, {
      flags: "A",
      seq: 1234,
      ack: 0xdeadbeef,
      sourcePort: 3333,
      destinationPort: 80,
    });
    a.device.send(
      ipv4Packet({
        source: 0x0a000033,
        destination: ADDRESS_B,
        protocol: IpProtocol.TCP,
        payload: forged,
      }),
    );
    clock.advance(1);
    expect(b.stack.tcp.connectionCount).toBe(1);
    expect(b.stack.stats.get("tcpSynCookiesFailed")).toBe(1);
    expect(b.stack.stats.get("tcpOutRsts")).toBe(0);
  });

  test("a cookie connection survives losing the handshake's ACK and a later segment overtaking", () => {
    const { clock, a, b } = twoHosts({ seed: 7, faults: { delayMs: 2 }, tcpB: { synBacklog: 0 } });
    const listener = b.stack.tcp.listen(0, 80, 16);
    // Drop A's first two segments after the SYN (the ACK and the first data segment).
    const original = a.stack.transmit;
    let sent = 0;
    a.stack.transmit = (packet) => {
      sent++;
      if (sent === 2 || sent === 3) return;
      original(packet);
    };
    const client = a.stack.tcp.connect(
      { address: ADDRESS_A, port: 40001 },
      { address: ADDRESS_B, port: 80 },
      { ...defaultTcpConnectionOptions(), noDelay: true },
      clock.now(),
    );
    a.service();
    client.send(new TextEncoder().encode("first"), clock.now());
    a.service();
    clock.advance(3); // the SYN,ACK arrives; the ACK and "first" are lost
    client.send(new TextEncoder().encode("second"), clock.now());
    a.service();
    clock.advance(5_000); // "second" is dropped silently; "first" is resent and validates
    const server = listener.accept();
    expect(server).toBeDefined();
    const into = new Uint8Array(64);
    const n = server!.receive(into, clock.now());
    expect(new TextDecoder().decode(into.subarray(0, n))).toBe("firstsecond");
    expect(b.stack.stats.get("tcpSynCookiesRecv")).toBe(1);
  });
  test("a cookie's TSval carries the peer's window shift and SACK-permitted, and never runs ahead of the clock", () => {
    const options = fc.record({
      windowScale: fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
      sackPermitted: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), options, (clock, o) => {
        const ts = cookieTimestamp(clock, o);
        expect(cookieOptionsFrom(ts)).toEqual(o);
        const behind = (clock - ts) >>> 0; // modulo 2^32, as TSvals compare (RFC 7323 §5.2)
        expect(behind).toBeLessThan(32);
        // Echoed back within the cookie's life it is valid; from our future, or from
        // longer ago than two 64 s periods, it is not.
        expect(cookieTimestampValid(ts, clock + 100_000)).toBe(true);
        expect(cookieTimestampValid(ts, clock - 1000)).toBe(false);
        expect(cookieTimestampValid(ts, clock + 200_000)).toBe(false);
      }),
    );
  });

  test("a cookie connection keeps window scaling, SACK and timestamps, and fills a window over 64 KiB", () => {
    const { clock, a, b } = twoHosts({ seed: 11, faults: { delayMs: 5 }, tcpB: { synBacklog: 0 } });
    const listener = b.stack.tcp.listen(0, 80, 16);
    const client = a.stack.tcp.connect(
      { address: ADDRESS_A, port: 40002 },
      { address: ADDRESS_B, port: 80 },
      defaultTcpConnectionOptions(),
      clock.now(),
    );
    a.service();
    clock.advance(20);
    const server = listener.accept();
    expect(server).toBeDefined();
    expect(b.stack.stats.get("tcpSynCookiesRecv")).toBe(1);
    const agreed = (c: typeof client) => {
      const info = c.info(clock.now());
      return {
        sack: info.sack,
        timestamps: info.timestamps,
        scaled: Number(info.sndScale ?? 0) > 0,
      };
    };
    expect(agreed(server!)).toEqual({ sack: 1, timestamps: 1, scaled: true });
    expect(agreed(client)).toEqual({ sack: 1, timestamps: 1, scaled: true });
    // 2 MB from the cookie side: its send window is the client's scaled one.
    const data = new Uint8Array(2_000_000).map((_, i) => (i * 7) & 0xff);
    let sent = 0;
    let received = 0;
    let maxWindow = 0;
    const into = new Uint8Array(65536);
    const mismatch: number[] = [];
    for (let step = 0; step < 20_000 && received < data.length; step++) {
      if (sent < data.length) sent += server!.send(data.subarray(sent), clock.now());
      b.service();
      clock.advance(1);
      maxWindow = Math.max(maxWindow, server!.info(clock.now()).sndWnd);
      for (
        let n = client.receive(into, clock.now());
        n > 0;
        n = client.receive(into, clock.now())
      ) {
        for (let i = 0; i < n; i++) if (into[i] !== data[received + i]) mismatch.push(received + i);
        received += n;
      }
      a.service();
    }
    expect({ received, mismatched: mismatch.length }).toEqual({
      received: data.length,
      mismatched: 0,
    });
    expect(maxWindow).toBeGreaterThan(65535);
  });
});
