/**
 * Hardening: what a hostile or broken peer must not be able to do to the TCP layer
 * (a reviewer's findings, one describe block each).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { systemEntropy } from "../../../device/system_entropy.ts";
import { Random } from "../../../stack/random.ts";
import { Stack } from "../../../stack/stack.ts";
import { MAX_PIECES, PIECE_OVERHEAD_BYTES, Reassembly } from "../../../stack/tcp/reassembly.ts";
import { RingBuffer } from "../../../stack/tcp/ring_buffer.ts";
import { seqAdd, seqDiff } from "../../../stack/tcp/seq.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { socketHosts } from "../../helpers/socket_hosts.ts";
import {
  advance,
  arrive,
  harness,
  IRS,
  ISS,
  LOCAL,
  REMOTE,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

/** Established with SACK on (no timestamps), the connection returned. */
function establishedWithSack(): { h: ReturnType<typeof harness>; conn: Tcb } {
  const h = harness({ sack: true });
  h.listener = h.tcp.listen(0, 80, 8);
  arrive(h, seg({ flags: "S", seq: IRS, options: { sackPermitted: true, mss: 1460 } }));
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
  const conn = [...h.tcp.connections()][0] as Tcb;
  expect(conn.state).toBe("ESTABLISHED");
  expect(conn.sackEnabled).toBe(true);
  h.sent.length = 0;
  return { h, conn };
}

describe("out-of-order queue under tiny segments", () => {
  test("20,000 one-byte segments with holes stay within the piece cap and byte bound", () => {
    const { h, conn } = establishedWithSack();
    let maxPieces = 0;
    let maxCharged = 0;
    for (let i = 0; i < 20_000; i++) {
      arrive(h, seg({ flags: "A", seq: IRS + 2 + 2 * i, ack: ISS + 1, data: "x" }));
      maxPieces = Math.max(maxPieces, conn.reassembly.pieceCount);
      maxCharged = Math.max(maxCharged, conn.reassembly.chargedBytes);
      h.sent.length = 0;
    }
    expect(maxPieces).toBe(MAX_PIECES);
    expect(maxCharged).toBeLessThanOrEqual(MAX_PIECES * (1 + PIECE_OVERHEAD_BYTES));
    // Every ACK's SACK option still holds at most 4 blocks, the recent arrival's first.
    arrive(h, seg({ flags: "A", seq: IRS + 2 + 2 * 100, ack: ISS + 1, data: "x" }));
    const blocks = h.sent.at(-1)?.options.sackBlocks ?? [];
    expect(blocks.length).toBe(4);
    expect(blocks[0]).toEqual({ left: IRS + 202, right: IRS + 203 });
  });

  test("held data is delivered when the holes fill", () => {
    const { h, conn } = establishedWithSack();
    for (let i = 0; i < 100; i++)
      arrive(h, seg({ flags: "A", seq: IRS + 2 + 2 * i, ack: ISS + 1, data: "b" }));
    const filler = "a".repeat(200);
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, data: filler }));
    expect(conn.rcvNxt).toBe(IRS + 201);
    expect(conn.reassembly.pieceCount).toBe(0);
    const out = new Uint8Array(400);
    expect(conn.receive(out, h.now)).toBe(200);
  });

  test("ranges() is bounded to what a SACK option needs", () => {
    const r = new Reassembly(1 << 30);
    for (let i = 0; i < 3000; i++) r.insert(1000 + 2 * i, new Uint8Array(1), 0, 1 << 20);
    expect(r.ranges([1000 + 2 * 2500], 3)).toEqual([
      { left: 1000, right: 1001 },
      { left: 1002, right: 1003 },
      { left: 1004, right: 1005 },
      { left: 6000, right: 6001 },
    ]);
  });

  test("property: random arrival orders deliver the stream exactly as a reference", () => {
    // A stream of `length` bytes starting near the sequence wrap, cut into segments that
    // cover it (plus random overlapping duplicates), arriving in random order; the
    // receiver does what processText does (in order: write, then drain; else insert).
    const scenario = fc
      .record({
        length: fc.integer({ min: 1, max: 400 }),
        base: fc.integer({ min: 0, max: 0xffffffff }),
        cuts: fc.array(fc.integer({ min: 1, max: 399 }), { maxLength: 60 }),
        extra: fc.array(fc.tuple(fc.nat(399), fc.integer({ min: 1, max: 40 })), {
          maxLength: 30,
        }),
      })
      .chain((s) => {
        const points = [...new Set([0, ...s.cuts.filter((c) => c < s.length), s.length])].sort(
          (a, b) => a - b,
        );
        const segments: [number, number][] = [];
        for (let i = 0; i + 1 < points.length; i++) segments.push([points[i]!, points[i + 1]!]);
        for (const [start, len] of s.extra)
          if (start < s.length) segments.push([start, Math.min(s.length, start + len)]);
        return fc.record({
          length: fc.constant(s.length),
          base: fc.constant(s.base),
          order: fc.shuffledSubarray(segments, {
            minLength: segments.length,
            maxLength: segments.length,
          }),
        });
      });
    fc.assert(
      fc.property(scenario, ({ length, base, order }) => {
        const stream = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);
        const r = new Reassembly(1 << 20);
        const buffer = new RingBuffer(length);
        const have = new Uint8Array(length); // reference: which bytes arrived
        let rcvNxt = base;
        for (const [start, end] of order) {
          const seq = seqAdd(base, start);
          const data = stream.subarray(start, end);
          const delivered = seqDiff(rcvNxt, base);
          if (start <= delivered) {
            if (end > delivered) {
              buffer.write(stream.subarray(delivered, end));
              rcvNxt = seqAdd(base, end);
            }
            rcvNxt = r.drain(rcvNxt, buffer);
          } else {
            expect(r.insert(seq, data, rcvNxt, seqAdd(base, length))).toBe(true);
          }
          have.fill(1, start, end);
          // Reference: RCV.NXT is the first byte not yet arrived, the held ranges the
          // runs of arrived bytes above it.
          const firstMissing = have.indexOf(0) === -1 ? length : have.indexOf(0);
          expect(seqDiff(rcvNxt, base)).toBe(firstMissing);
          expect(r.ranges([], Number.POSITIVE_INFINITY)).toEqual(
            runsAbove(have, firstMissing, base),
          );
        }
        expect(seqDiff(rcvNxt, base)).toBe(length);
        expect(r.pieceCount).toBe(0);
        const out = new Uint8Array(length);
        buffer.read(out);
        expect(out).toEqual(stream);
      }),
      { numRuns: 300 },
    );
  });
});

