/**
 * The forwarding hook (stack/forwarding.ts) between two in-memory hosts: B (10.0.0.1)
 * is the inner client, A (10.0.0.2) the gateway stack with a scripted forwarder and an
 * IP_TRANSPARENT listener. B talks to 198.18.0.2, an address A does not have.
 */
import { describe, expect, test } from "bun:test";
import { formatIpv4, parseIpv4 } from "../../stack/address.ts";
import type { ForwardedFlow, Forwarder, SynRequest, SynVerdict } from "../../stack/forwarding.ts";
import { icmpEchoPacket } from "../helpers/packets.ts";
import { type SocketHosts, socketHosts } from "../helpers/socket_hosts.ts";

const OUTSIDE = "198.18.0.2";

/** A forwarder whose verdict the test sets, recording what it was asked. */
class ScriptedForwarder implements Forwarder {
  verdict: SynVerdict = { kind: "pending" };
  claimed = true;
  readonly syns: SynRequest[] = [];
  readonly datagrams: { flow: ForwardedFlow; data: string }[] = [];
  udpRefusal: number | undefined;
  claims(): boolean {
    return this.claimed;
  }
  tcpSyn(request: SynRequest): SynVerdict {
    this.syns.push(request);
    return this.verdict;
  }
  udpDatagram(flow: ForwardedFlow, data: Uint8Array): number | undefined {
    this.datagrams.push({ flow: { ...flow }, data: new TextDecoder().decode(data) });
    return this.udpRefusal;
  }
}

function gatewayPair(): { hosts: SocketHosts; forwarder: ScriptedForwarder; listenFd: number } {
  const forwarder = new ScriptedForwarder();
  const hosts = socketHosts({ stackA: { forwarder } });
  const listenFd = hosts.a.api.socket("inet", "stream");
  hosts.a.api.setsockopt(listenFd, "IP_TRANSPARENT", true);
  hosts.a.api.listen(listenFd);
  return { hosts, forwarder, listenFd };
}

describe("TCP to a forwarded address", () => {
  test("the SYN waits for the verdict; accepted, the connection joins the transparent listener under the destination's name", async () => {
    const { hosts, forwarder, listenFd } = gatewayPair();
    const { a, b } = hosts;
    const fd = b.api.socket("inet", "stream");
    const connecting = b.api.connect(fd, OUTSIDE, 80);
    let connected = false;
    void connecting.then(() => {
      connected = true;
    });
    await hosts.advance(50);
    expect(forwarder.syns.length).toBe(1); // asked once ...
    expect(connected).toBe(false); // ... and nothing answered while pending
    expect(a.stack.stats.get("tcpForwardPending")).toBe(1);
    const syn = forwarder.syns[0]!;
    expect(formatIpv4(syn.destination)).toBe(OUTSIDE);
    expect(syn.destinationPort).toBe(80);
    // The host connect succeeded: the forwarder hands the kept SYN back.
    forwarder.verdict = { kind: "accept" };
    a.stack.receive(syn.packet.slice(), hosts.clock.now());
    const accepted = await hosts.run(a.api.accept(listenFd));
    await hosts.run(connecting);
    expect(a.api.getsockname(accepted)).toEqual({ address: OUTSIDE, port: 80 });
    expect(a.api.getpeername(accepted)).toEqual({ address: "10.0.0.1", port: syn.sourcePort });
    await hosts.run(b.api.send(fd, new TextEncoder().encode("ping")));
    expect(new TextDecoder().decode(await hosts.run(a.api.recv(accepted, 100)))).toBe("ping");
    await hosts.run(a.api.send(accepted, new TextEncoder().encode("pong")));
    expect(new TextDecoder().decode(await hosts.run(b.api.recv(fd, 100)))).toBe("pong");
    expect(b.api.getpeername(fd)).toEqual({ address: OUTSIDE, port: 80 });
  });

  test("a reset verdict is a refused connection", async () => {
    const { hosts, forwarder } = gatewayPair();
    forwarder.verdict = { kind: "reset" };
    const fd = hosts.b.api.socket("inet", "stream");
    await expect(hosts.run(hosts.b.api.connect(fd, OUTSIDE, 81))).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });

  test("an unreachable verdict answers with ICMP Destination Unreachable", async () => {
    const { hosts, forwarder } = gatewayPair();
    forwarder.verdict = { kind: "unreachable", code: 1 };
    const fd = hosts.b.api.socket("inet", "stream");
    await expect(hosts.run(hosts.b.api.connect(fd, OUTSIDE, 82))).rejects.toMatchObject({
      code: "EHOSTUNREACH",
    });
    expect(hosts.a.stack.stats.get("icmpOutDestUnreachs")).toBe(1);
  });

  test("without the transparent listener a SYN to a forwarded address is reset, never asked about", async () => {
    const forwarder = new ScriptedForwarder();
    const hosts = socketHosts({ stackA: { forwarder } });
    const fd = hosts.b.api.socket("inet", "stream");
    await expect(hosts.run(hosts.b.api.connect(fd, OUTSIDE, 80))).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
    expect(forwarder.syns.length).toBe(0);
  });

  test("an address the forwarder does not claim is not ours: dropped unanswered, as a host does", async () => {
    const { hosts, forwarder } = gatewayPair();
    forwarder.claimed = false;
    const fd = hosts.b.api.socket("inet", "stream");
    void hosts.b.api.connect(fd, OUTSIDE, 80).catch(() => {});
    await hosts.advance(50);
    expect(forwarder.syns.length).toBe(0);
    expect(hosts.a.stack.stats.get("ipInAddrErrors")).toBeGreaterThan(0);
  });
});

