/**
 * Proportional Rate Reduction (RFC 6937): the amounts sent per ACK during SACK recovery,
 * against the RFC's rules, alone (congestion/prr.ts) and through the stack.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ProportionalRateReduction } from "../../../../stack/tcp/congestion/prr.ts";
import type { Tcb } from "../../../../stack/tcp/tcb.ts";
import type { TcpConfig } from "../../../../stack/tcp/tcp.ts";
import { arrive, harness, IRS, ISS, poll, seg } from "../../../helpers/tcp_segments.ts";

const MSS = 1000;

/**
 * RFC 6675's sending loop against PRR's cwnd: whole segments while cwnd − pipe ≥ SMSS.
 * Returns the segments sent and the new pipe.
 */
function send(prr: ProportionalRateReduction, pipe: number): { sent: number; pipe: number } {
  let sent = 0;
  while (prr.cwnd - pipe >= MSS) {
    prr.onSent(MSS);
    pipe += MSS;
    sent++;
  }
  return { sent, pipe };
}

describe("RFC 6937 §5's example: one loss in a window of 20, Reno (ssthresh = 10)", () => {
  test("PRR sends one segment on every other ACK, and pipe ends at ssthresh", () => {
    // Segment 0 lost; the third duplicate ACK (segments 1–3 SACKed) starts recovery and
    // the fast retransmit goes. pipe = 20 − 3 SACKed − 1 lost + 1 retransmitted.
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS, 10 * MSS);
    prr.onSent(MSS); // the fast retransmit
    let pipe = 17 * MSS;
    prr.onAck(MSS, pipe, 10 * MSS, MSS); // the ACK that began recovery delivered one segment
    expect(send(prr, pipe).sent).toBe(0);
    const sends: number[] = [];
    for (let ack = 1; ack <= 16; ack++) {
      pipe -= MSS; // each further ACK SACKs one more of segments 4–19
      prr.onAck(MSS, pipe, 10 * MSS, MSS);
      const out = send(prr, pipe);
      sends.push(out.sent);
      pipe = out.pipe;
    }
    // Proportional part: half of what is delivered (ssthresh/RecoverFS = 1/2): sndcnt =
    // ⌈prr_delivered · 1/2⌉ − prr_out in bytes, so a segment goes when that reaches SMSS
    // (ACKs 3, 5, 7, 9); at ACK 11 pipe has come down to ssthresh, and from then on one
    // segment goes per segment delivered. In all, ssthresh = 10 segments went out.
    expect(sends).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1]);
    expect(pipe).toBe(10 * MSS);
  });

  test("RFC 6675 alone (cwnd = ssthresh) is silent until pipe falls below ssthresh", () => {
    let pipe = 17 * MSS;
    const sends: number[] = [];
    for (let ack = 1; ack <= 16; ack++) {
      pipe -= MSS;
      const sent = Math.max(0, Math.floor((10 * MSS - pipe) / MSS));
      sends.push(sent);
      pipe += sent * MSS;
    }
    expect(sends).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});

describe("the Slow Start Reduction Bound (RFC 6937 §3.1, PRR-SSRB)", () => {
  test("with pipe far below ssthresh (many losses), at most DeliveredData + 1 MSS per ACK", () => {
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS, 10 * MSS);
    prr.onSent(MSS);
    let pipe = 2 * MSS;
    const sends: number[] = [];
    for (let ack = 0; ack < 9; ack++) {
      prr.onAck(MSS, pipe, 10 * MSS, MSS);
      const out = send(prr, pipe);
      sends.push(out.sent);
      pipe = out.pipe - MSS; // the next ACK delivers one segment
    }
    // Slow start: two segments per segment delivered, until pipe reaches ssthresh; then
    // one per segment delivered.
    expect(sends).toEqual([2, 2, 2, 2, 2, 2, 2, 1, 1]);
  });

  test("an ACK that delivers a lot after ACK loss may catch up at once, up to ssthresh", () => {
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS, 10 * MSS);
    prr.onSent(MSS);
    // sndcnt = min(ssthresh − pipe, max(prr_delivered − prr_out, DeliveredData) + MSS)
    //        = min(7, max(8 − 1, 8) + 1) segments.
    expect(prr.onAck(8 * MSS, 3 * MSS, 10 * MSS, MSS)).toBe(7 * MSS);
  });
});

