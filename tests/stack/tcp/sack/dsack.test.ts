/**
 * D-SACK (RFC 2883): the receiver reports a duplicate arrival in the first SACK block of
 * its next ACK (§4), and the sender counts a retransmission the receiver reports twice
 * as spurious, undoing the congestion response when a whole episode was (§5, RFC 3708).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Reassembly } from "../../../../stack/tcp/reassembly.ts";
import type { SackBlock } from "../../../../stack/tcp/sack/block.ts";
import { SpuriousRetransmitDetector } from "../../../../stack/tcp/sack/dsack.ts";
import {
  duplicateRange,
  type HeldData,
  maxSackBlocks,
  SackBlockReporter,
} from "../../../../stack/tcp/sack/receiver_blocks.ts";
import { seqAdd } from "../../../../stack/tcp/seq.ts";
import type { Tcb } from "../../../../stack/tcp/tcb.ts";
import {
  arrive,
  expectNothingSent,
  expectSent,
  harness,
  IRS,
  ISS,
  poll,
  seg,
} from "../../../helpers/tcp_segments.ts";

const block = (left: number, right: number): SackBlock => ({ left, right });
const nothingHeld = { heldOverlap: () => undefined };
/** duplicateRange for the segment [left, right) at a receiver with RCV.NXT = rcvNxt. */
const duplicate = (
  left: number,
  right: number,
  rcvNxt: number,
  held: HeldData = nothingHeld,
): SackBlock | undefined => duplicateRange(block(left, right), { rcvNxt, held });

describe("RFC 2883 §4: the D-SACK block goes first, once", () => {
  const max = maxSackBlocks(true);

  test("example 1: a duplicate below the cumulative ACK (the ACKs were lost)", () => {
    // 3000-3499 and 3500-3999 arrived, both ACKs lost; 3000-3499 is retransmitted.
    const reporter = new SackBlockReporter();
    reporter.noteDuplicate(duplicate(3000, 3500, 4000)!);
    expect(reporter.blocks([], max)).toEqual([block(3000, 3500)]);
    expect(reporter.blocks([], max)).toEqual([]); // reported once
  });

  test("example 2: a duplicate below the ACK, with an out-of-order block held", () => {
    // 3500-3999 lost, 4000-4499 held; 3000-3499 arrives again: ACK 3500, D-SACK first.
    const reporter = new SackBlockReporter();
    reporter.noteArrival(4000);
    reporter.noteDuplicate(duplicate(3000, 3500, 3500)!);
    expect(reporter.blocks([block(4000, 4500)], max)).toEqual([
      block(3000, 3500),
      block(4000, 4500),
    ]);
    expect(reporter.blocks([block(4000, 4500)], max)).toEqual([block(4000, 4500)]);
  });

  test("example 3: a duplicate of held data: the range holding it comes second", () => {
    // 500-999 lost; 1000-2499 held and 3000-3499 held; 1000-1499 arrives twice.
    const held = [block(1000, 2500), block(3000, 3500)];
    const reporter = new SackBlockReporter();
    reporter.noteArrival(3000);
    reporter.noteArrival(1000);
    const overlap = (l: number, r: number) => (l < 2500 && r > 1000 ? block(l, r) : undefined);
    reporter.noteDuplicate(duplicate(1000, 1500, 500, { heldOverlap: overlap })!);
    expect(reporter.blocks(held, max)).toEqual([
      block(1000, 1500),
      block(1000, 2500),
      block(3000, 3500),
    ]);
  });

  test("a segment partly below RCV.NXT reports only its old part", () => {
    expect(duplicate(100, 300, 200)).toEqual(block(100, 200));
    expect(duplicate(200, 300, 200)).toBeUndefined();
  });
});

