/**
 * A hostile or broken peer, segment by segment: an established connection with every
 * mechanism on (window scaling, timestamps, SACK, RACK-TLP, PRR, D-SACK) and data in
 * flight both ways receives arbitrary segments (any flags; sequence and acknowledgment
 * numbers mostly near RCV.NXT and SND.UNA, sometimes far, now and then anywhere; any
 * window; timestamps old and new; SACK blocks that make sense and that do not), interleaved with time passing and the application
 * reading and writing. Nothing may throw, the TCB's sequence variables must stay
 * ordered, and every queue a peer can fill must stay within its bound.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { seqDiff, seqLe } from "../../../stack/tcp/seq.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { advance, arrive, harness, IRS, ISS, poll, seg } from "../../helpers/tcp_segments.ts";

const PEER_SHIFT = 7;
const PEER_TS = 50_000;
/** Property runs (HOSTILE_RUNS overrides, for a longer hunt). */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 200);

/** Established with every option, 200 KB queued to send and some already in flight. */
function established() {
  const h = harness({ sack: true, timestamps: true, windowScale: true });
  h.listener = h.tcp.listen(0, 80, 8);
  const options = {
    mss: 1000,
    sackPermitted: true,
    windowScale: PEER_SHIFT,
    timestamp: { value: PEER_TS, echo: 0 },
  };
  arrive(h, seg({ flags: "S", seq: IRS, options }));
  const synAck = h.sent.shift()!;
  const echo = synAck.options.timestamp!.value;
  arrive(
    h,
    seg({
      flags: "A",
      seq: IRS + 1,
      ack: ISS + 1,
      wnd: 1024, // 128 KiB at the peer's shift
      options: { timestamp: { value: PEER_TS + 1, echo } },
    }),
  );
  const conn = h.listener.accept() as Tcb;
  conn.send(new Uint8Array(200_000).fill(0x61), h.now);
  poll(h);
  h.sent.length = 0;
  return { h, conn, echo };
}

/**
 * An offset from a base (RCV.NXT, SND.UNA): often none, mostly just below or inside a
 * window of `span` bytes, where a genuine segment would be; sometimes well outside it;
 * now and then anywhere.
 */
const near = (span: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: -2000, max: span }) },
    { weight: 2, arbitrary: fc.integer({ min: -3 * span, max: 3 * span }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  );

const sackBlock = fc.record({ left: near(20_000), length: near(10_000) });

const segmentAction = fc.record({
  kind: fc.constant("segment" as const),
  // ACK on most segments; a RST or SYN now and then (each ends or challenges the run).
  flags: fc
    .record({
      ack: fc.integer({ min: 0, max: 9 }).map((n) => (n === 0 ? "" : "A")),
      syn: fc.integer({ min: 0, max: 19 }).map((n) => (n === 0 ? "S" : "")),
      rst: fc.integer({ min: 0, max: 19 }).map((n) => (n === 0 ? "R" : "")),
      fin: fc.integer({ min: 0, max: 9 }).map((n) => (n === 0 ? "F" : "")),
      psh: fc.boolean().map((b) => (b ? "P" : "")),
    })
    .map((f) => f.ack + f.syn + f.rst + f.fin + f.psh),
  seq: near(70_000), // from RCV.NXT
  ack: near(20_000), // from SND.UNA: the first flight is 10 segments
  wnd: fc.integer({ min: 0, max: 65535 }),
  dataLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1200 })),
  tsValue: fc.option(near(100_000), { nil: undefined, freq: 8 }),
  tsEcho: near(100_000),
  sack: fc.option(fc.array(sackBlock, { maxLength: 4 }), { nil: undefined }),
});

const action = fc.oneof(
  { weight: 50, arbitrary: segmentAction },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.nat(3000) }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("read" as const), bytes: fc.nat(100_000) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("write" as const), bytes: fc.nat(100_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const) }) },
);

/** What must hold after every step, whatever the peer sent. */
function checkInvariants(conn: Tcb, connectionCount: number): void {
  expect(connectionCount).toBeLessThanOrEqual(1);
  if (conn.closed) return;
  expect(seqLe(conn.sndUna, conn.sndNxt) && seqLe(conn.sndNxt, conn.sndMax)).toBe(true);
  expect(seqDiff(conn.sndMax, conn.sndUna)).toBeLessThanOrEqual(conn.sendBuffer.capacity + 2);
  expect(conn.recvBuffer.length).toBeLessThanOrEqual(conn.recvBuffer.capacity);
  expect(conn.sendBuffer.length).toBeLessThanOrEqual(conn.sendBuffer.capacity);
  // What the peer can make us hold: out-of-order bytes, SACK ranges, sent-segment records.
  expect(conn.reassembly.bytes).toBeLessThanOrEqual(conn.recvBuffer.capacity);
  expect(conn.board.ranges.length).toBeLessThanOrEqual(64);
  expect(conn.rackTlp.sent.size).toBeLessThanOrEqual(seqDiff(conn.sndMax, conn.sndUna) + 1);
  expect(Number.isFinite(conn.rtoMs) && conn.rtoMs > 0).toBe(true);
  expect(Number.isFinite(conn.cc.cwnd) && conn.cc.cwnd > 0).toBe(true);
}

