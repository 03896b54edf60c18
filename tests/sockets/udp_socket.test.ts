/**
 * Datagram sockets between two whole stacks over the simulated link, on a virtual clock.
 */
import { describe, expect, test } from "bun:test";
import { POLLERR, POLLIN, POLLOUT } from "../../sockets/poll.ts";
import { MAX_UDP_PAYLOAD } from "../../sockets/udp_socket.ts";
import { socketHosts } from "../helpers/socket_hosts.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Two whole stacks over the memory link (A = 10.0.0.2, B = 10.0.0.1). */
function twoUdpHosts() {
  const hosts = socketHosts();
  return { ...hosts, deliver: () => hosts.advance(10) };
}

describe("UDP sockets over the memory link", () => {
  test("sendto / recvfrom both ways; an unbound sender is bound to an ephemeral port", async () => {
    const { a, b, deliver } = twoUdpHosts();
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 7);
    const client = a.api.socket("inet", "dgram");
    expect(await a.api.sendto(client, text("hello"), "10.0.0.1", 7)).toBe(5);
    const clientPort = a.api.getsockname(client).port;
    expect(clientPort).toBeGreaterThanOrEqual(49152);
    const receiving = b.api.recvfrom(server, 100);
    await deliver();
    const got = await receiving;
    expect(decode(got.data)).toBe("hello");
    expect(got).toMatchObject({ address: "10.0.0.2", port: clientPort });
    await b.api.sendto(server, text("HELLO"), got.address, got.port);
    await deliver();
    const reply = await a.api.recvfrom(client, 100);
    expect(decode(reply.data)).toBe("HELLO");
    expect(reply).toMatchObject({ address: "10.0.0.1", port: 7 });
  });

  test("recv with a small buffer truncates the datagram; the rest is gone", async () => {
    const { a, b, deliver } = twoUdpHosts();
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 9);
    const client = a.api.socket("inet", "dgram");
    await a.api.sendto(client, text("abcdef"), "10.0.0.1", 9);
    await a.api.sendto(client, text("xyz"), "10.0.0.1", 9);
    await deliver();
    expect(decode(await b.api.recv(server, 2))).toBe("ab");
    expect(decode(await b.api.recv(server, 100))).toBe("xyz");
  });

  test("connect sets the default peer and filters out everyone else", async () => {
    const { a, b, deliver } = twoUdpHosts();
    const receiver = a.api.socket("inet", "dgram");
    a.api.bind(receiver, "0.0.0.0", 5000);
    a.api.connect(receiver, "10.0.0.1", 6000);
    expect(a.api.getpeername(receiver)).toEqual({ address: "10.0.0.1", port: 6000 });
    expect(a.api.getsockname(receiver)).toEqual({ address: "10.0.0.2", port: 5000 });
    const stranger = b.api.socket("inet", "dgram");
    b.api.bind(stranger, "0.0.0.0", 6001);
    const friend = b.api.socket("inet", "dgram");
    b.api.bind(friend, "0.0.0.0", 6000);
    await b.api.sendto(stranger, text("no"), "10.0.0.2", 5000);
    await b.api.sendto(friend, text("yes"), "10.0.0.2", 5000);
    await deliver();
    expect(decode(await a.api.recv(receiver, 10))).toBe("yes");
    a.api.setNonBlocking(receiver, true);
    await expect(a.api.recv(receiver, 10)).rejects.toMatchObject({ code: "EAGAIN" });
    expect(await a.api.send(receiver, text("back"))).toBe(4);
    await deliver();
    expect(decode(await b.api.recv(friend, 10))).toBe("back");
    await a.api.connect(receiver, "0.0.0.0", 0); // AF_UNSPEC: no peer any more
    expect(() => a.api.getpeername(receiver)).toThrow("ENOTCONN");
    await b.api.sendto(stranger, text("now"), "10.0.0.2", 5000);
    await deliver();
    expect(decode(await a.api.recv(receiver, 10))).toBe("now");
  });

  test("connected socket: ECONNREFUSED once after ICMP port unreachable, then normal again", async () => {
    const { a, deliver } = twoUdpHosts();
    const fd = a.api.socket("inet", "dgram");
    await a.api.connect(fd, "10.0.0.1", 9999); // nobody listens there
    await a.api.send(fd, text("anyone?"));
    await deliver();
    const [ready] = await a.api.poll([{ fd, events: POLLIN }], 0);
    expect(ready!.revents).toBe(POLLERR);
    await expect(a.api.send(fd, text("again"))).rejects.toThrow(
      "send: 10.0.0.1:9999 answered port unreachable (ICMP) to an earlier datagram (ECONNREFUSED)",
    );
    expect(await a.api.send(fd, text("once more"))).toBe(9);
    await deliver();
    await expect(a.api.recv(fd, 10)).rejects.toMatchObject({
      code: "ECONNREFUSED",
      syscall: "recv",
    });
  });

  test("an unconnected socket hears nothing of ICMP errors (Linux without IP_RECVERR)", async () => {
    const { a, deliver } = twoUdpHosts();
    const fd = a.api.socket("inet", "dgram");
    await a.api.sendto(fd, text("anyone?"), "10.0.0.1", 9999);
    await deliver();
    expect(a.api.getsockopt(fd, "SO_ERROR")).toBe(0);
    expect(await a.api.poll([{ fd, events: POLLIN | POLLOUT }], 0)).toEqual([
      { fd, revents: POLLOUT },
    ]);
  });

  test("SO_RCVBUF bounds the receive queue: a full queue drops datagrams", async () => {
    const { a, b, deliver } = twoUdpHosts();
    const server = b.api.socket("inet", "dgram");
    expect(b.api.getsockopt(server, "SO_RCVBUF")).toBe(212_992); // Linux rmem_default
    b.api.setsockopt(server, "SO_RCVBUF", 4096);
    expect(b.api.getsockopt(server, "SO_RCVBUF")).toBe(4096);
    b.api.bind(server, "0.0.0.0", 9);
    const client = a.api.socket("inet", "dgram");
    for (let i = 0; i < 10; i++) await a.api.sendto(client, new Uint8Array(1000), "10.0.0.1", 9);
    await deliver();
    b.api.setNonBlocking(server, true);
    let queued = 0;
    while (
      await b.api.recv(server, 2000).then(
        () => true,
        () => false,
      )
    )
      queued++;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(5);
    expect(b.stack.stats.get("udpRcvbufErrors")).toBe(10 - queued);
  });

  test("errors: EMSGSIZE over 65,507 bytes, EDESTADDRREQ, EINVAL for port 0", async () => {
    const { a } = twoUdpHosts();
    const fd = a.api.socket("inet", "dgram");
    await expect(
      a.api.sendto(fd, new Uint8Array(MAX_UDP_PAYLOAD + 1), "10.0.0.1", 7),
    ).rejects.toMatchObject({
      code: "EMSGSIZE",
    });
    await expect(a.api.send(fd, text("x"))).rejects.toMatchObject({ code: "EDESTADDRREQ" });
    await expect(a.api.sendto(fd, text("x"), "10.0.0.1", 0)).rejects.toMatchObject({
      code: "EINVAL",
    });
  });

  test("a broadcast destination needs SO_BROADCAST (EACCES without, as Linux); with it the datagram goes", async () => {
    const { a, b, deliver } = twoUdpHosts();
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 5005);
    const client = a.api.socket("inet", "dgram");
    expect(a.api.getsockopt(client, "SO_BROADCAST")).toBe(false);
    for (const address of ["255.255.255.255", "10.0.0.255"]) {
      await expect(a.api.sendto(client, text("all"), address, 5005)).rejects.toMatchObject({
        code: "EACCES",
      });
    }
    await expect(a.api.connect(client, "255.255.255.255", 5005)).rejects.toMatchObject({
      code: "EACCES",
    });
    a.api.setsockopt(client, "SO_BROADCAST", true);
    expect(a.api.getsockopt(client, "SO_BROADCAST")).toBe(true);
    expect(await a.api.sendto(client, text("all"), "255.255.255.255", 5005)).toBe(3);
    const receiving = b.api.recvfrom(server, 100);
    await deliver();
    expect(decode((await receiving).data)).toBe("all");
    // A host address of the subnet is no broadcast.
    const plain = a.api.socket("inet", "dgram");
    expect(await a.api.sendto(plain, text("one"), "10.0.0.1", 5005)).toBe(3);
  });

  test("a blocking recvfrom waits for the datagram; poll sees POLLIN", async () => {
    const { a, b, clock } = twoUdpHosts();
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 7);
    const polling = b.api.poll([{ fd: server, events: POLLIN }], 100);
    const client = a.api.socket("inet", "dgram");
    await a.api.sendto(client, text("x"), "10.0.0.1", 7);
    clock.advance(1);
    expect(await polling).toEqual([{ fd: server, revents: POLLIN }]);
    expect(decode((await b.api.recvfrom(server, 10)).data)).toBe("x");
  });

  test("shutdown(read) on a connected datagram socket: recv returns at once with nothing", async () => {
    const { a } = twoUdpHosts();
    const fd = a.api.socket("inet", "dgram");
    expect(() => a.api.shutdown(fd, "read")).toThrow("ENOTCONN");
    a.api.connect(fd, "10.0.0.1", 7);
    a.api.shutdown(fd, "both");
    expect((await a.api.recv(fd, 10)).length).toBe(0);
    await expect(a.api.send(fd, text("x"))).rejects.toMatchObject({ code: "EPIPE" });
  });
});
