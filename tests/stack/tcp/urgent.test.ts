/**
 * Urgent data at segment level (RFC 9293 §3.8.5, §3.10.7.4 sixth step; RFC 6093), with
 * the out-of-band byte as Linux gives it (stack/tcp/urgent.ts).
 */
import { describe, expect, test } from "bun:test";
import {
  advance,
  arrive,
  expectNothingSent,
  expectSent,
  type Harness,
  IRS,
  ISS,
  poll,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const code = (c: string) => c.charCodeAt(0);

function read(h: Harness, max = 100): string {
  const into = new Uint8Array(max);
  return text(into.subarray(0, h.conn!.receive(into, h.now)));
}

describe("receiving the urgent pointer", () => {
  test("MUST-30 MUST-62: the pointer names the octet after the urgent data; that last byte is out of band", () => {
    const h = tcbInState("ESTABLISHED");
    // Urgent pointer 4 from SEG.SEQ: "abcX" is urgent, X its last byte (MUST-62).
    arrive(h, seg({ flags: "AUP", seq: IRS + 1, ack: ISS + 1, urg: 4, data: "abcXdef" }));
    const conn = h.conn!;
    expect(conn.urgentPending).toBe(true); // MUST-32: POLLPRI
    expect(conn.readableBytes).toBe(6); // X is not in band
    expect(read(h)).toBe("abc"); // a read stops at the mark
    expect(conn.atUrgentMark).toBe(true); // MUST-33: SIOCATMARK
    expect(conn.takeUrgent(true)).toBe(code("X")); // MSG_PEEK leaves it
    expect(conn.takeUrgent(false)).toBe(code("X"));
    expect(conn.takeUrgent(false)).toBe("none"); // read already: EINVAL
    expect(conn.urgentPending).toBe(false);
    expect(read(h)).toBe("def"); // the rest, past the hole
    expect(conn.atUrgentMark).toBe(false);
  });

  test("a read that reaches the mark steps over the out-of-band byte, which stays readable until passed", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 1, data: "!abc" }));
    expect(h.conn!.atUrgentMark).toBe(true);
    expect(read(h)).toBe("abc");
    // Read past without MSG_OOB: the byte is gone, as on Linux (EINVAL after).
    expect(h.conn!.takeUrgent(false)).toBe("none");
  });

  test("MUST-31: an urgent sequence of any length, longer than the segment that announces it", () => {
    const h = tcbInState("ESTABLISHED");
    // The pointer says 3000 urgent bytes; only 100 of them arrive in this segment.
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 3000, data: "u".repeat(100) }));
    expect(h.conn!.takeUrgent(false)).toBe("not-yet"); // EAGAIN
    expect(h.conn!.urgentPending).toBe(false);
    expect(read(h, 4000)).toBe("u".repeat(100));
    // The rest of the urgent data, each segment repeating the pointer from its own SEG.SEQ.
    let seq = IRS + 101;
    for (let i = 0; i < 2; i++) {
      arrive(
        h,
        seg({ flags: "AU", seq, ack: ISS + 1, urg: IRS + 3001 - seq, data: "u".repeat(1400) }),
      );
      seq += 1400;
    }
    arrive(h, seg({ flags: "A", seq, ack: ISS + 1, data: `${"u".repeat(99)}!tail` }));
    expect(h.conn!.urgentPending).toBe(true);
    expect(read(h, 4000).length).toBe(2899); // the other urgent bytes, in band
    expect(h.conn!.takeUrgent(false)).toBe(code("!"));
    expect(read(h)).toBe("tail");
  });

  test("SO_OOBINLINE: the urgent byte stays in the stream; reads still stop at the mark", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.options = { ...h.conn!.options, oobInline: true };
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 3, data: "abXcd" }));
    expect(h.conn!.readableBytes).toBe(5);
    expect(read(h)).toBe("ab");
    expect(h.conn!.atUrgentMark).toBe(true);
    expect(h.conn!.takeUrgent(false)).toBe("none"); // EINVAL with SO_OOBINLINE
    expect(read(h)).toBe("Xcd");
    expect(h.conn!.atUrgentMark).toBe(false);
  });

  test("RFC 6093 §3.3: a newer pointer replaces an unread urgent byte; an older one is ignored", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 2, data: "aX" }));
    arrive(h, seg({ flags: "AU", seq: IRS + 3, ack: ISS + 1, urg: 2, data: "bY" }));
    // A retransmission naming the first mark again changes nothing.
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 2, data: "aX" }));
    expect(h.conn!.takeUrgent(false)).toBe(code("Y"));
    expect(read(h)).toBe("aXb"); // X is ordinary data now
  });

  test("MUST-66: URG is processed at RCV.NXT even when the receive window is zero", () => {
    const h = tcbInState("ESTABLISHED", { receiveBufferBytes: 4 });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, data: "full" }));
    advance(h, 1000);
    h.sent.length = 0;
    // The window is closed; the peer announces urgent data it cannot send yet.
    arrive(h, seg({ flags: "AU", seq: IRS + 5, ack: ISS + 1, urg: 10 }));
    expect(h.conn!.urgent.mark).toBe(IRS + 14);
    expect(h.conn!.takeUrgent(false)).toBe("not-yet");
    expect(read(h)).toBe("full"); // in-band data before the mark still reads
  });

  test("a pointer of 0 and a URG in CLOSE-WAIT are ignored (RFC 9293 §3.10.7.4 sixth)", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "AU", seq: IRS + 1, ack: ISS + 1, urg: 0, data: "ab" }));
    expect(h.conn!.urgent.mark).toBeUndefined();
    const w = tcbInState("CLOSE-WAIT");
    arrive(w, seg({ flags: "AU", seq: IRS + 2, ack: ISS + 1, urg: 5 }));
    expect(w.conn!.urgent.mark).toBeUndefined();
  });
});

