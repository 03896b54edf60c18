/**
 * Timers on a virtual clock: retransmission (RFC 6298), Karn's rule, giving up,
 * zero-window probing (RFC 9293 §3.8.6.1), keep-alive (RFC 1122 §4.2.3.6), and window
 * updates after reads (RFC 9293 §3.8.6.2.2).
 */
import { describe, expect, test } from "bun:test";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import {
  advance,
  arrive,
  expectNothingSent,
  expectSent,
  IRS,
  ISS,
  poll,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** SYN-SENT, then the SYN,ACK after `rttMs`: an active connection with one RTT sample. */
function establishedWithRtt(rttMs: number, config = {}) {
  const h = tcbInState("SYN-SENT", config);
  advance(h, rttMs);
  arrive(h, seg({ flags: "SA", seq: IRS, ack: ISS + 1 }));
  expectSent(h, { flags: "A" });
  return h;
}

describe("retransmission timer (RFC 6298)", () => {
  test("the SYN is retransmitted after 1 s, then 2 s, 4 s ... and the connect fails with ETIMEDOUT", () => {
    // RFC 9293 MUST-22 MUST-19: SYNs are retransmitted with the timer and backoff of data, and the OPEN fails at R2.
    const h = tcbInState("SYN-SENT", { synRetries: 3 });
    advance(h, 999);
    expectNothingSent(h);
    advance(h, 1);
    expectSent(h, { flags: "S", seq: ISS }); // §2.1: initial RTO 1 s
    advance(h, 1999);
    expectNothingSent(h);
    advance(h, 1);
    expectSent(h, { flags: "S", seq: ISS }); // §5.5: doubled
    advance(h, 4000);
    expectSent(h, { flags: "S", seq: ISS });
    expect(h.conn!.state).toBe("SYN-SENT");
    advance(h, 8000);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBe("ETIMEDOUT");
  });

  test("RTO = SRTT + max(200 ms, 4·RTTVAR) after the first sample, doubling on each timeout", () => {
    // RFC 9293 MUST-19: exponential backoff of the RTO.
    const h = establishedWithRtt(100);
    const conn = h.conn as Tcb;
    expect(conn.srttMs).toBe(100); // §2.2: SRTT = R
    expect(conn.rttvarMs).toBe(50); // RTTVAR = R/2
    expect(conn.rtoMs).toBe(300);
    conn.send(text("data"), h.now);
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 1, data: "data" });
    advance(h, 299);
    expectNothingSent(h);
    advance(h, 1);
    expectSent(h, { flags: "PA", seq: ISS + 1, data: "data" });
    advance(h, 599);
    expectNothingSent(h);
    advance(h, 1);
    expectSent(h, { flags: "PA", seq: ISS + 1, data: "data" });
    expect(h.stats.get("tcpRetransSegs")).toBe(2);
    expect(h.stats.get("tcpTimeouts")).toBe(2);
  });

  test("Karn: the ACK of a retransmitted segment gives no RTT sample", () => {
    // RFC 9293 MUST-18: Karn's algorithm.
    const h = establishedWithRtt(100);
    const conn = h.conn as Tcb;
    conn.send(text("data"), h.now);
    poll(h);
    advance(h, 300);
    h.sent.length = 0;
    advance(h, 500); // a very late ACK: 800 ms after the first send
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 5 }));
    expect(conn.srttMs).toBe(100);
  });

  test("an ACK of new data restarts the timer; the RTT sample updates SRTT (§2.3)", () => {
    const h = establishedWithRtt(100);
    const conn = h.conn as Tcb;
    conn.send(text("data"), h.now);
    poll(h);
    advance(h, 200);
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 5 }));
    expect(conn.srttMs).toBe(0.875 * 100 + 0.125 * 200);
    expect(conn.retransmitAt).toBe(Number.POSITIVE_INFINITY); // §5.2: all acked, timer off
  });

  test("gives up after maxRetries: ETIMEDOUT", () => {
    // RFC 9293 MUST-20 SHLD-11: R2 reached: the connection is closed.
    const h = establishedWithRtt(100, { maxRetries: 2 });
    h.conn!.send(text("data"), h.now);
    poll(h);
    advance(h, 300 + 600);
    expect(h.conn!.state).toBe("ESTABLISHED");
    advance(h, 1200);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBe("ETIMEDOUT");
  });
});