describe("properties", () => {
  const episode = fc.record({
    recoverFs: fc.integer({ min: 4, max: 100 }),
    beta: fc.double({ min: 0.3, max: 0.9, noNaN: true }),
    acks: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })), {
      maxLength: 60,
    }),
  });

  test("never ahead of ssthresh/RecoverFS of what was delivered while pipe > ssthresh; never past ssthresh after", () => {
    fc.assert(
      fc.property(episode, ({ recoverFs, beta, acks }) => {
        const ssthresh = Math.max(2, Math.floor(recoverFs * beta)) * MSS;
        const prr = new ProportionalRateReduction();
        prr.start(recoverFs * MSS, ssthresh);
        prr.onSent(MSS);
        let out = MSS;
        let delivered = 0;
        let pipe = (recoverFs - 1) * MSS;
        for (const [segments, losses] of acks) {
          // This ACK delivers `segments` and reveals `losses` more lost (pipe shrinks by both).
          const d = Math.min(segments * MSS, pipe);
          pipe = Math.max(0, pipe - d - losses * MSS);
          delivered += d;
          const sndcnt = prr.onAck(d, pipe, ssthresh, MSS);
          expect(sndcnt).toBeGreaterThanOrEqual(0);
          expect(prr.cwnd).toBe(pipe + sndcnt);
          const sent = send(prr, pipe);
          out += sent.sent * MSS;
          if (pipe > ssthresh) {
            expect(out).toBeLessThanOrEqual(
              Math.max(MSS, Math.ceil((delivered * ssthresh) / (recoverFs * MSS))),
            );
          } else {
            expect(sent.pipe).toBeLessThanOrEqual(ssthresh);
            expect(sent.sent * MSS).toBeLessThanOrEqual(
              Math.max(delivered - (out - sent.sent * MSS), d) + MSS,
            );
          }
          pipe = sent.pipe;
        }
      }),
    );
  });
});

describe("through the stack: 20 segments out, the first lost, NewReno (ssthresh = FlightSize/2)", () => {
  /** Each ACK SACKs one more segment; returns what was sent after each ("R", "N"). */
  function recovery(config: Partial<TcpConfig>): string[] {
    // RFC 6675 loss detection (RACK off): recovery starts on the third duplicate ACK, as in
    // the RFC's example; the harness clock stands still, where RACK would mark at once.
    const h = harness({
      sack: true,
      rack: false,
      congestion: "newreno",
      initialWindowSegments: 20,
      ...config,
    });
    h.listener = h.tcp.listen(0, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS, options: { sackPermitted: true, mss: MSS } }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    const conn = [...h.tcp.connections()][0] as Tcb;
    conn.send(new Uint8Array(60 * MSS), h.now);
    h.sent.length = 0;
    poll(h);
    expect(h.sent.length).toBe(20);
    h.sent.length = 0;
    const data = ISS + 1;
    const sent: string[] = [];
    for (let k = 1; k <= 20; k++) {
      const sackBlocks = [{ left: data + MSS, right: data + (k + 1) * MSS }];
      arrive(h, seg({ flags: "A", seq: IRS + 1, ack: data, options: { sackBlocks } }));
      sent.push(h.sent.map((s) => (s.seq === data ? "R" : "N")).join(""));
      h.sent.length = 0;
    }
    return sent;
  }

  test("PRR: after the fast retransmit, new data at ssthresh/RecoverFS of the rate, no silence", () => {
    // ACKs 1–2: limited transmit (RFC 6675 (3)); 3: recovery, RecoverFS = 22 segments,
    // ssthresh = 10. Sends happen when ⌈prr_delivered·10/22⌉ − prr_out reaches a segment
    // (ACKs 7, 9, 11, 13); at ACK 16 pipe reaches ssthresh and then one per ACK.
    expect(recovery({})).toEqual([
      "N",
      "N",
      "R",
      "",
      "",
      "",
      "N",
      "",
      "N",
      "",
      "N",
      "",
      "N",
      "",
      "",
      "",
      "N",
      "N",
      "N",
      "N",
    ]);
  });

  test("PRR off (TcpConfig.prr false): RFC 6675 is silent for half a window, then one per ACK", () => {
    expect(recovery({ prr: false })).toEqual([
      "N",
      "N",
      "R",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "N",
      "N",
      "N",
      "N",
      "N",
      "N",
      "N",
      "N",
    ]);
  });
});