test("property: under tight bounds the queue stays within them and a retransmission completes the stream", () => {
  const scenario = fc.record({
    base: fc.integer({ min: 0, max: 0xffffffff }),
    limit: fc.integer({ min: 0, max: 3000 }),
    maxPieces: fc.integer({ min: 1, max: 12 }),
    segments: fc.array(fc.tuple(fc.nat(299), fc.integer({ min: 1, max: 60 })), { maxLength: 80 }),
  });
  fc.assert(
    fc.property(scenario, ({ base, limit, maxPieces, segments }) => {
      const length = 300;
      const stream = Uint8Array.from({ length }, (_, i) => (i * 13 + 1) & 0xff);
      const r = new Reassembly(limit, maxPieces);
      const buffer = new RingBuffer(length);
      let rcvNxt = base;
      const deliver = (start: number, end: number) => {
        const delivered = seqDiff(rcvNxt, base);
        if (start <= delivered) {
          if (end > delivered) {
            buffer.write(stream.subarray(delivered, end));
            rcvNxt = seqAdd(base, end);
          }
          rcvNxt = r.drain(rcvNxt, buffer);
        } else
          r.insert(seqAdd(base, start), stream.subarray(start, end), rcvNxt, seqAdd(base, length));
        expect(r.pieceCount).toBeLessThanOrEqual(maxPieces);
        expect(r.chargedBytes).toBeLessThanOrEqual(limit);
        expect(r.bytes).toBe(
          r.ranges([], Number.POSITIVE_INFINITY).reduce((n, b) => n + seqDiff(b.right, b.left), 0),
        );
      };
      for (const [start, len] of segments) deliver(start, Math.min(length, start + len));
      for (let at = 0; at < length; at += 50) deliver(at, at + 50); // the sender's retransmission
      expect(seqDiff(rcvNxt, base)).toBe(length);
      const out = new Uint8Array(length);
      buffer.read(out);
      expect(out).toEqual(stream);
    }),
    { numRuns: 300 },
  );
});

