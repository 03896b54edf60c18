/**
 * SEGMENT ARRIVES, one test per RFC 9293 §3.10.7 rule (plus RFC 5961 and RFC 7323
 * PAWS), written as timing diagrams: a TCB in a state, a segment arrives, the reply.
 * Our ISS is 1000, the peer's 100; we are 10.0.0.2:80, the peer 10.0.0.1:5000.
 */
import { describe, expect, test } from "bun:test";
import {
  advance,
  arrive,
  expectNothingSent,
  expectSent,
  harness,
  IRS,
  ISS,
  poll,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

describe("§3.10.7.1 CLOSED (no connection, no listener)", () => {
  test("a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", () => {
    const h = harness();
    arrive(h, seg({ flags: "S", seq: 500 }));
    expectSent(h, { flags: "RA", seq: 0, ack: 501 });
    arrive(h, seg({ flags: "P", seq: 700, data: "hello" }));
    expectSent(h, { flags: "RA", seq: 0, ack: 705 });
    expect(h.stats.get("tcpOutRsts")).toBe(2);
  });

  test("a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>", () => {
    const h = harness();
    arrive(h, seg({ flags: "A", seq: 500, ack: 9999 }));
    expectSent(h, { flags: "R", seq: 9999 });
  });

  test("a RST is never answered", () => {
    const h = harness();
    arrive(h, seg({ flags: "R", seq: 500 }));
    arrive(h, seg({ flags: "RA", seq: 500, ack: 3 }));
    expectNothingSent(h);
    expect(h.stats.get("tcpInNoPort")).toBe(2);
  });
});

describe("§3.10.7.2 LISTEN", () => {
  test("SYN → SYN,ACK with ISS and ACK = SEG.SEQ+1; SYN-RECEIVED", () => {
    const h = tcbInState("LISTEN");
    arrive(h, seg({ flags: "S", seq: IRS, options: { mss: 1000 } }));
    const synAck = expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
    expect(synAck.options.mss).toBe(1460);
    const [conn] = h.tcp.connections();
    expect(conn!.state).toBe("SYN-RECEIVED");
  });

  test("an ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST is ignored", () => {
    const h = tcbInState("LISTEN");
    arrive(h, seg({ flags: "A", seq: 5, ack: 77 }));
    expectSent(h, { flags: "R", seq: 77 });
    arrive(h, seg({ flags: "R", seq: 5 }));
    expectNothingSent(h);
  });

  test("a segment with neither SYN, ACK nor RST is dropped", () => {
    const h = tcbInState("LISTEN");
    arrive(h, seg({ flags: "P", seq: 5, data: "x" }));
    expectNothingSent(h);
    expect([...h.tcp.connections()]).toHaveLength(0);
  });

  test("the final ACK completes the handshake and queues the connection for accept()", () => {
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    expect(h.listener!.acceptQueueLength).toBe(1);
    expect(h.listener!.accept()!.state).toBe("ESTABLISHED");
  });

  test("SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>", () => {
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 50 }));
    expectSent(h, { flags: "R", seq: ISS + 50 });
    expect(h.conn!.state).toBe("SYN-RECEIVED");
  });

  test("SYN-RECEIVED from a passive open: a RST returns to LISTEN (the TCB goes)", () => {
    // RFC 9293 MUST-11: SYN-RECEIVED remembers the passive OPEN.
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "R", seq: IRS + 1 }));
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBeUndefined();
    expect(h.tcp.connectionCount).toBe(0);
    expectNothingSent(h);
    // The listener is in LISTEN still: the same peer's new SYN starts over.
    arrive(h, seg({ flags: "S", seq: IRS + 5000 }));
    expectSent(h, { flags: "SA", ack: IRS + 5001 });
    expect(h.tcp.connectionCount).toBe(1);
  });

  test("SYN-RECEIVED: a retransmitted SYN is wholly old (first step) and gets our SYN,ACK again", () => {
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "S", seq: IRS }));
    expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
    expect(h.conn!.state).toBe("SYN-RECEIVED");
    expect(h.tcp.connectionCount).toBe(1);
  });

  test("SYN-RECEIVED: a SYN elsewhere in the window is challenged (RFC 5961 §4), not obeyed", () => {
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "S", seq: IRS + 10 }));
    expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 }); // the ACK owed from SYN-RECEIVED
    expect(h.stats.get("tcpChallengeAcks")).toBe(1);
    expect(h.conn!.state).toBe("SYN-RECEIVED");
  });
});

