import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type CongestionController,
  createCongestionController,
} from "../../../../stack/tcp/congestion/controller.ts";
import { initialWindow, slowStart } from "../../../../stack/tcp/congestion/window.ts";
import { path, roundTrip } from "./drive.ts";

const MSS = 1000;

function newReno(options: { sack?: boolean; mss?: number } = {}): CongestionController {
  return createCongestionController("newreno", {
    mss: options.mss ?? MSS,
    now: 0,
    sack: options.sack,
  });
}

/** A duplicate ACK at SND.UNA = 0 with `flight` outstanding and SND.MAX = flight. */
function dup(cc: CongestionController, flight: number, lost?: boolean) {
  return cc.onDuplicateAck({ now: 0, sndUna: 0, sndMax: flight, bytesInFlight: flight, lost });
}

/** Three duplicate ACKs: enters fast recovery with `flight` bytes outstanding. */
function enterFastRecovery(cc: CongestionController, flight: number): void {
  expect([dup(cc, flight), dup(cc, flight), dup(cc, flight)]).toEqual([
    "limited-transmit",
    "limited-transmit",
    "retransmit",
  ]);
}

describe("initial window (RFC 6928 §2)", () => {
  test("IW = min(10·MSS, max(2·MSS, 14600))", () => {
    expect(initialWindow(1460)).toBe(14600);
    expect(initialWindow(536)).toBe(5360);
    expect(initialWindow(4000)).toBe(14600);
    expect(initialWindow(9000)).toBe(18000);
    expect(newReno().cwnd).toBe(10_000);
  });

  test("setMss before any ACK recomputes IW; after, leaves cwnd alone", () => {
    const cc = newReno({ mss: 536 });
    cc.setMss(1460);
    expect(cc.cwnd).toBe(14600);
    cc.onAck({ now: 1, bytesAcked: 1460, sndUna: 1460, sndMax: 14600, bytesInFlight: 13140 });
    cc.setMss(1000);
    expect(cc.cwnd).toBe(14600 + 1460);
  });
});

describe("slow start (RFC 5681 §3.1, RFC 3465)", () => {
  test("cwnd doubles every round trip, one ACK per segment or per two", () => {
    // RFC 9293 MUST-19: slow start.
    fc.assert(
      fc.property(
        fc.integer({ min: 536, max: 9000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(1, 2),
        (mss, rounds, perAck) => {
          const cc = newReno({ mss });
          const p = path(cc, { iss: 0xffff_0000 });
          const iw = cc.cwnd;
          for (let i = 0; i < rounds; i++) roundTrip(p, perAck);
          expect(cc.cwnd).toBe(Math.floor(iw / mss) * mss * 2 ** rounds + (iw % mss));
        },
      ),
    );
  });

  test("an ACK grows cwnd by at most L = 2·SMSS (ACK division does not help)", () => {
    expect(slowStart(10_000, 2 ** 30, 5000, MSS)).toEqual({ cwnd: 12_000, leftover: 0 });
    expect(slowStart(10_000, 2 ** 30, 1, MSS)).toEqual({ cwnd: 10_001, leftover: 0 });
  });

  test("slow start stops at ssthresh and hands the rest to congestion avoidance", () => {
    expect(slowStart(9_500, 10_000, 1000, MSS)).toEqual({ cwnd: 10_000, leftover: 500 });
  });
});

describe("congestion avoidance (RFC 5681 §3.1, RFC 3465 §2.1)", () => {
  /** Leaves the controller in avoidance with cwnd = ssthresh = `window`. */
  function inAvoidance(window: number): CongestionController {
    const cc = newReno();
    enterFastRecovery(cc, 2 * window);
    expect(cc.ssthresh).toBe(window);
    cc.onAck({
      now: 1,
      bytesAcked: 2 * window,
      sndUna: 2 * window,
      sndMax: 2 * window,
      bytesInFlight: window,
    });
    expect(cc.cwnd).toBe(window);
    return cc;
  }

  test("acknowledging one window's worth, in any chunks, adds exactly one SMSS", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.array(fc.integer({ min: 1, max: MSS }), { minLength: 1, maxLength: 400 }),
        (segments, chunks) => {
          const window = segments * MSS;
          const cc = inAvoidance(window);
          let acked = 0;
          let una = 2 * window;
          const sizes: number[] = [];
          for (let i = 0; acked < window; i++) {
            const size = Math.min(chunks[i % chunks.length]!, window - acked);
            sizes.push(size);
            acked += size;
          }
          for (const [i, size] of sizes.entries()) {
            una += size;
            cc.onAck({
              now: 2,
              bytesAcked: size,
              sndUna: una,
              sndMax: una + window,
              bytesInFlight: window,
            });
            // Never more than one SMSS per window's worth of ACKs.
            expect(cc.cwnd).toBe(i === sizes.length - 1 ? window + MSS : window);
          }
        },
      ),
    );
  });

  test("about one SMSS per round trip", () => {
    // RFC 9293 MUST-19: congestion avoidance.
    const cc = inAvoidance(20 * MSS);
    const p = path(cc, { iss: 40 * MSS });
    for (let i = 1; i <= 10; i++) {
      roundTrip(p);
      expect(cc.cwnd).toBe((20 + i) * MSS);
    }
  });

  test("an application-limited ACK does not grow cwnd", () => {
    const cc = newReno();
    cc.onAck({
      now: 1,
      bytesAcked: 1000,
      sndUna: 1000,
      sndMax: 2000,
      bytesInFlight: 1000,
      appLimited: true,
    });
    expect(cc.cwnd).toBe(10_000);
  });
});