function runsAbove(
  have: Uint8Array,
  from: number,
  base: number,
): { left: number; right: number }[] {
  const runs: { left: number; right: number }[] = [];
  let i = from;
  while (i < have.length) {
    if (have[i] === 0) {
      i++;
      continue;
    }
    const left = i;
    while (i < have.length && have[i] === 1) i++;
    runs.push({ left: seqAdd(base, left), right: seqAdd(base, i) });
  }
  return runs;
}

describe("RFC 5961 §7 challenge-ACK limit", () => {
  // In the window but not at RCV.NXT: a RST gets a challenge ACK (§3.2), so does a SYN (§4.2).
  const inWindowRst = () => seg({ flags: "R", seq: IRS + 101 });
  const inWindowSyn = () => seg({ flags: "S", seq: IRS + 101 });

  function challengesFor(h: ReturnType<typeof harness>, segments: ReturnType<typeof seg>[]) {
    h.sent.length = 0;
    for (const s of segments) arrive(h, s);
    return h.sent.filter((s) => s.flags === "A" && s.ack === IRS + 1).length;
  }

  test("the budget for RST challenges refills the next second", () => {
    const h = tcbInState("ESTABLISHED", { challengeAckLimit: 3 });
    expect(challengesFor(h, Array.from({ length: 5 }, inWindowRst))).toBe(3);
    h.now += 1000;
    expect(challengesFor(h, Array.from({ length: 5 }, inWindowRst))).toBe(3);
    expect(h.conn!.state).toBe("ESTABLISHED");
  });

  test("alternating in-window RST and SYN stays within the limit", () => {
    const h = tcbInState("ESTABLISHED", { challengeAckLimit: 3 });
    const alternating = Array.from({ length: 10 }, (_, i) =>
      i % 2 ? inWindowSyn() : inWindowRst(),
    );
    expect(challengesFor(h, alternating)).toBe(3);
  });
});

describe("orphaned FIN-WAIT-2 (Linux tcp_fin_timeout)", () => {
  test("closed both ways, FIN-WAIT-2 ends after finWait2TimeoutMs, silently", () => {
    const h = tcbInState("FIN-WAIT-2", { finWait2TimeoutMs: 5000 });
    const conn = h.conn!;
    conn.shutdownRead(); // CLOSE was called; now nobody reads either: an orphan
    advance(h, 3000);
    // What the peer sends does not keep it alive (it is ACKed and discarded).
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 2, data: "late" }));
    advance(h, 1999);
    expect(conn.state).toBe("FIN-WAIT-2");
    h.sent.length = 0;
    advance(h, 1);
    expect(conn.state).toBe("CLOSED");
    expect([...h.tcp.connections()]).toHaveLength(0);
    expect(h.sent).toHaveLength(0);
    expect(h.stats.get("tcpFinWait2Timeouts")).toBe(1);
  });

  test("a half-closed connection the application still reads stays in FIN-WAIT-2", () => {
    const h = tcbInState("FIN-WAIT-2", { finWait2TimeoutMs: 5000 });
    advance(h, 3_600_000);
    expect(h.conn!.state).toBe("FIN-WAIT-2");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("a socket closed while its peer never sends FIN is gone after the timeout", async () => {
    const { a, b, run, advance: wait } = socketHosts({ tcp: { finWait2TimeoutMs: 10_000 } });
    const server = b.api.socket("inet", "stream");
    b.api.bind(server, "0.0.0.0", 9);
    b.api.listen(server);
    const client = a.api.socket("inet", "stream");
    const [, peer] = await run(
      Promise.all([a.api.connect(client, "10.0.0.1", 9), b.api.accept(server)]),
    );
    a.api.close(client); // B ACKs the FIN and never closes `peer`
    await wait(1000);
    const states = () => [...a.stack.tcp.connections()].map((c) => c.state);
    expect(states()).toEqual(["FIN-WAIT-2"]);
    await wait(9500);
    expect(states()).toEqual([]);
    b.api.close(peer);
  });

  test("FIN-WAIT-2 keeps no send buffer space (everything was sent and acknowledged)", () => {
    const h = tcbInState("FIN-WAIT-2");
    expect(h.conn!.sendBuffer.capacity).toBeLessThanOrEqual(1);
    expect(h.conn!.writableBytes).toBe(0);
  });

  test("TIME-WAIT and CLOSED connections keep no buffer space", () => {
    const h = tcbInState("TIME-WAIT");
    const conn = h.conn!;
    expect(conn.sendBuffer.capacity).toBeLessThanOrEqual(1);
    expect(conn.recvBuffer.capacity).toBeLessThanOrEqual(1);
    expect(conn.reassembly.pieceCount).toBe(0);
    const e = tcbInState("ESTABLISHED");
    arrive(e, seg({ flags: "A", seq: IRS + 11, ack: ISS + 1, data: "held" }));
    e.conn!.abort(e.now);
    expect(e.conn!.sendBuffer.capacity).toBeLessThanOrEqual(1);
    expect(e.conn!.recvBuffer.capacity).toBeLessThanOrEqual(1);
    expect(e.conn!.reassembly.pieceCount).toBe(0);
  });
});

