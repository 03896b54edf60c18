/**
 * RACK-TLP (RFC 8985) through the stack, segment by segment on the harness clock: a
 * tail loss repaired by a loss probe instead of a retransmission timeout (§7), reordering
 * inside the reordering window costing no retransmission (§6.2 steps 3–5), and a loss
 * found by the RACK reordering timer once the window has passed.
 *
 * The peer's MSS is 1000; SRTT and RACK.min_RTT are 20 ms from a first exchange, so
 * RACK.reo_wnd = min_RTT/4 = 5 ms and the PTO is 2·SRTT = 40 ms.
 */
import { describe, expect, test } from "bun:test";
import { TLP_MAX_ACK_DELAY_MS } from "../../../../stack/tcp/rack/tlp.ts";
import type { Tcb } from "../../../../stack/tcp/tcb.ts";
import type { TcpConfig } from "../../../../stack/tcp/tcp.ts";
import {
  advance,
  arrive,
  type Harness,
  harness,
  IRS,
  ISS,
  poll,
  seg,
} from "../../../helpers/tcp_segments.ts";
import { randomBytes, runOneWay } from "../../../helpers/tcp_transfer.ts";
import { twoHosts } from "../../../helpers/two_hosts.ts";

const MSS = 1000;
const RTT = 20;
const RCV = IRS + 1;

/** Established with SACK, one segment exchanged RTT ms apart; returns where data goes on. */
function connected(config: Partial<TcpConfig> = {}): { h: Harness; conn: Tcb; base: number } {
  const h = harness({ sack: true, ...config });
  h.listener = h.tcp.listen(0, 80, 8);
  arrive(h, seg({ flags: "S", seq: IRS, options: { sackPermitted: true, mss: MSS } }));
  advance(h, RTT);
  arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1 }));
  const conn = [...h.tcp.connections()][0] as Tcb;
  conn.send(new Uint8Array(MSS), h.now);
  poll(h);
  advance(h, RTT);
  arrive(h, seg({ flags: "A", seq: RCV, ack: ISS + 1 + MSS }));
  expect(conn.srttMs).toBe(RTT);
  h.sent.length = 0;
  return { h, conn, base: ISS + 1 + MSS };
}

/** Sends `n` segments now; returns their sequence numbers. */
function sendSegments(h: Harness, conn: Tcb, n: number): number[] {
  const start = conn.sndMax;
  conn.send(new Uint8Array(n * MSS), h.now);
  poll(h);
  expect(h.sent.map((s) => s.seq)).toEqual(Array.from({ length: n }, (_, i) => start + i * MSS));
  h.sent.length = 0;
  return Array.from({ length: n }, (_, i) => start + i * MSS);
}

/** The peer's ACK of everything below `ack`, SACKing [left, right) if given. */
function ackFromPeer(h: Harness, ack: number, sack?: [number, number]): void {
  const options = sack === undefined ? {} : { sackBlocks: [{ left: sack[0], right: sack[1] }] };
  arrive(h, seg({ flags: "A", seq: RCV, ack, options }));
}

/** Data segments sent since the last call, as indexes into `segments`. */
function resent(h: Harness, segments: number[]): number[] {
  const out = h.sent.filter((s) => s.data.length > 0).map((s) => segments.indexOf(s.seq));
  h.sent.length = 0;
  return out;
}

