/**
 * The per-call flags of send and recv (sockets/message_flags.ts), between two whole
 * stacks over the memory link: MSG_PEEK, MSG_WAITALL and MSG_DONTWAIT, as on Linux.
 */
import { describe, expect, test } from "bun:test";
import { connectedPair, patternBytes, socketHosts } from "../helpers/socket_hosts.ts";

const bytes = patternBytes;

describe("recv and send flags on a stream", () => {
  test("peek returns the queued bytes and leaves them; the next recv gets them again", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await run(a.api.send(client, bytes(1000)));
    await hosts.advance(10);
    const peeked = await run(b.api.recv(accepted, 100, { peek: true }));
    expect(peeked).toEqual(bytes(1000).subarray(0, 100));
    expect(await run(b.api.recv(accepted, 100, { peek: true }))).toEqual(peeked);
    const read = await run(b.api.recv(accepted, 4096));
    expect(read).toEqual(bytes(1000));
    // Nothing queued: a peek waits like a recv (here, with dontWait, it says so).
    await expect(
      run(b.api.recv(accepted, 10, { peek: true, dontWait: true })),
    ).rejects.toMatchObject({
      code: "EAGAIN",
    });
  });

  test("waitAll waits for every byte asked for, across many segments and reads", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    // More than the receive buffer: the window must reopen while the call waits.
    const size = 3 * 1024 * 1024;
    const data = bytes(size, 3);
    const [sent, received] = await run(
      Promise.all([a.api.send(client, data), b.api.recv(accepted, size, { waitAll: true })]),
    );
    expect(sent).toBe(size);
    expect(received.length).toBe(size);
    expect(Buffer.compare(received, data)).toBe(0);
  });

  test("waitAll returns fewer bytes at end of stream, then end of stream", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    const waiting = b.api.recv(accepted, 5000, { waitAll: true });
    await run(a.api.send(client, bytes(1234)));
    a.api.shutdown(client, "write");
    expect(await run(waiting)).toEqual(bytes(1234));
    expect((await run(b.api.recv(accepted, 10))).length).toBe(0);
  });

  test("waitAll is ignored by a non-blocking socket, as on Linux: what is there comes back", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await run(a.api.send(client, bytes(300)));
    await hosts.advance(10);
    b.api.setNonBlocking(accepted, true);
    expect(await run(b.api.recv(accepted, 5000, { waitAll: true }))).toEqual(bytes(300));
  });

  test("dontWait makes one call non-blocking: recv says EAGAIN, send queues what fits", async () => {
    const hosts = socketHosts({ tcp: { receiveBufferBytes: 16 * 1024 } });
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await expect(run(b.api.recv(accepted, 10, { dontWait: true }))).rejects.toMatchObject({
      code: "EAGAIN",
    });
    // The socket itself still blocks: a plain recv waits for the data.
    const later = b.api.recv(accepted, 10);
    await run(a.api.send(client, bytes(10)));
    expect(await run(later)).toEqual(bytes(10));
    // Fill the peer's window and our send buffer: a dontWait send takes part, then none.
    const big = bytes(8 * 1024 * 1024);
    const first = await run(a.api.send(client, big, { dontWait: true }));
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(big.length);
    await expect(
      run(a.api.send(client, big.subarray(first), { dontWait: true })),
    ).rejects.toMatchObject({ code: "EAGAIN" });
  });
});

describe("recv flags on a datagram socket", () => {
  test("peek leaves the datagram queued with its sender; dontWait on an empty queue is EAGAIN", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 5000);
    const client = a.api.socket("inet", "dgram");
    await run(a.api.sendto(client, bytes(40), "10.0.0.1", 5000));
    await hosts.advance(10);
    const peeked = await run(b.api.recvfrom(server, 100, { peek: true }));
    expect(peeked.data).toEqual(bytes(40));
    expect(peeked.address).toBe("10.0.0.2");
    const taken = await run(b.api.recvfrom(server, 100));
    expect(taken).toEqual(peeked);
    await expect(run(b.api.recvfrom(server, 100, { dontWait: true }))).rejects.toMatchObject({
      code: "EAGAIN",
    });
  });
});

describe("recvInto: recv into the caller's buffer, as in C", () => {
  test("a stream fills the buffer it is given, returns the count, and 0 at end of stream", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    const data = bytes(300_000, 5);
    const sending = a.api.send(client, data, { eof: true });
    const buffer = new Uint8Array(7000);
    const received: Uint8Array[] = [];
    for (let n = await run(b.api.recvInto(accepted, buffer)); n > 0; ) {
      expect(n).toBeLessThanOrEqual(buffer.length);
      received.push(buffer.slice(0, n));
      n = await run(b.api.recvInto(accepted, buffer));
    }
    expect(await run(sending)).toBe(data.length);
    expect(Buffer.compare(Buffer.concat(received), data)).toBe(0);
  });

  test("with peek and waitAll as recv has them", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await run(a.api.send(client, bytes(5000, 9)));
    const buffer = new Uint8Array(5000);
    const peeked = await run(b.api.recvInto(accepted, buffer.subarray(0, 10), { peek: true }));
    expect(buffer.subarray(0, peeked)).toEqual(bytes(5000, 9).subarray(0, peeked));
    expect(await run(b.api.recvInto(accepted, buffer, { waitAll: true }))).toBe(5000);
    expect(buffer).toEqual(bytes(5000, 9));
  });

  test("a datagram longer than the buffer is cut; a buffer that is not bytes is EFAULT", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const server = b.api.socket("inet", "dgram");
    b.api.bind(server, "0.0.0.0", 5001);
    const client = a.api.socket("inet", "dgram");
    await run(a.api.sendto(client, bytes(100, 2), "10.0.0.1", 5001));
    const buffer = new Uint8Array(40);
    expect(await run(b.api.recvInto(server, buffer))).toBe(40);
    expect(buffer).toEqual(bytes(100, 2).subarray(0, 40));
    await expect(b.api.recvInto(server, [1, 2, 3] as unknown as Uint8Array)).rejects.toMatchObject({
      code: "EFAULT",
    });
  });
});