describe("UDP to a forwarded address", () => {
  test("goes to the forwarder; a reply sent from that address reaches the client as from it", async () => {
    const { hosts, forwarder } = gatewayPair();
    const { a, b } = hosts;
    const fd = b.api.socket("inet", "dgram");
    await hosts.run(b.api.sendto(fd, new TextEncoder().encode("query"), OUTSIDE, 53));
    await hosts.advance(10);
    expect(forwarder.datagrams.length).toBe(1);
    const { flow, data } = forwarder.datagrams[0]!;
    expect(data).toBe("query");
    expect(formatIpv4(flow.destination)).toBe(OUTSIDE);
    a.stack.udp.sendFrom(
      { address: flow.destination, port: 53 },
      new TextEncoder().encode("answer"),
      flow.source,
      flow.sourcePort,
    );
    a.driver.kick();
    const reply = await hosts.run(b.api.recvfrom(fd, 100));
    expect(reply).toMatchObject({ address: OUTSIDE, port: 53 });
    expect(new TextDecoder().decode(reply.data)).toBe("answer");
  });

  test("a refusal code becomes ICMP Destination Unreachable: the connected client sees it", async () => {
    const { hosts, forwarder } = gatewayPair();
    forwarder.udpRefusal = 13;
    const fd = hosts.b.api.socket("inet", "dgram");
    await hosts.run(hosts.b.api.connect(fd, OUTSIDE, 9999));
    await hosts.run(hosts.b.api.send(fd, new TextEncoder().encode("x")));
    await hosts.advance(10);
    expect(hosts.b.api.getsockopt(fd, "SO_ERROR")).toBe("EHOSTUNREACH");
  });
});

test("ICMP to a forwarded address is refused as administratively prohibited (RFC 1812 §5.2.7.1)", async () => {
  const { hosts } = gatewayPair();
  const echo = icmpEchoPacket({ source: parseIpv4("10.0.0.1")!, destination: parseIpv4(OUTSIDE)! });
  hosts.a.stack.receive(echo, hosts.clock.now());
  expect(hosts.a.stack.stats.get("ipForwardProhibited")).toBe(1);
  expect(hosts.a.stack.stats.get("icmpOutDestUnreachs")).toBe(1);
});
