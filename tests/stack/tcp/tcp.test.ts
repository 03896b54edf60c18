/**
 * The TCP layer around the state machine: demultiplexing (RFC 9293 §3.10.7), listener
 * lookup, drops with named counters, ICMP errors (RFC 1122 §4.2.3.9, RFC 5927, RFC 1191),
 * the socket-layer hooks, timers in a heap, and ISN selection (RFC 6528).
 */
import { describe, expect, test } from "bun:test";
import { IsnGenerator } from "../../../stack/tcp/isn.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import {
  advance,
  arrive,
  datagram,
  expectNothingSent,
  expectSent,
  harness,
  IRS,
  ISS,
  icmpError,
  LOCAL,
  poll,
  REMOTE,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";
import { tcpBytes } from "../../helpers/tcp_wire.ts";

describe("demultiplexing", () => {
  test("a listener on the specific address wins over the wildcard", () => {
    const h = harness();
    const wildcard = h.tcp.listen(0, 80, 8);
    const specific = h.tcp.listen(LOCAL, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    expect(specific.acceptQueueLength).toBe(1);
    expect(wildcard.acceptQueueLength).toBe(0);
  });

  test("segments go to the connection of their four-tuple", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "S", seq: 7000, sourcePort: 5001 })); // another peer port: new connection
    expectSent(h, { flags: "SA", ack: 7001 });
    expect(h.tcp.connectionCount).toBe(2);
    expect(h.tcp.fourTupleInUse(LOCAL, 80, REMOTE, 5000)).toBe(true);
    expect(h.tcp.fourTupleInUse(LOCAL, 80, REMOTE, 5002)).toBe(false);
    expect(h.tcp.portInUse(LOCAL, 80)).toBe(true);
    expect(h.tcp.portInUse(LOCAL, 81)).toBe(false);
    expect([...h.tcp.connections()]).toHaveLength(2);
  });

  test("broadcast segments, bad options and bad checksums are dropped and counted", () => {
    const h = tcbInState("LISTEN");
    h.tcp.input(
      datagram(REMOTE, LOCAL, tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 1 }), true),
      h.now,
    );
    expect(h.stats.get("tcpInBroadcast")).toBe(1);
    const bad = tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 1, options: { mss: 1460 } }).slice();
    bad[21] = 1; // MSS option length 1: malformed (the checksum catches it first otherwise)
    bad[16] = 0;
    bad[17] = 0;
    const fixed = tcpBytes(REMOTE, LOCAL, { flags: "S", seq: 1, options: { mss: 1460 } });
    h.tcp.input(datagram(REMOTE, LOCAL, fixed.slice(0, 10)), h.now);
    expect(h.stats.get("tcpInErrs")).toBe(1);
    h.tcp.input(datagram(REMOTE, LOCAL, bad), h.now);
    expect(h.stats.get("tcpInCsumErrors") + h.stats.get("tcpInBadOptions")).toBe(1);
    expectNothingSent(h);
  });
});

describe("the socket-layer contract", () => {
  test("onChange fires when data arrives and when the state changes", () => {
    const h = tcbInState("ESTABLISHED");
    let changes = 0;
    h.conn!.onChange = () => changes++;
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 1, data: "hi" }));
    expect(changes).toBe(1);
    arrive(h, seg({ flags: "FA", seq: IRS + 3, ack: ISS + 1 }));
    expect(changes).toBe(2);
    expect(h.conn!.readableBytes).toBe(2);
    expect(h.conn!.receivedFin).toBe(false); // not until the bytes before the FIN are read
    h.conn!.receive(new Uint8Array(10), h.now);
    expect(h.conn!.receivedFin).toBe(true);
  });

  test("send takes what fits and returns 0 when the buffer is full; writableBytes follows", () => {
    const h = harness();
    const conn = h.tcp.connect(
      { address: LOCAL, port: 80 },
      { address: REMOTE, port: 5000 },
      { ...defaultTcpConnectionOptions(), sendBufferBytes: 2048 },
      h.now,
    );
    expect(conn.send(new Uint8Array(5000), h.now)).toBe(2048);
    expect(conn.send(new Uint8Array(10), h.now)).toBe(0);
    expect(conn.writableBytes).toBe(0);
    expect(conn.sending).toBe(true);
  });

  test("listener close resets its half-open and unaccepted connections", () => {
    const h = tcbInState("SYN-RECEIVED");
    arrive(h, seg({ flags: "S", seq: 9000, sourcePort: 6000 }));
    expectSent(h, { flags: "SA" });
    arrive(h, seg({ flags: "A", seq: 9001, ack: ISS + 1, sourcePort: 6000 }));
    h.listener!.close(h.now);
    const resets = h.sent.filter((s) => s.flags === "R");
    expect(resets).toHaveLength(2);
    expect(h.tcp.connectionCount).toBe(0);
    expect(h.tcp.portInUse(LOCAL, 80)).toBe(false);
  });

  test("info() reports RFC 6298 and congestion state (TCP_INFO)", () => {
    const h = tcbInState("ESTABLISHED");
    const info = h.conn!.info(h.now);
    expect(info.state).toBe("ESTABLISHED");
    expect(info.sndMss).toBe(536); // the peer's SYN carried no MSS option (RFC 9293 §3.7.1)
    expect(info.cwndBytes).toBe(10 * 536); // RFC 6928 IW: min(10·MSS, max(2·MSS, 14600))
  });
});

