/**
 * RACK-TLP's parts alone: the per-segment records (RFC 8985 §5.2) against a byte model,
 * RACK's loss rule and reordering window (§6.2 steps 3–5), TLP's PTO and its ACK
 * processing (§7.2, §7.4.2).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createCongestionController } from "../../../../stack/tcp/congestion/controller.ts";
import { Rack, type RackAck } from "../../../../stack/tcp/rack/rack.ts";
import { type SentSegment, SentSegments } from "../../../../stack/tcp/rack/sent_segments.ts";
import { TailLossProbe, TLP_MAX_ACK_DELAY_MS } from "../../../../stack/tcp/rack/tlp.ts";
import { seqAdd, seqDiff } from "../../../../stack/tcp/seq.ts";

const MSS_UNIT = 1000;

interface ByteState {
  xmitTs: number;
  retransmitted: boolean;
  lost: boolean;
  sacked: boolean;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant("new" as const), length: fc.integer({ min: 1, max: 30 }) }),
  fc.record({
    kind: fc.constant("resend" as const),
    at: fc.nat(200),
    length: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({ kind: fc.constant("sack" as const), at: fc.nat(200), length: fc.nat(40) }),
  fc.record({ kind: fc.constant("ack" as const), length: fc.nat(40) }),
  fc.record({ kind: fc.constant("lose" as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 5 }) }),
);

describe("SentSegments (RFC 8985 §5.2) against a byte-by-byte model", () => {
  test("records tile [SND.UNA, SND.MAX) and carry each byte's marks; totals and deliveries agree", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.array(op, { maxLength: 60 }),
        (base, ops) => {
          const sent = new SentSegments();
          const model: ByteState[] = []; // model[i] is byte una + i
          let una = base;
          let now = 0;
          for (const o of ops) {
            const max = seqAdd(una, model.length);
            const out: SentSegment[] = [];
            const delivered = () => out.reduce((sum, r) => sum + seqDiff(r.end, r.seq), 0);
            if (o.kind === "tick") now += o.ms;
            if (o.kind === "new") {
              sent.onTransmit(max, seqAdd(max, o.length), now);
              for (let i = 0; i < o.length; i++)
                model.push({ xmitTs: now, retransmitted: false, lost: false, sacked: false });
            }
            if (o.kind === "resend" && model.length > 0) {
              const at = o.at % model.length;
              const end = Math.min(model.length, at + o.length);
              sent.onTransmit(seqAdd(una, at), seqAdd(una, end), now);
              for (let i = at; i < end; i++)
                Object.assign(model[i]!, { xmitTs: now, retransmitted: true, lost: false });
            }
            if (o.kind === "sack" && model.length > 0) {
              const at = o.at % model.length;
              const end = Math.min(model.length, at + o.length);
              let expected = 0;
              for (let i = at; i < end; i++) {
                if (!model[i]!.sacked) expected++;
                Object.assign(model[i]!, { sacked: true, lost: false });
              }
              sent.onSack(seqAdd(una, at), seqAdd(una, end), out);
              expect(delivered()).toBe(expected);
            }
            if (o.kind === "ack") {
              const n = Math.min(o.length, model.length);
              const expected = model.slice(0, n).filter((b) => !b.sacked).length;
              una = seqAdd(una, n);
              model.splice(0, n);
              sent.onCumulativeAck(una, out);
              expect(delivered()).toBe(expected);
            }
            if (o.kind === "lose") {
              const records = [...sent.records()];
              const r = records[o.index % Math.max(1, records.length)];
              if (r !== undefined) {
                const from = seqDiff(r.seq, una);
                for (let i = from; i < from + seqDiff(r.end, r.seq); i++)
                  if (!model[i]!.sacked) model[i]!.lost = true;
                sent.markLost(r);
              }
            }
            // The records tile the outstanding bytes, in order, each byte with its marks.
            let at = una;
            for (const r of sent.records()) {
              expect(r.seq).toBe(at);
              for (let s = r.seq; s !== r.end; s = seqAdd(s, 1)) {
                const b = model[seqDiff(s, una)]!;
                expect([r.xmitTs, r.retransmitted, r.lost, r.sacked]).toEqual([
                  b.xmitTs,
                  b.retransmitted,
                  b.lost,
                  b.sacked,
                ]);
              }
              at = r.end;
            }
            expect(seqDiff(at, una)).toBe(model.length);
            expect(sent.sackedBytes).toBe(model.filter((b) => b.sacked).length);
            expect(sent.lostBytes).toBe(model.filter((b) => b.lost).length);
          }
        },
      ),
    );
  });

  test("a burst sent in one millisecond is one record; a retransmission in between splits it", () => {
    const sent = new SentSegments();
    sent.onTransmit(0, 1000, 5);
    sent.onTransmit(1000, 2000, 5);
    expect(sent.size).toBe(1);
    sent.onTransmit(0, 500, 5); // resent: a record of its own, in the same millisecond
    sent.onTransmit(2000, 3000, 5);
    expect([...sent.records()].map((r) => [r.seq, r.end, r.retransmitted])).toEqual([
      [0, 500, true],
      [500, 2000, false],
      [2000, 3000, false],
    ]);
    const [resent, , after] = [...sent.records()];
    expect(after!.order).toBeGreaterThan(resent!.order); // sent after the retransmission
  });
});

/** A RACK ACK event with defaults: no D-SACK, not in recovery, nothing SACKed. */
function ackOf(now: number, delivered: SentSegment[], extra: Partial<RackAck> = {}): RackAck {
  return {
    now,
    delivered,
    tsEcr: undefined,
    tsOffset: 0,
    dsack: false,
    sndUna: 0,
    sndNxt: 100_000,
    inRecovery: false,
    segsSacked: 0,
    srttMs: 100,
    ...extra,
  };
}