describe("§3.10.7.3 SYN-SENT", () => {
  test("SYN,ACK acknowledging our SYN → ESTABLISHED and an ACK", () => {
    const h = tcbInState("SYN-SENT");
    arrive(h, seg({ flags: "SA", seq: IRS, ack: ISS + 1 }));
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
    expect(h.conn!.state).toBe("ESTABLISHED");
  });

  test("an ACK outside ISS < SEG.ACK =< SND.NXT gets <SEQ=SEG.ACK><CTL=RST>", () => {
    const h = tcbInState("SYN-SENT");
    arrive(h, seg({ flags: "SA", seq: IRS, ack: ISS + 7 }));
    expectSent(h, { flags: "R", seq: ISS + 7 });
    expect(h.conn!.state).toBe("SYN-SENT");
  });

  test("RST with an acceptable ACK: connection refused", () => {
    const h = tcbInState("SYN-SENT");
    arrive(h, seg({ flags: "RA", seq: 0, ack: ISS + 1 }));
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBe("ECONNREFUSED");
    expectNothingSent(h);
  });

  test("RST without ACK is dropped", () => {
    const h = tcbInState("SYN-SENT");
    arrive(h, seg({ flags: "R", seq: IRS }));
    expect(h.conn!.state).toBe("SYN-SENT");
  });

  test("simultaneous open: a SYN → SYN-RECEIVED and SYN,ACK; its ACK → ESTABLISHED", () => {
    // RFC 9293 MUST-10: simultaneous open.
    const h = tcbInState("SYN-SENT");
    arrive(h, seg({ flags: "S", seq: IRS }));
    expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
    expect(h.conn!.state).toBe("SYN-RECEIVED");
    // The peer's SYN,ACK crosses ours: its SYN is old, its ACK and text new (first step:
    // "only the new parts are processed").
    arrive(h, seg({ flags: "SA", seq: IRS, ack: ISS + 1, data: "hi" }));
    expect(h.conn!.state).toBe("ESTABLISHED");
    expect(h.conn!.receive(new Uint8Array(8), h.now)).toBe(2);
  });

  test("ICMP port unreachable fails the connect (RFC 1122 §4.2.3.9 as Linux)", () => {
    const h = tcbInState("SYN-SENT");
    const quoted = new Uint8Array(8);
    new DataView(quoted.buffer).setUint32(4, ISS);
    h.tcp.icmpError(
      {
        source: 0x0a000002,
        destination: 0x0a000001,
        protocol: 6,
        sourcePort: 80,
        destinationPort: 5000,
        quoted,
        error: "ECONNREFUSED",
        nextHopMtu: 0,
      },
      h.now,
    );
    expect(h.conn!.error).toBe("ECONNREFUSED");
  });
});

describe("§3.10.7.4 first: sequence number acceptability", () => {
  test("a segment before RCV.NXT (an old duplicate) gets an ACK and is dropped", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS - 50, ack: ISS + 1, data: "old" }));
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
    expect(h.conn!.readableBytes).toBe(0);
  });

  test("a segment beyond the window gets an ACK and is dropped", () => {
    const h = tcbInState("ESTABLISHED", { receiveBufferBytes: 4096 });
    arrive(h, seg({ flags: "PA", seq: IRS + 1 + 1_000_000, ack: ISS + 1, data: "far" }));
    expectSent(h, { flags: "A", ack: IRS + 1 });
    expect(h.stats.get("tcpInWindowDrops")).toBe(1);
  });

  test("an unacceptable RST is dropped silently", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "R", seq: IRS + 1 + 10_000_000 }));
    expectNothingSent(h);
    expect(h.conn!.state).toBe("ESTABLISHED");
  });

  test("a segment overlapping RCV.NXT is trimmed to the new bytes", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1, data: "abc" }));
    arrive(h, seg({ flags: "PA", seq: IRS + 2, ack: ISS + 1, data: "bcdef" }));
    const into = new Uint8Array(10);
    const n = h.conn!.receive(into, h.now);
    expect(new TextDecoder().decode(into.subarray(0, n))).toBe("abcdef");
  });
});