describe("TIME-WAIT is 2·MSL (RFC 9293 §3.10.7.4, §3.4.2)", () => {
  test("with mslMs = 100, TIME-WAIT ends after 200 ms, not before", () => {
    const h = tcbInState("TIME-WAIT", { mslMs: 100 });
    advance(h, 199);
    expect(h.conn!.state).toBe("TIME-WAIT");
    advance(h, 1);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.tcp.connectionCount).toBe(0);
  });

  test("the default is 60 s, as Linux", () => {
    const h = tcbInState("TIME-WAIT");
    advance(h, 59_999);
    expect(h.conn!.state).toBe("TIME-WAIT");
    advance(h, 1);
    expect(h.conn!.state).toBe("CLOSED");
  });
});

describe("the RFC 6528 ISN key comes from the CSPRNG", () => {
  const F = (stack: Stack) => stack.tcp.isn.hash(LOCAL, 80, REMOTE, 5000);
  const options = { address: LOCAL, prefixLength: 24, mtu: 1500, entropy: systemEntropy };

  test("two stacks built without a seed get different keys", () => {
    expect(F(new Stack(options))).not.toBe(F(new Stack(options)));
  });

  test("the key is not drawn from the host's Random (32 bits of seed, seen in ports)", () => {
    // Same seeded Random, no explicit key: the keys still differ.
    expect(harness().tcp.isn.hash(1, 2, 3, 4)).not.toBe(harness().tcp.isn.hash(1, 2, 3, 4));
  });

  test("a stack built with a seeded random replays its key", () => {
    const a = new Stack({ ...options, random: new Random(42) });
    const b = new Stack({ ...options, random: new Random(42) });
    expect(F(a)).toBe(F(b));
    expect(F(a)).not.toBe(F(new Stack({ ...options, random: new Random(43) })));
  });

  test("an explicit isnKey is used as given", () => {
    const isnKey = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    expect(F(new Stack({ ...options, tcp: { isnKey } }))).toBe(
      F(new Stack({ ...options, tcp: { isnKey } })),
    );
  });
});

describe("send window update (RFC 9293 §3.10.7.4 fifth, ACK)", () => {
  test("an ACK older than SND.UNA does not update SND.WND, even with a newer SEG.SEQ", () => {
    const h = tcbInState("ESTABLISHED");
    const conn = h.conn!;
    conn.send(new Uint8Array(100), h.now);
    advance(h, 1);
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 101, wnd: 1000 }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 101, wnd: 1000, data: "0123456789" }));
    expect(conn.sndUna).toBe(ISS + 101);
    expect(conn.sndWnd).toBe(1000);
    // Sent before our data was acknowledged and delayed: SEG.ACK < SND.UNA, window 0.
    arrive(h, seg({ flags: "A", seq: IRS + 11, ack: ISS + 1, wnd: 0, data: "abcdefghij" }));
    expect(conn.sndWnd).toBe(1000);
    expect(conn.rcvNxt).toBe(IRS + 21); // its text is still taken
    // The same ACK at SND.UNA does update it.
    arrive(h, seg({ flags: "A", seq: IRS + 21, ack: ISS + 101, wnd: 500 }));
    expect(conn.sndWnd).toBe(500);
  });
});