describe("RACK (RFC 8985 §6.2)", () => {
  /** Ten 1000-byte segments sent 1 ms apart from t = 0. */
  function flight(): SentSegments {
    const sent = new SentSegments();
    for (let i = 0; i < 10; i++) sent.onTransmit(i * 1000, (i + 1) * 1000, i);
    return sent;
  }

  test("step 5: lost once Segment.xmit_ts + RACK.rtt + RACK.reo_wnd ≤ now, else the timer waits", () => {
    const sent = flight();
    const rack = new Rack();
    rack.minRtt = 40;
    // Segment 5 (sent at 5) is SACKed at 45: RACK.rtt = 40, reo_wnd = min_RTT/4 = 10.
    const delivered: SentSegment[] = [];
    sent.onSack(5000, 6000, delivered);
    rack.onAck(ackOf(45, delivered, { segsSacked: 1 }));
    expect([rack.rtt, rack.reoWnd]).toEqual([40, 10]);
    // Segment i (sent at i) is lost at i + 50: none yet at 45; the timer waits for the last.
    expect(rack.detectLoss(sent, 45)).toBe(4 + 50 - 45);
    expect(rack.marked).toBe(false);
    const later = rack.detectLoss(sent, 52);
    expect(rack.marked).toBe(true);
    expect([...sent.records()].filter((r) => r.lost).map((r) => r.seq)).toEqual([0, 1000, 2000]);
    expect(later).toBe(4 + 50 - 52);
    // Segments sent after RACK.segment are never marked by it.
    expect([...sent.records()].some((r) => r.lost && r.seq > 5000)).toBe(false);
  });

  test("step 4: no window while nothing was reordered and DupThresh segments are SACKed, or in recovery", () => {
    const rack = new Rack();
    rack.minRtt = 40;
    rack.onAck(ackOf(50, [], { segsSacked: 3 }));
    expect(rack.reoWnd).toBe(0);
    rack.onAck(ackOf(50, [], { inRecovery: true }));
    expect(rack.reoWnd).toBe(0);
    rack.reorderingSeen = true;
    rack.onAck(ackOf(50, [], { segsSacked: 3, inRecovery: true }));
    expect(rack.reoWnd).toBe(10);
  });

  test("step 4: each round with a D-SACK widens the window by min_RTT/4, up to SRTT, for 16 recoveries", () => {
    const rack = new Rack();
    rack.minRtt = 40;
    rack.reorderingSeen = true;
    rack.onAck(ackOf(50, [], { dsack: true, sndUna: 0, sndNxt: 10_000 }));
    expect(rack.reoWnd).toBe(20);
    rack.onAck(ackOf(51, [], { dsack: true, sndUna: 5000 })); // the same round: no more
    expect(rack.reoWnd).toBe(20);
    rack.onAck(ackOf(90, [], { dsack: true, sndUna: 10_000, sndNxt: 20_000 })); // next round
    expect(rack.reoWnd).toBe(30);
    for (let i = 0; i < 20; i++) {
      const sndUna = 40_000 + 10_000 * i; // every ACK in a new round
      rack.onAck(ackOf(100, [], { dsack: true, sndUna, sndNxt: sndUna + 10_000 }));
    }
    expect(rack.reoWnd).toBe(100); // capped at SRTT
    for (let i = 0; i < 15; i++) rack.onRecoveryExit();
    rack.onAck(ackOf(200, [], { sndUna: 50_000 }));
    expect(rack.reoWnd).toBe(100);
    rack.onRecoveryExit(); // the 16th recovery without a D-SACK round
    rack.onAck(ackOf(200, [], { sndUna: 50_000 }));
    expect(rack.reoWnd).toBe(10);
  });

  test("step 2: an ACK that may be for an earlier transmission of a retransmitted segment is not used", () => {
    const sent = flight();
    sent.onTransmit(0, 1000, 30); // segment 0 resent at 30
    const rack = new Rack();
    rack.minRtt = 40;
    const delivered: SentSegment[] = [];
    sent.onCumulativeAck(1000, delivered);
    rack.onAck(ackOf(35, delivered)); // 5 ms after the resend: less than min_RTT
    expect(rack.xmitTs).toBe(Number.NEGATIVE_INFINITY);
    rack.onAck(ackOf(75, delivered, { tsEcr: 29 })); // echoes a TSval from before 30
    expect(rack.xmitTs).toBe(Number.NEGATIVE_INFINITY);
    rack.onAck(ackOf(75, delivered));
    expect([rack.xmitTs, rack.rtt]).toEqual([30, 45]);
  });

  test("step 3: a never-retransmitted segment delivered below RACK.fack is reordering", () => {
    const sent = flight();
    const rack = new Rack();
    const d1: SentSegment[] = [];
    sent.onSack(3000, 4000, d1);
    rack.onAck(ackOf(50, d1));
    expect(rack.reorderingSeen).toBe(false);
    const d2: SentSegment[] = [];
    sent.onCumulativeAck(1000, d2);
    rack.onAck(ackOf(51, d2));
    expect(rack.reorderingSeen).toBe(true);
  });
});