describe("Reassembly.heldOverlap and duplicateRange against a byte model", () => {
  const arrivals = fc.record({
    base: fc.integer({ min: 0, max: 0xffff_ffff }),
    pieces: fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 })), {
      maxLength: 10,
    }),
    probe: fc.tuple(fc.nat(260), fc.integer({ min: 1, max: 60 })),
  });

  test("the reported range is the first run of already-received bytes in the segment", () => {
    fc.assert(
      fc.property(arrivals, ({ base, pieces, probe }) => {
        // RCV.NXT = base + 20: bytes [0, 20) were received in order.
        const rcvNxt = seqAdd(base, 20);
        const queue = new Reassembly(1 << 20);
        const have = new Array<boolean>(300).fill(false).map((_, i) => i < 20);
        for (const [at, size] of pieces) {
          queue.insert(seqAdd(base, at), new Uint8Array(size), rcvNxt, seqAdd(base, 300));
          for (let i = Math.max(at, 20); i < Math.min(at + size, 300); i++) have[i] = true;
        }
        const [at, size] = probe;
        const got = duplicate(seqAdd(base, at), seqAdd(base, at + size), rcvNxt, queue);
        const first = have.findIndex((h, i) => h && i >= at && i < at + size);
        if (first === -1) {
          expect(got).toBeUndefined();
          return;
        }
        let end = first;
        while (end < at + size && have[end] && (first >= 20 || end < 20)) end++;
        expect(got).toEqual(block(seqAdd(base, first), seqAdd(base, end)));
      }),
    );
  });
});

describe("SpuriousRetransmitDetector (RFC 3708 §3)", () => {
  test("each D-SACKed retransmission is spurious; the last of the episode undoes it", () => {
    const d = new SpuriousRetransmitDetector();
    d.startEpisode();
    d.noteRetransmit(1000, 2000);
    d.noteRetransmit(5000, 6000);
    expect(d.onDsack(block(7000, 8000))).toBe("none"); // never retransmitted: a network dup
    expect(d.onDsack(block(1000, 2000))).toBe("spurious");
    expect(d.onDsack(block(1000, 2000))).toBe("none"); // the same range twice: once
    expect(d.onDsack(block(5000, 5500))).toBe("episode-spurious");
    d.startEpisode();
    expect(d.onDsack(block(5000, 6000))).toBe("none"); // a new episode forgets the old one
  });

  test("a loss probe's episode counts a D-SACKed probe but undoes nothing (no response was made)", () => {
    const d = new SpuriousRetransmitDetector();
    d.startEpisode(false);
    d.noteRetransmit(9000, 10_000);
    expect(d.onDsack(block(9000, 10_000))).toBe("spurious");
  });

  test("an episode judged by Eifel counts nothing more", () => {
    const d = new SpuriousRetransmitDetector();
    d.startEpisode();
    d.noteRetransmit(1000, 2000);
    d.endEpisode();
    d.noteRetransmit(2000, 3000);
    expect(d.onDsack(block(1000, 2000))).toBe("none");
    expect(d.onDsack(block(2000, 3000))).toBe("none");
  });
});

/**
 * Established with SACK on (no timestamps): peer MSS 1000. RFC 6675 loss detection (RACK
 * off), so that the third duplicate ACK, not the clock, starts recovery.
 */
function established(): { h: ReturnType<typeof harness>; conn: Tcb } {
  const h = harness({ sack: true, rack: false });
  h.listener = h.tcp.listen(0, 80, 8);
  arrive(h, seg({ flags: "S", seq: IRS, options: { sackPermitted: true, mss: 1000 } }));
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
  const conn = [...h.tcp.connections()][0] as Tcb;
  expect(conn.sackEnabled).toBe(true);
  h.sent.length = 0;
  return { h, conn };
}

const RCV = IRS + 1; // the peer's first data byte

