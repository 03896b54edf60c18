/**
 * RFC 9293 §3.10.7.4, the acceptability test at the right edge of the receive window:
 * "special allowance should be made to accept valid ACKs". A peer that has sent up to
 * our right edge, and lost some of it, sends its pure ACKs with SEG.SEQ = RCV.NXT+RCV.WND;
 * their acknowledgments must not be thrown away (Linux accepts them too).
 */
import { describe, expect, test } from "bun:test";
import { receiveWindow } from "../../../stack/tcp/segment_arrives.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import {
  arrive,
  expectNothingSent,
  expectSent,
  IRS,
  ISS,
  poll,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

/** ESTABLISHED, with "hello" sent and not yet acknowledged (SND.UNA = ISS+1, SND.NXT = ISS+6). */
function helloInFlight() {
  const h = tcbInState("ESTABLISHED");
  const tcb = h.conn as Tcb;
  tcb.send(new TextEncoder().encode("hello"), h.now);
  poll(h);
  expectSent(h, { flags: "PA", seq: ISS + 1, ack: IRS + 1 });
  return { h, tcb };
}

describe("a pure ACK at the right edge of the window", () => {
  test("is accepted: its ACK acknowledges our data", () => {
    const { h, tcb } = helloInFlight();
    const edge = (IRS + 1 + receiveWindow(tcb)) >>> 0;
    arrive(h, seg({ flags: "A", seq: edge, ack: ISS + 6 }));
    expect(tcb.sndUna).toBe(ISS + 6);
    expect(tcb.sending).toBe(false);
    expectNothingSent(h);
  });

  test("one past the edge is still unacceptable: answered with an ACK, not processed", () => {
    const { h, tcb } = helloInFlight();
    const beyond = (IRS + 2 + receiveWindow(tcb)) >>> 0;
    arrive(h, seg({ flags: "A", seq: beyond, ack: ISS + 6 }));
    expect(tcb.sndUna).toBe(ISS + 1);
    expect(h.stats.get("tcpInWindowDrops")).toBe(1);
    poll(h);
    expectSent(h, { flags: "A", seq: ISS + 6, ack: IRS + 1 });
  });
});