describe("the controller's response to a lost retransmission (RFC 8985 §9.3 without PRR)", () => {
  test("in SACK recovery: a second reduction, recover moved to SND.MAX; outside it: nothing", () => {
    const cc = createCongestionController("newreno", { mss: MSS_UNIT, now: 0, sack: true });
    const loss = { now: 1, sndUna: 0, sndMax: 20 * MSS_UNIT, bytesInFlight: 20 * MSS_UNIT };
    cc.onRetransmissionLost(loss);
    expect(cc.inRecovery).toBe(false);
    expect(cc.cwnd).toBe(10 * MSS_UNIT); // the initial window, untouched
    expect(cc.onLossDetected(loss)).toBe(true);
    expect([cc.ssthresh, cc.cwnd]).toEqual([10 * MSS_UNIT, 10 * MSS_UNIT]); // FlightSize/2
    cc.onRetransmissionLost({
      ...loss,
      now: 2,
      sndMax: 25 * MSS_UNIT,
      bytesInFlight: 10 * MSS_UNIT,
    });
    expect([cc.ssthresh, cc.cwnd]).toEqual([5 * MSS_UNIT, 5 * MSS_UNIT]);
    expect(cc.recover).toBe(25 * MSS_UNIT);
    expect(cc.inRecovery).toBe(true);
  });
});

describe("TLP (RFC 8985 §7)", () => {
  test("§7.2: PTO = 2·SRTT, + max_ack_delay for one segment, 1 s without SRTT", () => {
    const tlp = new TailLossProbe();
    expect(tlp.ptoMs(30, false)).toBe(60);
    expect(tlp.ptoMs(30, true)).toBe(60 + TLP_MAX_ACK_DELAY_MS);
    expect(tlp.ptoMs(undefined, false)).toBe(1000);
  });

  test("§7.4.2: a repaired single loss, or evidence that the probe was not needed", () => {
    const tlp = new TailLossProbe();
    tlp.endSeq = 5000;
    tlp.isRetrans = true;
    expect(tlp.onAck(4000, undefined, false)).toBe("none"); // below TLP.end_seq
    expect(tlp.onAck(5000, undefined, false)).toBe("none"); // may still see a D-SACK
    expect(tlp.onAck(5000, 5000, false)).toBe("done"); // Case 1: D-SACK of the probe
    tlp.endSeq = 5000;
    expect(tlp.onAck(5000, undefined, true)).toBe("done"); // Case 2: a plain duplicate ACK
    tlp.endSeq = 5000;
    expect(tlp.onAck(6000, undefined, false)).toBe("loss-repaired");
    expect(tlp.endSeq).toBeUndefined();
    tlp.endSeq = 5000;
    tlp.isRetrans = false;
    expect(tlp.onAck(5000, undefined, false)).toBe("done"); // a probe of new data delivered
  });
});
