/**
 * The transmit buffer pool (`stack/packet_buffers.ts`) and the reuse on the packet path:
 * a buffer is never handed out twice while in use, and a send or receive nested inside
 * another (a link that delivers at once, inside `transmit`) gets buffers and parse
 * results of its own, so the outer packet is not overwritten.
 */
import { describe, expect, test } from "bun:test";
import { PacketBuffer, PacketBufferPool } from "../../stack/packet_buffers.ts";
import { Random } from "../../stack/random.ts";
import { Stack } from "../../stack/stack.ts";
import { defaultTcpConnectionOptions } from "../../stack/tcp/tcp.ts";

describe("PacketBufferPool", () => {
  test("a buffer in use is not handed out again; a released one is", () => {
    const pool = new PacketBufferPool();
    const first = pool.acquire();
    const second = pool.acquire();
    expect(second).not.toBe(first);
    expect(pool.inUse).toBe(2);
    pool.release(second);
    expect(pool.acquire()).toBe(second);
    pool.release(first);
    pool.release(second);
    expect(pool.inUse).toBe(0);
  });

  test("releasing a buffer twice is a broken invariant: it throws", () => {
    const pool = new PacketBufferPool();
    const buffer = pool.acquire();
    pool.release(buffer);
    expect(() => pool.release(buffer)).toThrow("released twice");
  });

  test("view(length) is the first `length` bytes, the same object for a length seen lately", () => {
    const buffer = new PacketBuffer();
    buffer.bytes[0] = 7;
    const view = buffer.view(52);
    expect(view.length).toBe(52);
    expect(view[0]).toBe(7);
    expect(buffer.view(1500)).not.toBe(view);
    expect(buffer.view(52)).toBe(view);
  });
});

describe("two stacks that deliver to each other inside transmit (nested input and output)", () => {
  test("every byte arrives intact, and the pool ends with nothing in use", () => {
    const a = new Stack({
      address: 0x0a090001,
      prefixLength: 24,
      mtu: 1500,
      random: new Random(1),
    });
    const b = new Stack({
      address: 0x0a090002,
      prefixLength: 24,
      mtu: 1500,
      random: new Random(2),
    });
    let now = 0;
    // Delivered at once, inside transmit, up to a depth of 3 (fully synchronous peers
    // would recurse without end); deeper packets wait in a queue, drained below.
    const queue: [Stack, Uint8Array][] = [];
    let depth = 0;
    let nested = 0;
    const linkTo = (to: Stack) => (packet: Uint8Array) => {
      if (depth >= 3) {
        queue.push([to, packet.slice()]);
        return;
      }
      depth++;
      if (depth > 1) nested++;
      try {
        to.receive(packet, now);
      } finally {
        depth--;
      }
    };
    const drain = () => {
      for (let i = 0; i < 10_000 && queue.length > 0; i++) {
        const [to, packet] = queue.shift()!;
        linkTo(to)(packet);
      }
    };
    a.transmit = linkTo(b);
    b.transmit = linkTo(a);
    const listener = b.tcp.listen(0x0a090002, 80, 4);
    const client = a.tcp.connect(
      { address: 0x0a090001, port: 40000 },
      { address: 0x0a090002, port: 80 },
      { ...defaultTcpConnectionOptions(), noDelay: true },
      now,
    );
    drain();
    const server = listener.accept();
    expect(client.state).toBe("ESTABLISHED");
    if (server === undefined) throw new Error("no connection accepted");
    const data = new Uint8Array(200_000).map((_, i) => (i * 7 + (i >>> 8)) & 0xff);
    const received: number[] = [];
    const into = new Uint8Array(65536);
    let offset = 0;
    for (let round = 0; round < 1000 && received.length < data.length; round++) {
      offset += client.send(data.subarray(offset), now);
      a.poll(now);
      drain();
      const n = server.receive(into, now);
      for (let i = 0; i < n; i++) received.push(into[i]!);
      b.poll(now);
      drain();
      now += 10;
    }
    expect(nested).toBeGreaterThan(10);
    expect(received.length).toBe(data.length);
    expect(Uint8Array.from(received)).toEqual(data);
    expect(a.stats.get("tcpInCsumErrors") + b.stats.get("tcpInCsumErrors")).toBe(0);
    expect(a.tcp.txBuffers.inUse).toBe(0);
    expect(b.tcp.txBuffers.inUse).toBe(0);
  });
});