describe("fast retransmit and fast recovery (RFC 5681 §3.2, RFC 3042, RFC 6582)", () => {
  test("3 duplicate ACKs: fast retransmit, ssthresh = max(FlightSize/2, 2·SMSS), cwnd = ssthresh + 3·SMSS", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (flight) => {
        const cc = newReno();
        enterFastRecovery(cc, flight);
        const ssthresh = Math.max(Math.floor(flight / 2), 2 * MSS);
        expect(cc.ssthresh).toBe(ssthresh);
        expect(cc.cwnd).toBe(ssthresh + 3 * MSS);
        expect(cc.inRecovery).toBe(true);
        expect(cc.recover).toBe(flight);
      }),
    );
  });

  test("limited transmit: two segments beyond cwnd, cwnd unchanged, not counted in FlightSize", () => {
    const cc = newReno();
    expect(dup(cc, 10_000)).toBe("limited-transmit");
    expect(cc.sendWindow).toBe(11_000);
    expect(cc.onDuplicateAck({ now: 0, sndUna: 0, sndMax: 11_000, bytesInFlight: 11_000 })).toBe(
      "limited-transmit",
    );
    expect(cc.sendWindow).toBe(12_000);
    expect(cc.cwnd).toBe(10_000);
    expect(cc.onDuplicateAck({ now: 0, sndUna: 0, sndMax: 12_000, bytesInFlight: 12_000 })).toBe(
      "retransmit",
    );
    // RFC 5681 §3.2 step 2: the FlightSize of the first duplicate ACK, not 12 000.
    expect(cc.ssthresh).toBe(5000);
    expect(cc.sendWindow).toBe(cc.cwnd);
  });

  test("each further duplicate ACK inflates cwnd by SMSS, up to the outstanding data", () => {
    const cc = newReno();
    enterFastRecovery(cc, 10_000);
    expect(cc.cwnd).toBe(8000);
    for (let i = 1; i <= 20; i++) expect(dup(cc, 10_000)).toBe("none");
    expect(cc.cwnd).toBe(5000 + 10_000);
  });

  test("a partial ACK retransmits, deflates by the data acked, adds one SMSS back, stays in recovery", () => {
    const cc = newReno();
    enterFastRecovery(cc, 10_000);
    dup(cc, 10_000);
    expect(cc.cwnd).toBe(9000);
    const action = cc.onAck({
      now: 1,
      bytesAcked: 3000,
      sndUna: 3000,
      sndMax: 10_000,
      bytesInFlight: 7000,
    });
    expect(action).toBe("retransmit");
    expect(cc.cwnd).toBe(9000 - 3000 + 1000);
    expect(cc.inRecovery).toBe(true);
  });

  test("a full ACK exits with cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)", () => {
    const cc = newReno();
    enterFastRecovery(cc, 10_000);
    let action = cc.onAck({
      now: 1,
      bytesAcked: 10_000,
      sndUna: 10_000,
      sndMax: 16_000,
      bytesInFlight: 6000,
    });
    expect(action).toBe("recovery-end");
    expect(cc.inRecovery).toBe(false);
    expect(cc.cwnd).toBe(5000);
    const other = newReno();
    enterFastRecovery(other, 10_000);
    action = other.onAck({
      now: 1,
      bytesAcked: 10_000,
      sndUna: 10_000,
      sndMax: 10_000,
      bytesInFlight: 0,
    });
    expect(action).toBe("recovery-end");
    expect(other.cwnd).toBe(2000); // burst avoidance: nothing outstanding
  });

  test("RFC 6582 step 2: no second fast retransmit for duplicate ACKs below recover", () => {
    const cc = newReno();
    enterFastRecovery(cc, 10_000);
    cc.onAck({ now: 1, bytesAcked: 10_000, sndUna: 10_000, sndMax: 20_000, bytesInFlight: 10_000 });
    const at = (sndUna: number) =>
      cc.onDuplicateAck({ now: 2, sndUna, sndMax: 20_000, bytesInFlight: 20_000 - sndUna });
    expect([at(10_000), at(10_000), at(10_000)]).toEqual([
      "limited-transmit",
      "limited-transmit",
      "none",
    ]);
    expect(cc.inRecovery).toBe(false);
    cc.onAck({ now: 3, bytesAcked: 1000, sndUna: 11_000, sndMax: 20_000, bytesInFlight: 9000 });
    expect([at(11_000), at(11_000), at(11_000)]).toEqual([
      "limited-transmit",
      "limited-transmit",
      "retransmit",
    ]);
  });
});