describe("a hostile peer", () => {
  /** How far the runs got, so the property cannot pass by rejecting everything. */
  const reached = { runs: 0, openAtEnd: 0, ackAdvanced: 0, dataAccepted: 0 };

  test("property: arbitrary segments, time and application calls never throw or break the TCB's bounds", () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 30, maxLength: 150 }), (actions) => {
        const { h, conn, echo } = established();
        const into = new Uint8Array(100_000);
        const una = conn.sndUna;
        const rcvNxt = conn.rcvNxt;
        for (const a of actions) {
          if (a.kind === "segment") {
            arrive(
              h,
              seg({
                flags: a.flags,
                seq: (conn.rcvNxt + a.seq) >>> 0,
                ack: (conn.sndUna + a.ack) >>> 0,
                wnd: a.wnd,
                data: new Uint8Array(a.dataLength).fill(0x62),
                options: {
                  ...(a.tsValue === undefined
                    ? {}
                    : {
                        timestamp: {
                          value: (PEER_TS + a.tsValue) >>> 0,
                          echo: (echo + a.tsEcho) >>> 0,
                        },
                      }),
                  ...(a.sack === undefined
                    ? {}
                    : {
                        sackBlocks: a.sack.map((b) => ({
                          left: (conn.sndUna + b.left) >>> 0,
                          right: (conn.sndUna + b.left + b.length) >>> 0,
                        })),
                      }),
                },
              }),
            );
          } else if (a.kind === "wait") advance(h, a.ms);
          else if (a.kind === "read") conn.receive(into.subarray(0, a.bytes), h.now);
          else if (a.kind === "write") conn.send(new Uint8Array(a.bytes), h.now);
          else conn.close(h.now);
          poll(h);
          for (const sent of h.sent) expect(sent.checksumOk).toBe(true);
          h.sent.length = 0;
          checkInvariants(conn, h.tcp.connectionCount);
        }
        reached.runs++;
        if (!conn.closed) reached.openAtEnd++;
        if (conn.sndUna !== una) reached.ackAdvanced++;
        if (conn.rcvNxt !== rcvNxt) reached.dataAccepted++;
        // Left alone afterwards, the connection ends in bounded time or keeps a timer.
        advance(h, 30 * 60_000);
        h.sent.length = 0;
        checkInvariants(conn, h.tcp.connectionCount);
      }),
      { numRuns: RUNS },
    );
    // A good share of runs must have got past the sequence checks both ways.
    expect(reached.runs).toBe(RUNS);
    expect(reached.ackAdvanced).toBeGreaterThan(reached.runs / 4);
    expect(reached.dataAccepted).toBeGreaterThan(reached.runs / 4);
    expect(reached.openAtEnd).toBeGreaterThan(reached.runs / 4);
  }, 120_000);
});

describe("a hostile peer at a listener", () => {
  test("property: arbitrary segments from many ports, with SYN cookies in use, never throw; half-open and accept queues stay bounded", () => {
    // SYNs most often, so that the half-open table overflows and cookies are used.
    const flags = fc.oneof(
      { weight: 6, arbitrary: fc.constant("S") },
      {
        weight: 4,
        arbitrary: fc.constantFrom("A", "SA", "R", "F", "FA", "PA", "RA", "", "SF", "SR"),
      },
    );
    const segment = fc.record({
      flags,
      port: fc.integer({ min: 40000, max: 40015 }),
      seq: fc.nat(0xffffffff),
      // Near a cookie (our ISS range is unknown to the peer) and anywhere.
      ack: fc.nat(0xffffffff),
      wnd: fc.nat(65535),
      dataLength: fc.oneof(fc.constant(0), fc.nat(600)),
      options: fc.record(
        {
          mss: fc.nat(65535),
          windowScale: fc.nat(255),
          sackPermitted: fc.boolean(),
          timestamp: fc.record({ value: fc.nat(0xffffffff), echo: fc.nat(0xffffffff) }),
        },
        { requiredKeys: [] },
      ),
      waitMs: fc.nat(2000),
    });
    /** How far the runs got, so the property cannot pass without reaching the listener. */
    const reached = { cookiesSent: 0, cookiesAccepted: 0, established: 0 };
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 80 }), (segments) => {
        const h = harness({ sack: true, timestamps: true, windowScale: true, synBacklog: 2 });
        h.listener = h.tcp.listen(0, 80, 4);
        for (const s of segments) {
          arrive(
            h,
            seg({
              flags: s.flags,
              seq: s.seq,
              ack: s.ack,
              wnd: s.wnd,
              sourcePort: s.port,
              data: new Uint8Array(s.dataLength),
              options: s.options,
            }),
          );
          poll(h); // a half-open TCB's SYN-ACK goes out at the next poll
          // The peer sometimes completes what we offered: ACK our latest SYN-ACK.
          const synAck = h.sent.findLast((sent) => sent.flags === "SA");
          if (synAck !== undefined && s.wnd % 3 === 0) {
            const ts = synAck.options.timestamp;
            arrive(
              h,
              seg({
                flags: "A",
                seq: synAck.ack,
                ack: (synAck.seq + 1) >>> 0,
                sourcePort: s.port,
                options: ts === undefined ? {} : { timestamp: { value: 1, echo: ts.value } },
              }),
            );
          }
          h.sent.length = 0;
          advance(h, s.waitMs);
          h.sent.length = 0;
          // 16 ports: at most one TCB each; the accept queue holds at most its backlog.
          expect(h.tcp.connectionCount).toBeLessThanOrEqual(16);
          expect(h.listener.acceptQueueLength).toBeLessThanOrEqual(4);
        }
        reached.cookiesSent += h.stats.get("tcpSynCookiesSent");
        reached.cookiesAccepted += h.stats.get("tcpSynCookiesRecv");
        reached.established += h.stats.get("tcpPassiveOpens");
      }),
      { numRuns: RUNS },
    );
    expect(reached.cookiesSent).toBeGreaterThan(0);
    expect(reached.cookiesAccepted).toBeGreaterThan(0);
    expect(reached.established).toBeGreaterThan(0);
  }, 120_000);
});
