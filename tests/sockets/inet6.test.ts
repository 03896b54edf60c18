/**
 * inet6 sockets between two whole dual-stack stacks on a memory link: the same calls as
 * inet ones, addresses as RFC 5952 text, IPv4 peers of a :: socket as IPv4-mapped
 * addresses (RFC 4291 §2.5.5.2, RFC 3493 §3.7) unless IPV6_V6ONLY, one port space for
 * both families, and Linux's errno where an address does not fit the socket.
 *
 *   A 10.0.0.2 / fd00::1 ── memory link ── B 10.0.0.1 / fd00::2
 */
import { describe, expect, test } from "bun:test";
import { POLLIN, POLLOUT } from "../../sockets/api.ts";
import { patternBytes, type SocketHosts, socketHosts } from "../helpers/socket_hosts.ts";
import { a6, ipv6Packet, udp6 } from "../stack/ipv6/fixtures/packets6.ts";
import { errnoOf } from "./fake_stack.ts";

const A6 = "fd00::1";
const B6 = "fd00::2";

async function pair6(hosts: SocketHosts, port: number, server = "::", connectTo = B6) {
  const { a, b, run } = hosts;
  const listener = b.api.socket("inet6", "stream");
  b.api.bind(listener, server, port);
  b.api.listen(listener);
  const client = a.api.socket("inet6", "stream");
  await run(a.api.connect(client, connectTo, port));
  const accepted = await run(b.api.accept(listener));
  return { listener, client, accepted };
}

async function readExactly(hosts: SocketHosts, fd: number, n: number): Promise<Uint8Array> {
  const { b, run } = hosts;
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const chunk = await run(b.api.recv(fd, n - got));
    if (chunk.length === 0) break;
    out.set(chunk, got);
    got += chunk.length;
  }
  return out.subarray(0, got);
}

describe("inet6 stream sockets", () => {
  test("connect, accept, names in RFC 5952 text, 200 KB intact, MSS 1440 (1500 − 40 − 20), poll", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await pair6(hosts, 7);
    expect(a.api.getpeername(client)).toEqual({ address: B6, port: 7 });
    expect(a.api.getsockname(client).address).toBe(A6);
    expect(b.api.getpeername(accepted)).toEqual(a.api.getsockname(client));
    expect(b.api.getsockname(accepted)).toEqual({ address: B6, port: 7 });
    const info = a.api.getsockopt(client, "TCP_INFO") as { sndMss: number; state: string };
    expect(info.sndMss).toBe(1428); // and 12 octets of every segment go to the timestamp option
    const data = patternBytes(200_000);
    const sending = run(a.api.send(client, data));
    const received = await readExactly(hosts, accepted, data.length);
    await sending;
    expect(Buffer.from(received).equals(Buffer.from(data))).toBe(true);
    await run(a.api.send(client, patternBytes(10)));
    const ready = await run(b.api.poll([{ fd: accepted, events: POLLIN }], 1000));
    expect(ready[0]!.revents & POLLIN).toBe(POLLIN);
    const writable = await run(a.api.poll([{ fd: client, events: POLLOUT }], 1000));
    expect(writable[0]!.revents & POLLOUT).toBe(POLLOUT);
  });

  test("dual stack: a :: listener takes an inet client, named ::ffff:10.0.0.2; an inet6 client reaches IPv4 by ::ffff:10.0.0.1", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const listener = b.api.socket("inet6", "stream");
    b.api.bind(listener, "::", 80);
    b.api.listen(listener);
    const v4client = a.api.socket("inet", "stream");
    await run(a.api.connect(v4client, "10.0.0.1", 80));
    const accepted = await run(b.api.accept(listener));
    expect(b.api.getpeername(accepted).address).toBe("::ffff:10.0.0.2");
    expect(b.api.getsockname(accepted)).toEqual({ address: "::ffff:10.0.0.1", port: 80 });
    expect(a.api.getpeername(v4client)).toEqual({ address: "10.0.0.1", port: 80 });

    const mapped = a.api.socket("inet6", "stream");
    await run(a.api.connect(mapped, "::ffff:10.0.0.1", 80));
    const second = await run(b.api.accept(listener));
    expect(a.api.getsockname(mapped).address).toBe("::ffff:10.0.0.2");
    expect(a.api.getpeername(mapped)).toEqual({ address: "::ffff:10.0.0.1", port: 80 });
    // The connection is IPv4 underneath: the stack's table names it in IPv4.
    const tuple = [...b.stack.tcp.connections()].map((c) => c.remoteAddress);
    expect(tuple.every((address) => typeof address === "number")).toBe(true);
    b.api.close(second);
  });

  test("IPV6_V6ONLY: the listener refuses IPv4 (RST: ECONNREFUSED); IPv4 and IPv6 wildcards then share a port", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const only6 = b.api.socket("inet6", "stream");
    expect(b.api.getsockopt(only6, "IPV6_V6ONLY")).toBe(false);
    b.api.setsockopt(only6, "IPV6_V6ONLY", true);
    expect(b.api.getsockopt(only6, "IPV6_V6ONLY")).toBe(true);
    b.api.bind(only6, "::", 80);
    b.api.listen(only6);
    const v4 = b.api.socket("inet", "stream");
    b.api.bind(v4, "0.0.0.0", 80); // allowed: the :: socket holds no IPv4 port
    const refused = a.api.socket("inet", "stream");
    b.api.close(v4);
    await expect(run(a.api.connect(refused, "10.0.0.1", 80))).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
    const ok = a.api.socket("inet6", "stream");
    await run(a.api.connect(ok, B6, 80));
    expect(a.api.getpeername(ok).address).toBe(B6);
  });

  test("port space shared by both families (Linux inet6_bind_conflict)", () => {
    const { b } = socketHosts();
    const dual = b.api.socket("inet6", "stream");
    b.api.bind(dual, "::", 5000);
    const v4 = b.api.socket("inet", "stream");
    expect(errnoOf(() => b.api.bind(v4, "0.0.0.0", 5000))).toBe("EADDRINUSE");
    expect(errnoOf(() => b.api.bind(v4, "10.0.0.1", 5000))).toBe("EADDRINUSE");
    const v6 = b.api.socket("inet6", "stream");
    expect(errnoOf(() => b.api.bind(v6, B6, 5000))).toBe("EADDRINUSE");
    b.api.bind(v6, B6, 5001);
    const udp6 = b.api.socket("inet6", "dgram");
    b.api.bind(udp6, "::", 5000); // another protocol, another port space
  });

  test("errors as Linux gives them", async () => {
    const { a, b, run } = socketHosts();
    const inet = b.api.socket("inet", "stream");
    expect(errnoOf(() => b.api.bind(inet, B6, 80))).toBe("EAFNOSUPPORT");
    expect(errnoOf(() => b.api.setsockopt(inet, "IPV6_V6ONLY", true))).toBe("ENOPROTOOPT");
    const inet6 = b.api.socket("inet6", "stream");
    expect(errnoOf(() => b.api.bind(inet6, "10.0.0.1", 80))).toBe("EINVAL");
    expect(errnoOf(() => b.api.bind(inet6, "fd00::99", 80))).toBe("EADDRNOTAVAIL");
    expect(errnoOf(() => b.api.bind(inet6, "::ffff:10.0.0.9", 80))).toBe("EADDRNOTAVAIL");
    expect(errnoOf(() => b.api.bind(inet6, "fd00::zz", 80))).toBe("EINVAL");
    b.api.bind(inet6, "::", 80);
    expect(errnoOf(() => b.api.setsockopt(inet6, "IPV6_V6ONLY", true))).toBe("EINVAL");
    const multicast = a.api.socket("inet6", "stream");
    await expect(run(a.api.connect(multicast, "ff02::1", 80))).rejects.toMatchObject({
      code: "ENETUNREACH",
    });
    const only6 = a.api.socket("inet6", "stream");
    a.api.setsockopt(only6, "IPV6_V6ONLY", true);
    await expect(run(a.api.connect(only6, "::ffff:10.0.0.1", 80))).rejects.toMatchObject({
      code: "ENETUNREACH",
    });
    const bound6 = a.api.socket("inet6", "stream");
    a.api.bind(bound6, A6, 0);
    await expect(run(a.api.connect(bound6, "::ffff:10.0.0.1", 80))).rejects.toMatchObject({
      code: "ENETUNREACH",
    });
  });
});