describe("zero window (RFC 9293 §3.8.6.1)", () => {
  test("a closed window is probed with backoff, and data flows when it opens", () => {
    // RFC 9293 MUST-35 MUST-36 SHLD-29 SHLD-30: zero-window probes, the first after an RTO, backing off.
    const h = tcbInState("ESTABLISHED");
    const conn = h.conn as Tcb;
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0 }));
    conn.send(text("blocked"), h.now);
    poll(h);
    expectNothingSent(h);
    const first = conn.persistAt - h.now;
    advance(h, first);
    expectSent(h, { flags: "A", seq: ISS, data: 0 }); // probe: SEG.SEQ = SND.UNA − 1
    const second = conn.persistAt - h.now;
    expect(second).toBe(2 * first);
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 1000 }));
    expectSent(h, { flags: "PA", seq: ISS + 1, data: "blocked" });
    expect(conn.persistAt).toBe(Number.POSITIVE_INFINITY);
    expect(h.stats.get("tcpWindowProbes")).toBe(1);
  });

  test("the receiver advertises a zero window when full, and a window update after a read", () => {
    // RFC 9293 MUST-39 MAY-8: receiver SWS avoidance; the window stays closed while the buffer is full.
    const h = tcbInState("ESTABLISHED");
    const conn = h.conn as Tcb;
    const capacity = conn.recvBuffer.capacity;
    let seq = IRS + 1;
    while (seq < IRS + 1 + capacity) {
      const n = Math.min(1460, IRS + 1 + capacity - seq);
      arrive(h, seg({ flags: "A", seq, ack: ISS + 1, data: new Uint8Array(n) }));
      seq += n;
    }
    advance(h, 100);
    const last = h.sent[h.sent.length - 1]!;
    expect(last.ack).toBe(seq);
    expect(last.wnd).toBe(0);
    h.sent.length = 0;
    conn.receive(new Uint8Array(100), h.now);
    poll(h);
    expectNothingSent(h); // receiver SWS avoidance: 100 bytes is not worth announcing
    conn.receive(new Uint8Array(capacity), h.now);
    poll(h);
    const update = expectSent(h, { flags: "A", ack: seq });
    expect(update.wnd).toBe(Math.min(capacity, 65535));
  });
});

describe("keep-alive (RFC 1122 §4.2.3.6)", () => {
  test("an idle connection is probed, and closed with ETIMEDOUT when the peer is gone", () => {
    // RFC 9293 MAY-5 MUST-24 MUST-27 MUST-29 SHLD-12: keep-alives on request, interval from the configuration, several probes before giving up.
    const h = tcbInState("ESTABLISHED", {
      keepaliveIdleMs: 10_000,
      keepaliveIntervalMs: 1000,
      keepaliveProbes: 3,
    });
    h.conn!.options = { ...h.conn!.options, keepAlive: true };
    poll(h);
    advance(h, 10_000);
    expectSent(h, { flags: "A", seq: ISS });
    advance(h, 1000);
    expectSent(h, { flags: "A", seq: ISS });
    advance(h, 1000);
    expectSent(h, { flags: "A", seq: ISS });
    expect(h.conn!.state).toBe("ESTABLISHED");
    advance(h, 1000);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBe("ETIMEDOUT");
  });

  test("an answer to a probe keeps the connection", () => {
    // RFC 9293 MUST-29: a lost probe or ACK does not kill the connection.
    const h = tcbInState("ESTABLISHED", {
      keepaliveIdleMs: 10_000,
      keepaliveIntervalMs: 1000,
      keepaliveProbes: 1,
    });
    h.conn!.options = { ...h.conn!.options, keepAlive: true };
    poll(h);
    advance(h, 10_000);
    expectSent(h, { flags: "A", seq: ISS });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    advance(h, 5000);
    expect(h.conn!.state).toBe("ESTABLISHED");
  });
});