describe("TLP (RFC 8985 §7): a tail loss", () => {
  function tailLoss(config: Partial<TcpConfig>) {
    const { h, conn, base } = connected(config);
    const segments = sendSegments(h, conn, 10);
    advance(h, RTT);
    ackFromPeer(h, segments[8]!); // segments 8 and 9 (the tail) were lost
    expect(resent(h, segments)).toEqual([]);
    return { h, conn, base, segments };
  }

  test("is repaired by a probe and RACK, without a retransmission timeout", () => {
    const { h, conn, segments } = tailLoss({});
    // §7.2: PTO = 2·SRTT after the ACK; nothing new to send, so the probe is the last
    // segment again (§7.3).
    advance(h, 2 * RTT - 1);
    expect(resent(h, segments)).toEqual([]);
    advance(h, 1);
    expect(resent(h, segments)).toEqual([9]);
    expect(h.stats.get("tcpLossProbes")).toBe(1);
    // The probe's SACK makes RACK see segment 8, sent before it, as lost (§7.4.1).
    advance(h, RTT);
    ackFromPeer(h, segments[8]!, [segments[9]!, segments[9]! + MSS]);
    expect(resent(h, segments)).toEqual([8]);
    expect(conn.cc.inRecovery).toBe(true);
    advance(h, RTT);
    ackFromPeer(h, segments[9]! + MSS);
    expect(conn.sndUna).toBe(conn.sndMax);
    expect(conn.cc.inRecovery).toBe(false);
    expect(h.stats.get("tcpTimeouts")).toBe(0);
    // The connection's own counters (TCP_INFO) say the same.
    expect(conn.info(h.now)).toMatchObject({ lossProbes: 1, rackLossMarks: 1, timeouts: 0 });
  });

  test("a probe that was not needed: its D-SACK ends the episode, no congestion response (§7.4.2)", () => {
    const { h, conn, segments } = tailLoss({});
    advance(h, 2 * RTT);
    expect(resent(h, segments)).toEqual([9]);
    const cwnd = conn.cc.cwnd;
    // The tail was only late: everything is acknowledged, then the probe arrives again.
    const end = segments[9]! + MSS;
    ackFromPeer(h, end);
    expect(conn.rackTlp.tlp.endSeq).toBe(end); // waiting: the probe may still be reported
    ackFromPeer(h, end, [segments[9]!, end]); // D-SACK (Case 1)
    expect(conn.rackTlp.tlp.endSeq).toBeUndefined();
    expect(h.stats.get("tcpLossProbeRecovery")).toBe(0);
    expect(conn.counters.spuriousRetrans).toBe(1);
    expect(conn.info(h.now)).toMatchObject({ dsackRecv: 1, lossProbes: 1 });
    expect(conn.cc.inRecovery).toBe(false);
    expect(conn.cc.cwnd).toBeGreaterThanOrEqual(cwnd);
  });

  test("a probe that repaired the only loss gets a congestion response (§7.4.2)", () => {
    const { h, conn } = connected({});
    const segments = sendSegments(h, conn, 10);
    advance(h, RTT);
    ackFromPeer(h, segments[9]!); // only the last segment was lost
    // One segment in flight: PTO = 2·SRTT + TLP.max_ack_delay, but never after the RTO
    // would fire (§7.2); when both are due, the probe goes and the RTO is re-armed (§7.3).
    expect(2 * RTT + TLP_MAX_ACK_DELAY_MS).toBeGreaterThan(conn.rtoMs);
    advance(h, conn.rtoMs - 1);
    expect(resent(h, segments)).toEqual([]);
    advance(h, 1);
    expect(resent(h, segments)).toEqual([9]); // the probe repairs it
    expect(h.stats.get("tcpTimeouts")).toBe(0);
    advance(h, RTT);
    const end = segments[9]! + MSS;
    ackFromPeer(h, end); // a plain cumulative ACK: the probe may yet be D-SACKed
    expect(h.stats.get("tcpLossProbeRecovery")).toBe(0);
    const ssthresh = conn.cc.ssthresh;
    conn.send(new Uint8Array(MSS), h.now);
    poll(h);
    h.sent.length = 0;
    advance(h, RTT);
    ackFromPeer(h, end + MSS); // beyond TLP.end_seq, no D-SACK came: a loss was repaired
    expect(h.stats.get("tcpLossProbeRecovery")).toBe(1);
    expect(conn.cc.ssthresh).toBeLessThan(ssthresh);
  });

  test("without RACK-TLP (TcpConfig.rack off) it waits for the retransmission timeout", () => {
    const { h, conn, segments } = tailLoss({ rack: false });
    advance(h, conn.rtoMs - 1); // the ACK restarted the timer (RFC 6298 §5.3)
    expect(resent(h, segments)).toEqual([]);
    advance(h, 1);
    expect(resent(h, segments)).toEqual([8]);
    expect(h.stats.get("tcpTimeouts")).toBe(1);
    expect(h.stats.get("tcpLossProbes")).toBe(0);
  });

  test("the probe carries new data when there is some, and only one probe is outstanding", () => {
    const { h, conn, segments } = tailLoss({});
    // The application writes more, but the window is used up: nothing goes until the PTO.
    conn.send(new Uint8Array(MSS), h.now);
    poll(h);
    const before = h.sent.length;
    advance(h, 2 * RTT);
    const probe = h.sent.slice(before).filter((s) => s.data.length > 0);
    h.sent.length = 0;
    expect(probe.map((s) => s.seq)).toEqual([segments[9]! + MSS]);
    // The RTO, not another PTO, is armed after a probe (§7.3).
    advance(h, 2 * RTT);
    expect(resent(h, segments)).toEqual([]);
    expect(h.stats.get("tcpLossProbes")).toBe(1);
  });
});