describe("segment level: the receiver's D-SACK", () => {
  test("a segment wholly below RCV.NXT is answered at once with a D-SACK of it", () => {
    const { h, conn } = established();
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    arrive(h, seg({ flags: "A", seq: RCV + 10, ack: ISS + 1, data: "abcdefghij" }));
    expectSent(h, { flags: "A", ack: RCV + 20, options: {} }); // every second segment
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    const ack = expectSent(h, { flags: "A", ack: RCV + 20 });
    expect(ack.options.sackBlocks).toEqual([block(RCV, RCV + 10)]);
    expect(h.stats.get("tcpDsackSent")).toBe(1);
    expect(conn.info(h.now).dsackSent).toBe(1); // and in the connection's TCP_INFO
    // The next ACK carries no SACK option: each duplicate is reported once.
    arrive(h, seg({ flags: "A", seq: RCV + 20, ack: ISS + 1, data: "x" }));
    arrive(h, seg({ flags: "A", seq: RCV + 21, ack: ISS + 1, data: "y" }));
    expect(expectSent(h, { flags: "A", ack: RCV + 22 }).options.sackBlocks).toBeUndefined();
  });

  test("a segment overlapping RCV.NXT reports the old part; the new part is taken", () => {
    const { h, conn } = established();
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "01234" }));
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    const ack = expectSent(h, { flags: "A", ack: RCV + 10 });
    expect(ack.options.sackBlocks).toEqual([block(RCV, RCV + 5)]);
    expect(conn.readableBytes).toBe(10);
  });

  test("a duplicate of held out-of-order data: D-SACK, then the range holding it", () => {
    const { h } = established();
    arrive(h, seg({ flags: "A", seq: RCV + 10, ack: ISS + 1, data: "abcdefghij" }));
    arrive(h, seg({ flags: "A", seq: RCV + 30, ack: ISS + 1, data: "ABCDEFGHIJ" }));
    h.sent.length = 0;
    arrive(h, seg({ flags: "A", seq: RCV + 15, ack: ISS + 1, data: "fghijKLMNO" }));
    const ack = expectSent(h, { flags: "A", ack: RCV });
    expect(ack.options.sackBlocks).toEqual([
      block(RCV + 15, RCV + 20),
      block(RCV + 10, RCV + 25),
      block(RCV + 30, RCV + 40),
    ]);
    expectNothingSent(h);
  });

  test("no D-SACK when TcpConfig.dsack is off", () => {
    const h = harness({ sack: true, dsack: false });
    h.listener = h.tcp.listen(0, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS, options: { sackPermitted: true } }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    h.sent.length = 0;
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    expect(expectSent(h, { flags: "A", ack: RCV + 10 }).options.sackBlocks).toBeUndefined();
  });

  test("no D-SACK without SACK negotiated", () => {
    const h = harness({ sack: true });
    h.listener = h.tcp.listen(0, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    h.sent.length = 0;
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1, data: "0123456789" }));
    expect(expectSent(h, { flags: "A", ack: RCV + 10 }).options.sackBlocks).toBeUndefined();
    expect(h.stats.get("tcpDsackSent")).toBe(0);
  });
});

describe("segment level: the sender's use of D-SACKs (RFC 2883 §5, RFC 3708)", () => {
  /** Ten 1000-byte segments out; the peer SACKs 2..9 so segment 1 is fast-retransmitted. */
  function fastRetransmitFirst() {
    const { h, conn } = established();
    conn.send(new Uint8Array(10_000), h.now);
    poll(h);
    expect(h.sent.length).toBe(10);
    h.sent.length = 0;
    const cwndBefore = conn.cc.cwnd;
    const data = ISS + 1;
    for (const right of [2, 3, 4]) {
      const sackBlocks = [block(data + 1000, data + right * 1000)];
      arrive(h, seg({ flags: "A", seq: RCV, ack: data, options: { sackBlocks } }));
    }
    expect(conn.cc.inRecovery).toBe(true);
    expectSent(h, { flags: "A", seq: data, data: 1000 }); // the fast retransmit
    expect(conn.cc.cwnd).toBeLessThan(cwndBefore);
    return { h, conn, data, cwndBefore };
  }

  test("a D-SACK of the fast retransmit counts it spurious and undoes the reduction", () => {
    const { h, conn, data, cwndBefore } = fastRetransmitFirst();
    // The original was only late: everything is acknowledged, and the retransmission
    // arrives as a duplicate, reported below the cumulative ACK.
    arrive(h, seg({ flags: "A", seq: RCV, ack: data + 10_000 }));
    expect(conn.counters.spuriousRetrans).toBe(0);
    const sackBlocks = [block(data, data + 1000)];
    arrive(h, seg({ flags: "A", seq: RCV, ack: data + 10_000, options: { sackBlocks } }));
    expect(conn.counters.spuriousRetrans).toBe(1);
    expect(h.stats.get("tcpDsackRecv")).toBe(1);
    expect(h.stats.get("tcpDsackUndo")).toBe(1);
    expect(conn.cc.cwnd).toBe(cwndBefore);
  });

  test("a D-SACK of data never retransmitted (a network duplicate) proves nothing", () => {
    const { h, conn, data } = fastRetransmitFirst();
    arrive(h, seg({ flags: "A", seq: RCV, ack: data + 10_000 }));
    const cwnd = conn.cc.cwnd;
    const sackBlocks = [block(data + 3000, data + 4000)];
    arrive(h, seg({ flags: "A", seq: RCV, ack: data + 10_000, options: { sackBlocks } }));
    expect(h.stats.get("tcpDsackRecv")).toBe(1);
    expect(conn.counters.spuriousRetrans).toBe(0);
    expect(conn.cc.cwnd).toBe(cwnd);
  });
});
