/**
 * SEG.SEQ of a pure ACK when SND.MAX lies past our view of the peer's right edge
 * (output.ts pureAckSeq, Linux tcp_acceptable_seq): the edge itself if the window really
 * shrank, but SND.MAX if it is past only by the window field's rounding (less than one
 * unit of the peer's window scale, RFC 7323 §2.3). Using the rounded edge put SEG.SEQ
 * below a peer's RCV.NXT: both ends dropped each other's ACKs and answered with ACKs.
 */
import { describe, expect, test } from "bun:test";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import {
  advance,
  arrive,
  expectSent,
  harness,
  IRS,
  ISS,
  poll,
  seg,
} from "../../helpers/tcp_segments.ts";

const SCALE = 7; // the peer's window scale: its window field counts 128-byte units

/** Established with window scaling; 3000 bytes sent into the peer's 3072-byte window. */
function sentToTheEdge() {
  const h = harness({ windowScale: true });
  h.listener = h.tcp.listen(0, 80, 8);
  arrive(h, seg({ flags: "S", seq: IRS, options: { windowScale: SCALE, mss: 1000 } }));
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 24 })); // 24·128 = 3072
  const conn = [...h.tcp.connections()][0] as Tcb;
  expect(conn.sndScale).toBe(SCALE);
  conn.send(new Uint8Array(3000), h.now);
  poll(h);
  expect(conn.sndMax).toBe(ISS + 3001);
  h.sent.length = 0;
  return { h, conn };
}

/** The peer acknowledges 1000 bytes with window field `wnd`, then sends a byte we ACK. */
function ackSeqAfter(wnd: number): number {
  const { h } = sentToTheEdge();
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1001, wnd }));
  arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1001, wnd, data: "x" }));
  advance(h, 200); // the delayed ACK
  const ack = h.sent.find((s) => s.ack === IRS + 2 && s.data.length === 0);
  expect(ack).toBeDefined();
  return ack!.seq;
}

describe("the sequence number of a pure ACK past the peer's right edge", () => {
  test("past it by less than one scale unit (the field rounded down): SND.MAX", () => {
    // Field 15: edge ISS+1001+1920 = ISS+2921, 80 bytes short of SND.MAX = ISS+3001; the
    // peer's true window may be up to 127 bytes more, and its edge never moves left.
    expect(ackSeqAfter(15)).toBe(ISS + 3001);
  });

  test("past it by a scale unit or more (the window shrank): the edge", () => {
    // RFC 9293 MUST-34: robust against a shrinking window.
    // Field 10: edge ISS+1001+1280 = ISS+2281, 720 bytes short of SND.MAX.
    expect(ackSeqAfter(10)).toBe(ISS + 2281);
  });

  test("not past it: SND.MAX", () => {
    expect(ackSeqAfter(24)).toBe(ISS + 3001);
    const { h } = sentToTheEdge();
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1, wnd: 24, data: "x" }));
    advance(h, 200);
    expectSent(h, { flags: "A", seq: ISS + 3001, ack: IRS + 2 });
  });
});