describe("RACK (RFC 8985 §6.2): reordering and the reordering window", () => {
  test("a segment that arrives late but inside the window is not retransmitted", () => {
    const { h, conn, segments } = (() => {
      const c = connected({});
      return { ...c, segments: sendSegments(c.h, c.conn, 10) };
    })();
    // Segment 0 is overtaken by segment 1 ...
    advance(h, RTT);
    ackFromPeer(h, segments[0]!, [segments[1]!, segments[2]!]);
    // ... and arrives 2 ms later, inside reo_wnd = min_RTT/4 = 5 ms.
    advance(h, 2);
    ackFromPeer(h, segments[2]!);
    expect(conn.rackTlp.rack.reorderingSeen).toBe(true); // step 3: delivered below RACK.fack
    // Reordering seen, the window holds even with more than DupThresh segments SACKed
    // (step 4): segment 2 overtaken by 3, 4, 5 and 6, then delivered 3 ms later.
    ackFromPeer(h, segments[2]!, [segments[3]!, segments[7]!]);
    advance(h, 3);
    ackFromPeer(h, segments[7]!);
    advance(h, 10);
    expect(resent(h, segments)).toEqual([]);
    expect(conn.counters.retransSegs).toBe(0);
  });

  test("the same reordering makes RFC 6675 (RACK off) retransmit spuriously", () => {
    const { h, conn } = connected({ rack: false });
    const segments = sendSegments(h, conn, 10);
    advance(h, RTT);
    for (let k = 2; k <= 5; k++) ackFromPeer(h, segments[0]!, [segments[1]!, segments[k]!]);
    expect(resent(h, segments)).toEqual([0]); // IsLost after DupThresh segments SACKed
  });

  test("past the window the reordering timer marks the segment lost, with no further ACK", () => {
    const { h, conn } = connected({});
    const segments = sendSegments(h, conn, 10);
    advance(h, RTT);
    ackFromPeer(h, segments[0]!, [segments[1]!, segments[2]!]);
    // RACK.rtt = 20 ms, reo_wnd = 5 ms: segment 0 (sent with segment 1) is lost 5 ms on.
    expect(conn.rackTlp.rackAt).toBe(h.now + 5);
    advance(h, 4);
    expect(resent(h, segments)).toEqual([]);
    advance(h, 1);
    expect(resent(h, segments)).toEqual([0]);
    expect(conn.cc.inRecovery).toBe(true);
    expect(h.stats.get("tcpTimeouts")).toBe(0);
  });

  test("ssthresh comes from FlightSize at the first SACK, not from what the SACKs clocked out since", () => {
    // RFC 5681 §3.2 step 2 (and its limited-transmit rule): while RACK waits out the
    // reordering window, each SACK lets new data go (pipe excludes SACKed bytes).
    const { h, conn } = connected({ congestion: "cubic" });
    const segments = sendSegments(h, conn, 10);
    conn.send(new Uint8Array(20 * MSS), h.now);
    poll(h);
    h.sent.length = 0;
    advance(h, RTT);
    const flight = conn.flightBytes;
    for (let k = 2; k <= 3; k++) ackFromPeer(h, segments[0]!, [segments[1]!, segments[k]!]);
    expect(conn.flightBytes).toBeGreaterThan(flight); // new data clocked out by the SACKs
    expect(conn.cc.inRecovery).toBe(false);
    advance(h, 5); // reo_wnd: segment 0 is lost
    expect(conn.cc.inRecovery).toBe(true);
    expect(conn.cc.ssthresh).toBe(Math.floor(flight * 0.7)); // RFC 9438 β_cubic = 0.7
  });

  /** Segment 0 is lost, then its fast retransmission too; returns ssthresh at each step. */
  function lostRetransmission(config: Partial<TcpConfig>) {
    const { h, conn } = connected(config);
    const segments = sendSegments(h, conn, 10);
    conn.send(new Uint8Array(10 * MSS), h.now); // more to send, once the window allows
    poll(h);
    expect(h.sent).toEqual([]);
    advance(h, RTT);
    ackFromPeer(h, segments[0]!, [segments[1]!, segments[5]!]); // 4 SACKed: reo_wnd = 0
    const first = h.sent.filter((s) => s.data.length > 0).map((s) => s.seq);
    h.sent.length = 0;
    expect(first[0]).toBe(segments[0]!); // the fast retransmit, then new data
    expect(first.length).toBeGreaterThan(1);
    const ssthreshAtEntry = conn.cc.ssthresh;
    // The retransmission is lost; what was sent after it is SACKed one RTT later.
    advance(h, RTT);
    ackFromPeer(h, segments[0]!, [segments[1]!, conn.sndMax]);
    const again = h.sent.filter((s) => s.data.length > 0).map((s) => s.seq);
    expect(again[0]).toBe(segments[0]!);
    expect(h.stats.get("tcpTimeouts")).toBe(0);
    return { h, ssthreshAtEntry, ssthresh: conn.cc.ssthresh };
  }

  test("a lost retransmission is found by time, and resent without a timeout (PRR paces it)", () => {
    const { h, ssthreshAtEntry, ssthresh } = lostRetransmission({});
    expect(ssthresh).toBe(ssthreshAtEntry);
    expect(h.stats.get("tcpLostRetransmitResponses")).toBe(0);
  });

  test("without PRR, a lost retransmission lowers ssthresh a second time (§9.3, RFC 5681 §4.3)", () => {
    const { h, ssthreshAtEntry, ssthresh } = lostRetransmission({ prr: false });
    expect(ssthresh).toBeLessThan(ssthreshAtEntry);
    expect(h.stats.get("tcpLostRetransmitResponses")).toBe(1);
  });
});

