/**
 * A listener's two queues and what overflowing each does, segment by segment
 * (RFC 9293 §3.10.7.2, RFC 4987; counters named as Linux's, whose behaviour we follow):
 *
 * - the accept queue (completed connections accept() has not taken, `backlog`): a SYN
 *   arriving while it is full is dropped, and so is the ACK that would complete a
 *   handshake, whether of a half-open TCB or of a SYN cookie: silently, counted under
 *   tcpListenOverflows and tcpListenDrops, so that the client's retransmission
 *   succeeds once accept() has made room. A RST there would kill a connection the
 *   client already believes established;
 * - the half-open table (SYN-RECEIVED, `synBacklog`): a SYN beyond it is answered with a
 *   SYN cookie, or without cookies dropped, counted under tcpReqQFullDrops and
 *   tcpListenDrops.
 */
import { describe, expect, test } from "bun:test";
import {
  advance,
  arrive,
  expectNothingSent,
  expectSent,
  type Harness,
  harness,
  IRS,
  ISS,
  LOCAL_PORT,
  seg,
} from "../../helpers/tcp_segments.ts";

const A = 5000; // the peer's ports, one per connection
const B = 5001;

function listening(config: { synBacklog: number; synCookies: boolean }, backlog: number) {
  const h = harness(config);
  h.listener = h.tcp.listen(0, LOCAL_PORT, backlog);
  return h;
}

/** A's handshake, completed: A waits in the accept queue. */
function completeA(h: Harness): void {
  arrive(h, seg({ flags: "S", seq: IRS, sourcePort: A }));
  expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, sourcePort: A }));
  expectNothingSent(h);
}

describe("the accept queue is full", () => {
  test("a SYN cookie's valid final ACK is dropped silently (tcpListenDrops), not reset; its retransmission completes the handshake after accept()", () => {
    const h = listening({ synBacklog: 1, synCookies: true }, 1);
    // A fills the half-open table, so B's SYN is answered with a cookie.
    arrive(h, seg({ flags: "S", seq: IRS, sourcePort: A }));
    expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: B }));
    const cookie = expectSent(h, { flags: "SA", ack: 7001 }).seq;
    expect(h.stats.get("tcpSynCookiesSent")).toBe(1);
    // A completes: the accept queue (backlog 1) is full, the half-open table empty again.
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, sourcePort: A }));
    expectNothingSent(h);
    // B's final ACK, with a valid cookie: no room to accept it. Dropped, and no RST.
    const finalAck = seg({ flags: "A", seq: 7001, ack: cookie + 1, sourcePort: B });
    arrive(h, finalAck);
    expectNothingSent(h);
    expect(h.stats.get("tcpListenDrops")).toBe(1);
    expect(h.stats.get("tcpListenOverflows")).toBe(1);
    expect(h.stats.get("tcpSynCookiesRecv")).toBe(0);
    expect(h.tcp.connectionCount).toBe(1);
    // accept() makes room; the client's retransmission (here its first data) gets in.
    expect(h.listener!.accept()).toBeDefined();
    arrive(h, seg({ flags: "PA", seq: 7001, ack: cookie + 1, sourcePort: B, data: "hi" }));
    expect(h.stats.get("tcpSynCookiesRecv")).toBe(1);
    const b = h.listener!.accept();
    expect(b?.state).toBe("ESTABLISHED");
    const into = new Uint8Array(8);
    expect(b!.receive(into, h.now)).toBe(2);
  });

  test("a half-open TCB's final ACK is ignored (tcpListenDrops) and the SYN,ACK retransmits", () => {
    const h = listening({ synBacklog: 8, synCookies: true }, 1);
    arrive(h, seg({ flags: "S", seq: IRS, sourcePort: A }));
    expectSent(h, { flags: "SA" });
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: B }));
    expectSent(h, { flags: "SA", ack: 7001 });
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, sourcePort: A }));
    arrive(h, seg({ flags: "A", seq: 7001, ack: ISS + 1, sourcePort: B })); // queue full
    expectNothingSent(h);
    expect(h.stats.get("tcpListenDrops")).toBe(1);
    expect(h.stats.get("tcpListenOverflows")).toBe(1);
    expect(h.tcp.connectionCount).toBe(2); // B still half-open, waiting for room
    advance(h, 1500); // the initial RTO (RFC 6298 §2.1)
    expectSent(h, { flags: "SA", ack: 7001 });
    expect(h.listener!.accept()).toBeDefined(); // room: B's next ACK completes it
    arrive(h, seg({ flags: "A", seq: 7001, ack: ISS + 1, sourcePort: B }));
    expect(h.listener!.accept()?.state).toBe("ESTABLISHED");
  });

  test("a SYN is dropped and counted under tcpListenDrops, with nothing sent", () => {
    const h = listening({ synBacklog: 8, synCookies: true }, 1);
    completeA(h);
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: B }));
    expectNothingSent(h);
    expect(h.stats.get("tcpListenDrops")).toBe(1);
    expect(h.stats.get("tcpListenOverflows")).toBe(1);
    expect(h.tcp.connectionCount).toBe(1);
  });
});

describe("the half-open table is full", () => {
  test("without SYN cookies a further SYN is dropped (tcpReqQFullDrops, tcpListenDrops)", () => {
    const h = listening({ synBacklog: 1, synCookies: false }, 8);
    arrive(h, seg({ flags: "S", seq: IRS, sourcePort: A }));
    expectSent(h, { flags: "SA" });
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: B }));
    expectNothingSent(h);
    expect(h.stats.get("tcpReqQFullDrops")).toBe(1);
    expect(h.stats.get("tcpListenDrops")).toBe(1);
    expect(h.tcp.connectionCount).toBe(1);
  });

  test("with SYN cookies a further SYN gets a cookie and no TCB; nothing is dropped", () => {
    const h = listening({ synBacklog: 1, synCookies: true }, 8);
    arrive(h, seg({ flags: "S", seq: IRS, sourcePort: A }));
    expectSent(h, { flags: "SA" });
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: B }));
    expectSent(h, { flags: "SA", ack: 7001 });
    expect(h.stats.get("tcpSynCookiesSent")).toBe(1);
    expect(h.stats.get("tcpReqQFullDrops")).toBe(0);
    expect(h.stats.get("tcpListenDrops")).toBe(0);
    expect(h.tcp.connectionCount).toBe(1);
  });
});
