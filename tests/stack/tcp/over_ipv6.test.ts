/**
 * TCP over IPv6: the same TCP, with the network layer of its peer's family. What
 * differs, and only that: the MSS (RFC 9293 §3.7.1: the MTU less 40 + 20), its
 * lowering on Packet Too Big (RFC 8201 §4: never below 1280), the ISN's hash over the
 * whole 128-bit addresses (RFC 6528 §3), one flow label per connection (RFC 6437).
 */
import { describe, expect, test } from "bun:test";
import { parseIpv6 } from "../../../stack/ipv6/address.ts";
import { IsnGenerator } from "../../../stack/tcp/isn.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import { ADDRESS_A, ADDRESS_B, ADDRESS6_A, ADDRESS6_B, twoHosts } from "../../helpers/two_hosts.ts";

function connect(family: "inet" | "inet6") {
  const hosts = twoHosts({ seed: 3 });
  const [a, b] = family === "inet" ? [ADDRESS_A, ADDRESS_B] : [ADDRESS6_A, ADDRESS6_B];
  const listener = hosts.b.stack.tcp.listen(b, 80, 8);
  const client = hosts.a.stack.tcp.connect(
    { address: a, port: 40000 },
    { address: b, port: 80 },
    defaultTcpConnectionOptions(),
    hosts.clock.now(),
  ) as Tcb;
  hosts.a.service();
  for (let i = 0; i < 100 && client.state !== "ESTABLISHED"; i++) hosts.clock.advance(5);
  const server = listener.accept() as Tcb;
  return { hosts, client, server };
}

describe("TCP over IPv6", () => {
  test("the MSS is the MTU less 60 (1440), 20 less than over IPv4", () => {
    const v6 = connect("inet6");
    expect(v6.client.state).toBe("ESTABLISHED");
    expect(v6.client.sndMss).toBe(1440);
    expect(v6.server.sndMss).toBe(1440);
    expect(v6.client.net.family).toBe("inet6");
    const v4 = connect("inet");
    expect(v4.client.sndMss).toBe(1460);
  });

  test("Packet Too Big lowers the MSS to the new path MTU less 60, never below 1280 − 60", () => {
    const { client } = connect("inet6");
    const report = (mtu: number) => ({
      source: client.localAddress as never,
      destination: client.remoteAddress as never,
      protocol: 6,
      sourcePort: client.localPort,
      destinationPort: client.remotePort,
      quoted: quotedSegment(client.sndUna),
      error: "EMSGSIZE" as const,
      nextHopMtu: mtu,
      icmpType: 2,
      icmpCode: 0,
    });
    client.layer.icmpError(report(1400), 0);
    expect(client.sndMss).toBe(1340);
    client.layer.icmpError(report(1500), 0); // never raised by a report
    expect(client.sndMss).toBe(1340);
    client.layer.icmpError(report(600), 0);
    expect(client.sndMss).toBe(1220);
  });

  test("ISNs hash all 128 bits: tuples differing only in an address's first or last bits differ", () => {
    const isn = new IsnGenerator(new Uint8Array(8).fill(7));
    const a = parseIpv6("fd00::1")!;
    const b = parseIpv6("fd00::2")!;
    const high = parseIpv6("fd01::2")!;
    const low = parseIpv6("fd00::3")!;
    const base = isn.isn(a, 1000, b, 80, 0);
    expect(isn.isn(a, 1000, high, 80, 0)).not.toBe(base);
    expect(isn.isn(a, 1000, low, 80, 0)).not.toBe(base);
    // IPv4 tuples hash as before: four words.
    expect(isn.isn(1, 1000, 2, 80, 0)).toBe(isn.isn(1, 1000, 2, 80, 0));
  });

  test("one flow label per connection, not zero, the same on every segment (RFC 6437 §3)", () => {
    const { client, hosts } = connect("inet6");
    expect(client.flowLabel).toBeGreaterThan(0);
    expect(client.flowLabel).toBeLessThan(1 << 20);
    const labels = new Set<number>();
    const original = hosts.a.stack.transmit;
    hosts.a.stack.transmit = (packet, offload) => {
      labels.add(((packet[1]! & 0x0f) << 16) | (packet[2]! << 8) | packet[3]!);
      original(packet, offload);
    };
    client.send(new Uint8Array(5000), hosts.clock.now());
    hosts.a.service();
    expect([...labels]).toEqual([client.flowLabel!]);
  });
});

/** The first 8 octets of a TCP header whose sequence number is `seq`, as ICMPv6 quotes it. */
function quotedSegment(seq: number): Uint8Array {
  const quoted = new Uint8Array(8);
  new DataView(quoted.buffer).setUint32(4, seq);
  return quoted;
}