describe("inet6 datagram sockets", () => {
  test("sendto/recvfrom in RFC 5952 text; a 4000-byte datagram is fragmented to the path MTU and arrives whole", async () => {
    const { a, b, run } = socketHosts();
    const server = b.api.socket("inet6", "dgram");
    b.api.bind(server, "::", 7);
    const client = a.api.socket("inet6", "dgram");
    const big = patternBytes(4000);
    await run(a.api.sendto(client, big, B6, 7));
    const got = await run(b.api.recvfrom(server, 65535));
    expect(got.address).toBe(A6);
    expect(got.port).toBe(a.api.getsockname(client).port);
    expect(Buffer.from(got.data).equals(Buffer.from(big))).toBe(true);
    expect(a.stack.stats.snapshot().ipv6OutFragCreates ?? 0).toBeGreaterThanOrEqual(3);
    // An IPv4 sender reaches the :: socket too, and is named IPv4-mapped.
    const v4 = a.api.socket("inet", "dgram");
    await run(a.api.sendto(v4, patternBytes(5), "10.0.0.1", 7));
    const fromV4 = await run(b.api.recvfrom(server, 100));
    expect(fromV4.address).toBe("::ffff:10.0.0.2");
    // And the reply by that name goes back over IPv4.
    await run(b.api.sendto(server, patternBytes(3), fromV4.address, fromV4.port));
    expect((await run(a.api.recvfrom(v4, 100))).address).toBe("10.0.0.1");
  });

  test("a datagram with a zero checksum over IPv6 is dropped and counted (RFC 8200 §8.1)", async () => {
    const { b, run, clock } = socketHosts();
    const server = b.api.socket("inet6", "dgram");
    b.api.bind(server, "::", 9);
    const data = patternBytes(4);
    const good = udp6({
      source: a6(A6),
      destination: a6(B6),
      sourcePort: 5000,
      destinationPort: 9,
      data,
    });
    const zero = good.slice();
    zero[6] = 0;
    zero[7] = 0; // "no checksum": legal over IPv4 (RFC 768), not over IPv6
    const packet = (udp: Uint8Array) =>
      ipv6Packet({ source: a6(A6), destination: a6(B6), nextHeader: 17, payload: udp });
    const errorsBefore = b.stack.stats.snapshot().udpInErrors ?? 0;
    b.stack.receive(packet(zero), clock.now());
    expect(b.stack.stats.snapshot().udpInErrors).toBe(errorsBefore + 1);
    b.api.setNonBlocking(server, true);
    await expect(run(b.api.recvfrom(server, 100))).rejects.toMatchObject({ code: "EAGAIN" });
    b.stack.receive(packet(good), clock.now());
    const got = await run(b.api.recvfrom(server, 100));
    expect(got).toMatchObject({ address: A6, port: 5000 });
  });
});