describe("ICMP errors (RFC 1122 §4.2.3.9, RFC 5927)", () => {
  function quoted(seq: number): Uint8Array {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(4, seq);
    return bytes;
  }

  test("in a synchronized state a host unreachable is soft: reported only if we then time out", () => {
    // RFC 9293 MUST-54 MUST-56 MUST-47 SHLD-25: ICMP acted on as a soft error: no abort, reported if the connection then fails.
    const h = tcbInState("ESTABLISHED", { maxRetries: 1 });
    h.conn!.send(new Uint8Array(10), h.now);
    poll(h);
    icmpError(h, { error: "EHOSTUNREACH", quoted: quoted(ISS + 1) });
    expect(h.conn!.state).toBe("ESTABLISHED");
    advance(h, 10_000);
    expect(h.conn!.error).toBe("EHOSTUNREACH");
  });

  test("a quoted sequence number outside SND.UNA..SND.MAX is ignored (RFC 5927 §4.1)", () => {
    const h = tcbInState("SYN-SENT");
    icmpError(h, { error: "ECONNREFUSED", quoted: quoted(ISS + 100_000) });
    expect(h.conn!.state).toBe("SYN-SENT");
    expect(h.stats.get("tcpIcmpOutOfWindow")).toBe(1);
  });

  test("fragmentation needed lowers the MSS and resends smaller (RFC 1191)", () => {
    // RFC 9293 SHLD-6 MUST-54: the MSS follows the path MTU.
    const h = tcbInState("ESTABLISHED");
    const conn = h.conn as Tcb;
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, options: {} }));
    conn.sndMss = 1460;
    conn.send(new Uint8Array(3000), h.now);
    poll(h);
    h.sent.length = 0;
    icmpError(h, { error: "EMSGSIZE", nextHopMtu: 1000, quoted: quoted(ISS + 1) });
    poll(h);
    expect(conn.smss).toBe(960);
    expect(h.sent[0]!.data.length).toBe(960);
  });
});

describe("timers and ISNs", () => {
  test("nextDeadline is the earliest timer of any connection (a stale one may fire early)", () => {
    const h = tcbInState("ESTABLISHED", { keepaliveIdleMs: 50_000 });
    // The SYN,ACK's retransmission timer was stopped; its heap entry is stale and
    // fires harmlessly, after which nothing is due.
    advance(h, h.tcp.nextDeadline() - h.now);
    expectNothingSent(h);
    expect(h.tcp.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    h.conn!.send(new Uint8Array(10), h.now);
    expect(h.tcp.nextDeadline()).toBe(Number.NEGATIVE_INFINITY); // output owed now
    poll(h);
    expect(h.tcp.nextDeadline()).toBe(h.conn!.retransmitAt);
  });

  test("RFC 6528: ISNs differ per four-tuple and advance with the 4 µs clock", () => {
    // RFC 9293 MUST-8 SHLD-1: a clock-driven ISN through a keyed PRF of the four-tuple.
    const isn = new IsnGenerator(new Uint8Array(8).fill(1));
    const a = isn.isn(LOCAL, 80, REMOTE, 5000, 0);
    const b = isn.isn(LOCAL, 80, REMOTE, 5001, 0);
    expect(a).not.toBe(b);
    expect((isn.isn(LOCAL, 80, REMOTE, 5000, 1000) - a) >>> 0).toBe(250_000); // 1 s = 250 000 ticks
    const other = new IsnGenerator(new Uint8Array(8).fill(2));
    expect(other.isn(LOCAL, 80, REMOTE, 5000, 0)).not.toBe(a); // keyed
  });

  test("state transitions are traced with the RFC's words", () => {
    const transitions: string[] = [];
    const h = harness();
    (h.tcp.host as { trace: unknown }).trace = {
      enabled: true,
      packet() {},
      transition(_c: string, from: string, to: string) {
        transitions.push(`${from} -> ${to}`);
      },
      drop() {},
    };
    h.tcp.listen(0, 80, 8);
    arrive(h, seg({ flags: "S", seq: IRS }));
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    expect(transitions).toEqual(["LISTEN -> SYN-RECEIVED", "SYN-RECEIVED -> ESTABLISHED"]);
  });
});

describe("bounded memory", () => {
  test("a connection in TIME-WAIT keeps only its unread bytes", () => {
    const h = tcbInState("FIN-WAIT-2");
    arrive(h, seg({ flags: "PA", seq: IRS + 1, ack: ISS + 2, data: "unread" }));
    arrive(h, seg({ flags: "FA", seq: IRS + 7, ack: ISS + 2 }));
    const conn = h.conn as Tcb;
    expect(conn.state).toBe("TIME-WAIT");
    expect(conn.recvBuffer.capacity).toBe(6);
    expect(conn.sendBuffer.capacity).toBe(1);
    const into = new Uint8Array(10);
    expect(new TextDecoder().decode(into.subarray(0, conn.receive(into, h.now)))).toBe("unread");
  });
});