describe("retransmission timeout (RFC 5681 §3.1)", () => {
  test("cwnd = 1 SMSS, ssthresh = max(FlightSize/2, 2·SMSS); held on a repeated timeout", () => {
    const cc = newReno();
    const p = path(cc);
    roundTrip(p);
    roundTrip(p);
    const loss = { now: p.now, sndUna: p.sndUna, sndMax: p.sndUna + 40_000, bytesInFlight: 40_000 };
    cc.onRetransmitTimeout(loss);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(20_000);
    cc.onRetransmitTimeout({ ...loss, bytesInFlight: 2000 });
    expect(cc.ssthresh).toBe(20_000);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.recover).toBe(p.sndUna + 40_000);
  });

  test("then slow start again up to ssthresh", () => {
    const cc = newReno();
    cc.onRetransmitTimeout({ now: 0, sndUna: 0, sndMax: 16_000, bytesInFlight: 16_000 });
    const p = path(cc);
    const windows: number[] = [];
    for (let i = 0; i < 5; i++) {
      roundTrip(p);
      windows.push(cc.cwnd);
    }
    expect(windows).toEqual([2000, 4000, 8000, 9000, 10_000]);
  });

  test("a timeout ends fast recovery; with SACK no new recovery until recover is acked (RFC 6675 §5.1)", () => {
    const cc = newReno({ sack: true });
    expect(dup(cc, 10_000, true)).toBe("retransmit");
    cc.onRetransmitTimeout({ now: 1, sndUna: 0, sndMax: 10_000, bytesInFlight: 10_000 });
    expect(cc.inRecovery).toBe(false);
    expect(dup(cc, 10_000, true)).toBe("limited-transmit");
    cc.onAck({ now: 2, bytesAcked: 10_000, sndUna: 10_000, sndMax: 12_000, bytesInFlight: 2000 });
    expect(
      cc.onDuplicateAck({
        now: 3,
        sndUna: 10_000,
        sndMax: 12_000,
        bytesInFlight: 2000,
        lost: true,
      }),
    ).toBe("retransmit");
  });
});

describe("SACK-based recovery (RFC 6675 §5)", () => {
  test("IsLost enters recovery before the third duplicate; cwnd = ssthresh, no inflation", () => {
    const cc = newReno({ sack: true });
    expect(dup(cc, 20_000, false)).toBe("limited-transmit");
    expect(cc.sendWindow).toBe(cc.cwnd);
    expect(dup(cc, 20_000, true)).toBe("retransmit");
    expect(cc.ssthresh).toBe(10_000);
    expect(cc.cwnd).toBe(10_000);
    for (let i = 0; i < 5; i++) expect(dup(cc, 20_000, true)).toBe("none");
    expect(cc.cwnd).toBe(10_000);
    const partial = cc.onAck({
      now: 1,
      bytesAcked: 4000,
      sndUna: 4000,
      sndMax: 20_000,
      bytesInFlight: 16_000,
    });
    expect(partial).toBe("none");
    expect(cc.cwnd).toBe(10_000);
    const full = cc.onAck({
      now: 2,
      bytesAcked: 16_000,
      sndUna: 20_000,
      sndMax: 30_000,
      bytesInFlight: 10_000,
    });
    expect(full).toBe("recovery-end");
    expect(cc.cwnd).toBe(10_000);
  });

  test("onLossDetected enters recovery once", () => {
    const cc = newReno({ sack: true });
    const loss = { now: 0, sndUna: 0, sndMax: 8000, bytesInFlight: 8000 };
    expect(cc.onLossDetected(loss)).toBe(true);
    expect(cc.onLossDetected(loss)).toBe(false);
    expect(cc.ssthresh).toBe(4000);
  });
});

describe("undo of a spurious reduction (RFC 9438 §4.9, RFC 4015 idea)", () => {
  test("restores cwnd and ssthresh from before the fast retransmit or timeout", () => {
    const cc = newReno();
    const p = path(cc);
    roundTrip(p);
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh };
    enterFastRecovery(cc, 20_000);
    cc.onSpuriousRetransmit(1);
    expect({ cwnd: cc.cwnd, ssthresh: cc.ssthresh, inRecovery: cc.inRecovery }).toEqual({
      ...before,
      inRecovery: false,
    });
    cc.onRetransmitTimeout({ now: 2, sndUna: 0, sndMax: 20_000, bytesInFlight: 20_000 });
    cc.onSpuriousRetransmit(3);
    expect({ cwnd: cc.cwnd, ssthresh: cc.ssthresh }).toEqual(before);
  });

  test("idle restart: cwnd = min(IW, cwnd) (RFC 5681 §4.1)", () => {
    const cc = newReno();
    roundTrip(path(cc));
    expect(cc.cwnd).toBe(20_000);
    cc.onIdleRestart(10_000);
    expect(cc.cwnd).toBe(10_000);
  });
});