describe("end to end: two stacks, the tail of a transfer lost once", () => {
  /** A sends `segments` full segments to B; A's first transmissions of `drop` are lost. */
  function transfer(config: Partial<TcpConfig>, segments: number, drop: readonly number[]) {
    const hosts = twoHosts({ seed: 3, faults: { delayMs: 10 }, tcpA: config, tcpB: config });
    const original = hosts.a.stack.transmit;
    const seen = new Set<number>();
    hosts.a.stack.transmit = (packet) => {
      const ihl = (packet[0]! & 0x0f) * 4;
      const view = new DataView(packet.buffer, packet.byteOffset);
      const dataLength = view.getUint16(2) - ihl - (packet[ihl + 12]! >>> 4) * 4;
      if (packet[9] === 6 && dataLength > 0) {
        const seq = view.getUint32(ihl + 4);
        const first = !seen.has(seq);
        seen.add(seq);
        if (first && drop.includes(seen.size)) return;
      }
      original(packet);
    };
    const data = randomBytes(9, segments * 1448);
    const result = runOneWay(hosts, data, { chunk: data.length, stepMs: 1, limitMs: 60_000 });
    expect(Buffer.from(result.receivedByB).equals(Buffer.from(data))).toBe(true);
    return { stats: hosts.a.stack.stats, elapsedMs: result.elapsedMs };
  }

  test("RACK-TLP: the probe finds the loss, no timeout; without it, a timeout", () => {
    const withTlp = transfer({}, 30, [29, 30]);
    expect(withTlp.stats.get("tcpTimeouts")).toBe(0);
    expect(withTlp.stats.get("tcpLossProbes")).toBeGreaterThanOrEqual(1);
    const without = transfer({ rack: false }, 30, [29, 30]);
    expect(without.stats.get("tcpTimeouts")).toBeGreaterThanOrEqual(1);
    expect(withTlp.elapsedMs).toBeLessThan(without.elapsedMs);
  });
});

describe("end to end: two stacks over a link that reorders (2 % of packets held 4 ms), no loss", () => {
  /** Spurious retransmissions (shown by the receiver's D-SACKs) over three seeded runs. */
  function spurious(config: Partial<TcpConfig>): { spurious: number; retransmitted: number } {
    let total = { spurious: 0, retransmitted: 0 };
    for (let seed = 1; seed <= 3; seed++) {
      const faults = { reorder: 0.02, reorderDelayMs: 4, delayMs: 10 };
      const hosts = twoHosts({ seed, faults, tcpA: config, tcpB: config });
      const data = randomBytes(seed, 1e6);
      const result = runOneWay(hosts, data, {
        chunk: 1 << 20,
        stepMs: 1,
        limitMs: 60_000,
        bufferBytes: 1 << 20,
      });
      expect(Buffer.from(result.receivedByB).equals(Buffer.from(data))).toBe(true);
      const stats = hosts.a.stack.stats;
      expect(stats.get("tcpTimeouts")).toBe(0);
      total = {
        spurious: total.spurious + stats.get("tcpSpuriousRetrans"),
        retransmitted: total.retransmitted + stats.get("tcpRetransSegs"),
      };
    }
    return total;
  }

  test("RACK retransmits spuriously only before it has seen reordering; RFC 6675 keeps doing so", () => {
    const rack = spurious({});
    const dupThresh = spurious({ rack: false });
    // Nothing is lost, so every retransmission is spurious, and D-SACK shows it.
    expect(dupThresh.spurious).toBeGreaterThan(0);
    expect(rack.retransmitted).toBeLessThanOrEqual(2 * 3); // the first events, before step 3
    expect(rack.retransmitted).toBeLessThan(dupThresh.retransmitted / 4);
  });
});