describe("§3.10.7.4 second: RST (RFC 5961 §3.2)", () => {
  test("RST with SEG.SEQ = RCV.NXT resets an ESTABLISHED connection: ECONNRESET", () => {
    // RFC 9293 MUST-12: the application is told of the abort (ECONNRESET).
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "R", seq: IRS + 1 }));
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.conn!.error).toBe("ECONNRESET");
  });

  test("RST in the window but not at RCV.NXT gets a challenge ACK", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "R", seq: IRS + 100 }));
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
    expect(h.conn!.state).toBe("ESTABLISHED");
    expect(h.stats.get("tcpChallengeAcks")).toBe(1);
  });

  for (const state of ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"] as const) {
    test(`RST in ${state}: ECONNRESET`, () => {
      const h = tcbInState(state);
      arrive(h, seg({ flags: "R", seq: h.conn!.rcvNxt }));
      expect(h.conn!.state).toBe("CLOSED");
      expect(h.conn!.error).toBe("ECONNRESET");
    });
  }

  for (const state of ["CLOSING", "LAST-ACK", "TIME-WAIT"] as const) {
    test(`RST in ${state}: closed quietly`, () => {
      const h = tcbInState(state);
      arrive(h, seg({ flags: "R", seq: h.conn!.rcvNxt }));
      expect(h.conn!.state).toBe("CLOSED");
      expect(h.conn!.error).toBeUndefined();
    });
  }
});

describe("§3.10.7.4 fourth: SYN in a synchronized state (RFC 5961 §4)", () => {
  test("an in-window SYN gets a challenge ACK, not a reset", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "S", seq: IRS + 1 }));
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
    expect(h.conn!.state).toBe("ESTABLISHED");
  });

  test("challenge ACKs are rate limited per second (RFC 5961 §7)", () => {
    const h = tcbInState("ESTABLISHED", { challengeAckLimit: 3 });
    for (let i = 0; i < 10; i++) arrive(h, seg({ flags: "S", seq: IRS + 1 }));
    expect(h.sent).toHaveLength(3);
    h.sent.length = 0;
    h.now += 1000;
    arrive(h, seg({ flags: "S", seq: IRS + 1 }));
    expect(h.sent).toHaveLength(1);
  });
});