describe("sending urgent data", () => {
  test("MUST-30 MUST-62: send(MSG_OOB) sends URG with the pointer after the last urgent byte", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(new TextEncoder().encode("abc"), h.now);
    h.conn!.markUrgent();
    poll(h);
    expectSent(h, { flags: "PAU", seq: ISS + 1, urg: 3, data: "abc" });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 4 }));
    h.conn!.send(new TextEncoder().encode("d"), h.now);
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 4, urg: 0, data: "d" }); // urgent mode is over
  });

  test("Nagle does not hold urgent data back (as Linux tcp_nagle_test)", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(new TextEncoder().encode("first"), h.now);
    poll(h);
    expectSent(h, { flags: "PA", data: "first" });
    h.conn!.send(new TextEncoder().encode("!"), h.now); // unacknowledged data in flight
    poll(h);
    expectNothingSent(h); // Nagle holds a plain small segment
    h.conn!.markUrgent();
    poll(h);
    expectSent(h, { flags: "PAU", seq: ISS + 6, urg: 1, data: "!" });
  });

  test("the pointer reaches the peer through a closed window, on the window probe", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0 }));
    h.conn!.send(new TextEncoder().encode("abort"), h.now);
    h.conn!.markUrgent();
    poll(h);
    expectNothingSent(h);
    advance(h, 5000); // the persist timer fires
    const probe = h.sent.shift()!;
    expect(probe.flags).toContain("U");
    expect(probe.seq).toBe(ISS); // SND.UNA - 1
    expect(probe.urg).toBe(6); // points after the 5 urgent bytes, counted from ISS
  });

  test("a pointer more than 65535 bytes ahead is sent as 0xFFFF", () => {
    const h = tcbInState("ESTABLISHED", { sendBufferBytes: 100_000 });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 1000 }));
    h.conn!.send(new Uint8Array(70_000), h.now);
    h.conn!.markUrgent();
    poll(h);
    const first = h.sent.shift()!;
    expect(first.flags).toContain("U");
    expect(first.urg).toBe(0xffff);
  });
});