describe("§3.10.7.4 fifth: ACK", () => {
  test("a segment without ACK is dropped", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "P", seq: IRS + 1, data: "x" }));
    expect(h.conn!.readableBytes).toBe(0);
  });

  test("an ACK of unsent data gets an ACK and the segment is dropped", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 500, data: "data" }));
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
    expect(h.conn!.readableBytes).toBe(0);
  });

  test("an ACK older than SND.UNA − MAX.SND.WND gets a challenge ACK (RFC 5961 §5.2)", () => {
    // RFC 9293 MAY-12: RFC 5961 §5 data injection check.
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS - 200_000, data: "data" }));
    expectSent(h, { flags: "A", ack: IRS + 1 });
    expect(h.conn!.readableBytes).toBe(0);
  });

  test("an old duplicate ACK is ignored but its data accepted", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS, data: "data" }));
    expect(h.conn!.readableBytes).toBe(4);
  });

  test("an ACK of sent data frees the send buffer and updates the window", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(new TextEncoder().encode("hello"), h.now);
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 1, data: "hello" });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 6, wnd: 1234 }));
    expect(h.conn!.sndUna).toBe(ISS + 6);
    expect(h.conn!.sndWnd).toBe(1234);
    expect(h.conn!.sending).toBe(false);
  });

  test("FIN-WAIT-1: the ACK of our FIN → FIN-WAIT-2", () => {
    const h = tcbInState("FIN-WAIT-1");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("FIN-WAIT-2");
  });

  test("CLOSING: the ACK of our FIN → TIME-WAIT", () => {
    const h = tcbInState("CLOSING");
    arrive(h, seg({ flags: "A", seq: IRS + 2, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("LAST-ACK: the ACK of our FIN → CLOSED, the TCB deleted", () => {
    const h = tcbInState("LAST-ACK");
    arrive(h, seg({ flags: "A", seq: IRS + 2, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.tcp.connectionCount).toBe(0);
  });
});

describe("§3.10.7.4 seventh: text", () => {
  test("in-order data is delivered; out-of-order data waits for the gap", () => {
    // RFC 9293 SHLD-31 MAY-13: out-of-order segments are queued and ACKed at once.
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "PA", seq: IRS + 4, ack: ISS + 1, data: "def" }));
    expectSent(h, { flags: "A", ack: IRS + 1 }); // immediate duplicate ACK (RFC 5681 §4.2)
    expect(h.conn!.readableBytes).toBe(0);
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1, data: "abc" }));
    expectSent(h, { flags: "A", ack: IRS + 7 }); // the gap filled: ACK at once
    const into = new Uint8Array(10);
    expect(new TextDecoder().decode(into.subarray(0, h.conn!.receive(into, h.now)))).toBe("abcdef");
  });

  test("one segment's ACK is delayed, at most delayedAckMs (RFC 9293 §3.8.6.3)", () => {
    // RFC 9293 SHLD-18 MUST-40: delayed ACK, under 0.5 s.
    const h = tcbInState("ESTABLISHED", { delayedAckMs: 40 });
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1, data: "abc" }));
    expectNothingSent(h);
    advance(h, 39);
    expectNothingSent(h);
    advance(h, 1);
    expectSent(h, { flags: "A", ack: IRS + 4 });
  });

  test("every second segment is ACKed at once", () => {
    // RFC 9293 SHLD-19: an ACK at least every second full-sized segment.
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, data: "a".repeat(1000) }));
    expectNothingSent(h);
    arrive(h, seg({ flags: "A", seq: IRS + 1001, ack: ISS + 1, data: "b".repeat(1000) }));
    expectSent(h, { flags: "A", ack: IRS + 2001 });
  });
});

describe("§3.10.7.4 eighth: FIN", () => {
  test("ESTABLISHED → CLOSE-WAIT, RCV.NXT advanced over the FIN", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    expectSent(h, { flags: "A", ack: IRS + 2 });
    expect(h.conn!.state).toBe("CLOSE-WAIT");
    expect(h.conn!.receivedFin).toBe(true);
  });

  test("FIN-WAIT-1 with our FIN unacknowledged → CLOSING", () => {
    const h = tcbInState("FIN-WAIT-1");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    expect(h.conn!.state).toBe("CLOSING");
  });

  test("FIN-WAIT-1 with a FIN that also acks ours → TIME-WAIT", () => {
    const h = tcbInState("FIN-WAIT-1");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2 }));
    expectSent(h, { flags: "A", ack: IRS + 2 });
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("FIN-WAIT-2 → TIME-WAIT", () => {
    const h = tcbInState("FIN-WAIT-2");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("a FIN after a gap waits for the missing data", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "FA", seq: IRS + 4, ack: ISS + 1, data: "def" }));
    expect(h.conn!.state).toBe("ESTABLISHED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, data: "abc" }));
    expect(h.conn!.state).toBe("CLOSE-WAIT");
    expect(h.conn!.readableBytes).toBe(6);
  });

  test("TIME-WAIT: a retransmitted FIN is acknowledged again", () => {
    const h = tcbInState("TIME-WAIT");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2 }));
    expectSent(h, { flags: "A", ack: IRS + 2 });
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("CLOSE-WAIT / CLOSING / LAST-ACK: a repeated FIN leaves the state alone", () => {
    for (const state of ["CLOSE-WAIT", "CLOSING", "LAST-ACK"] as const) {
      const h = tcbInState(state);
      arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
      expect(h.conn!.state).toBe(state);
    }
  });
});

describe("closing (§3.6) and TIME-WAIT (§3.10.8)", () => {
  test("TIME-WAIT expires after 2·MSL into CLOSED", () => {
    // RFC 9293 MUST-13: TIME-WAIT lasts 2·MSL.
    const h = tcbInState("TIME-WAIT", { mslMs: 30_000 });
    advance(h, 59_999);
    expect(h.conn!.state).toBe("TIME-WAIT");
    advance(h, 1);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.tcp.connectionCount).toBe(0);
  });

  test("simultaneous close: FIN crosses FIN → CLOSING → TIME-WAIT", () => {
    const h = tcbInState("FIN-WAIT-1");
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    expectSent(h, { flags: "A", seq: ISS + 2, ack: IRS + 2 });
    arrive(h, seg({ flags: "A", seq: IRS + 2, ack: ISS + 2 }));
    expect(h.conn!.state).toBe("TIME-WAIT");
  });

  test("half-close: CLOSE-WAIT keeps sending", () => {
    const h = tcbInState("CLOSE-WAIT");
    expect(h.conn!.send(new TextEncoder().encode("late"), h.now)).toBe(4);
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 1, ack: IRS + 2, data: "late" });
  });

  test("a new SYN above RCV.NXT reopens a TIME-WAIT four-tuple (RFC 6191)", () => {
    // RFC 9293 MAY-2: a new SYN accepted in TIME-WAIT.
    const h = tcbInState("TIME-WAIT");
    arrive(h, seg({ flags: "S", seq: IRS + 100_000 }));
    expect(h.conn!.state).toBe("CLOSED");
    expectSent(h, { flags: "SA", ack: IRS + 100_001 });
  });

  test("ABORT sends <SEQ=SND.NXT><CTL=RST> and deletes the TCB", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.abort(h.now);
    expectSent(h, { flags: "R", seq: ISS + 1 });
    expect(h.conn!.state).toBe("CLOSED");
  });

  test("CLOSE in SYN-SENT deletes the TCB", () => {
    const h = tcbInState("SYN-SENT");
    h.conn!.close(h.now);
    expect(h.conn!.state).toBe("CLOSED");
    expect(h.tcp.connectionCount).toBe(0);
  });
});

describe("RFC 7323 §5 PAWS", () => {
  test("a segment with a TSval older than TS.Recent is dropped, counted and ACKed", () => {
    const h = harness({ timestamps: true });
    h.tcp.listen(0, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS, options: { timestamp: { value: 5000, echo: 0 } } }));
    const synAck = expectSent(h, { flags: "SA" });
    expect(synAck.options.timestamp!.echo).toBe(5000);
    const tsVal = synAck.options.timestamp!.value;
    arrive(
      h,
      seg({
        flags: "A",
        seq: IRS + 1,
        ack: ISS + 1,
        options: { timestamp: { value: 5001, echo: tsVal } },
      }),
    );
    arrive(
      h,
      seg({
        flags: "PA",
        seq: IRS + 1,
        ack: ISS + 1,
        data: "new",
        options: { timestamp: { value: 5002, echo: tsVal } },
      }),
    );
    const [conn] = h.tcp.connections();
    expect(conn!.readableBytes).toBe(3);
    // An old duplicate from a previous wrap of the sequence space: TSval went back.
    arrive(
      h,
      seg({
        flags: "PA",
        seq: IRS + 4,
        ack: ISS + 1,
        data: "old",
        options: { timestamp: { value: 4000, echo: tsVal } },
      }),
    );
    expect(conn!.readableBytes).toBe(3);
    expect(h.stats.get("tcpPawsDrops")).toBe(1);
    expect(conn!.info(h.now).pawsDrops).toBe(1);
    h.sent.length = 0;
    poll(h);
  });
});
