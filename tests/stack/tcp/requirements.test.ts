/**
 * RFC 9293 requirements (§4, Table 8) that no other test checked on its own: one test
 * per requirement, its ID in the title, at segment level where TCP alone decides
 * (tests/helpers/tcp_segments.ts). docs/rfc9293-requirements.md maps every ID to its
 * code and tests; tests/docs/rfc9293_requirements.test.ts keeps that map true.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { defaultTcpConfig } from "../../../stack/tcp/config.ts";
import { finishChecksum } from "../../../stack/tcp/header.ts";
import { emitOptions, optionsLength } from "../../../stack/tcp/options.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import { ipHost } from "../../helpers/ip_host.ts";
import { HOST, icmpMessage, ipv4Packet, PEER } from "../../helpers/packets.ts";
import { ADDRESS_A, ADDRESS_B, socketHosts } from "../../helpers/socket_hosts.ts";
import {
  advance,
  arrive,
  datagram,
  expectNothingSent,
  expectSent,
  harness,
  IRS,
  ISS,
  LOCAL,
  LOCAL_PORT,
  poll,
  REMOTE,
  REMOTE_PORT,
  seg,
  tcbInState,
} from "../../helpers/tcp_segments.ts";

const bytes = (n: number) => new Uint8Array(n).fill(0x61);

/** A segment from the peer with `options` written as raw bytes (any alignment, any kind). */
function rawSegment(flags: number, seq: number, ack: number, options: number[], data = 0) {
  const optionBytes = [...options];
  while (optionBytes.length % 4 !== 0) optionBytes.push(0);
  const headerLength = 20 + optionBytes.length;
  const packet = new Uint8Array(20 + headerLength + data);
  const view = new DataView(packet.buffer, 20);
  view.setUint16(0, REMOTE_PORT);
  view.setUint16(2, LOCAL_PORT);
  view.setUint32(4, seq);
  view.setUint32(8, ack);
  view.setUint8(12, (headerLength / 4) << 4);
  view.setUint8(13, flags);
  view.setUint16(14, 65535);
  packet.set(optionBytes, 40);
  finishChecksum(packet, REMOTE, LOCAL);
  return datagram(REMOTE, LOCAL, packet.subarray(20));
}

describe("TCP options (RFC 9293 §3.1, §3.7.1)", () => {
  test("MUST-6 MUST-64: an unknown option is skipped and an unaligned MSS option is read", () => {
    const h = harness();
    h.tcp.listen(0, LOCAL_PORT, 8);
    // NOP, then MSS 1000 starting at offset 1 (not on a word), then unknown kind 254.
    const options = [1, 2, 4, 0x03, 0xe8, 254, 4, 0xaa, 0xbb];
    h.tcp.input(rawSegment(0x02, IRS, 0, options), h.now);
    expectSent(h, { flags: "SA", ack: IRS + 1 });
    const conn = [...h.tcp.connections()][0] as Tcb;
    expect(conn.sndMss).toBe(1000); // MUST-64
  });

  test("MUST-5: an option on a data segment (not only on the SYN) is received", () => {
    const h = tcbInState("ESTABLISHED");
    h.tcp.input(rawSegment(0x18, IRS + 1, ISS + 1, [1, 1, 254, 6, 1, 2, 3, 4], 100), h.now);
    expect(h.conn!.readableBytes).toBe(100);
  });

  test("MUST-14 MUST-65 MUST-67 SHLD-5 MAY-3: our SYN carries MSS = MTU − 40; no other segment carries one", () => {
    const h = tcbInState("SYN-SENT"); // consumes the SYN
    const again = harness();
    again.tcp.connect(
      { address: LOCAL, port: LOCAL_PORT },
      { address: REMOTE, port: REMOTE_PORT },
      defaultTcpConnectionOptions(),
      again.now,
    );
    const syn = expectSent(again, { flags: "S" });
    expect(syn.options.mss).toBe(1500 - 40); // MUST-67: from MMS_R, the MTU less the headers
    const e = tcbInState("ESTABLISHED");
    e.conn!.send(bytes(10), e.now);
    poll(e);
    expect(expectSent(e, { flags: "PA" }).options.mss).toBeUndefined(); // MUST-65
    expect(h.conn!.state).toBe("SYN-SENT");
  });

  test("MUST-15 MUST-16: without an MSS option the send MSS is 536; with one, segments are that size", () => {
    const h = tcbInState("ESTABLISHED"); // the peer's SYN had no options
    expect(h.conn!.sndMss).toBe(536); // MUST-15
    h.conn!.send(bytes(1000), h.now);
    poll(h);
    expect(expectSent(h, { flags: "A" }).data.length).toBe(536); // MUST-16
    const m = harness();
    m.tcp.listen(0, LOCAL_PORT, 8);
    arrive(m, seg({ flags: "S", seq: IRS, options: { mss: 700 } }));
    expectSent(m, { flags: "SA" });
    arrive(m, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
    const conn = [...m.tcp.connections()][0]!;
    conn.send(bytes(1000), m.now);
    poll(m);
    expect(expectSent(m, { flags: "A" }).data.length).toBe(700); // MUST-16
  });
});

describe("checksums, option emission and keep-alive defaults", () => {
  test("MUST-2: every segment we send carries a correct checksum", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(bytes(3000), h.now);
    poll(h);
    expect(h.sent.length).toBeGreaterThan(0);
    for (const s of h.sent) expect(s.checksumOk).toBe(true);
  });

  test("MUST-3: a segment with a bad checksum is dropped unread and counted", () => {
    const h = tcbInState("ESTABLISHED");
    const d = rawSegment(0x18, IRS + 1, ISS + 1, [], 10);
    const corrupt = new Uint8Array(d.payload);
    corrupt[corrupt.length - 1]! ^= 0xff;
    h.tcp.input({ ...d, payload: corrupt }, h.now);
    expect(h.conn!.readableBytes).toBe(0);
    expect(h.stats.get("tcpInCsumErrors")).toBe(1);
    expectNothingSent(h);
  });

  test("MUST-68 MUST-69: every option we emit but NOP/EOL has a length; the list fills whole words", () => {
    fc.assert(
      fc.property(
        fc.record({
          mss: fc.option(fc.nat(0xffff), { nil: undefined }),
          windowScale: fc.option(fc.nat(14), { nil: undefined }),
          sackPermitted: fc.boolean(),
          timestamp: fc.option(fc.record({ value: fc.nat(), echo: fc.nat() }), { nil: undefined }),
          sackBlocks: fc.option(
            fc.array(fc.record({ left: fc.nat(), right: fc.nat() }), {
              minLength: 1,
              maxLength: 3,
            }),
            { nil: undefined },
          ),
        }),
        (options) => {
          const into = new Uint8Array(60);
          const end = emitOptions(options, into, 0);
          expect(end % 4).toBe(0); // MUST-69: no partial word, so no padding beyond zeros
          expect(end).toBe(optionsLength(options));
          for (let i = 0; i < end; ) {
            const kind = into[i]!;
            if (kind === 0) {
              expect([...into.subarray(i, end)].every((b) => b === 0)).toBe(true);
              break;
            }
            if (kind === 1) {
              i++;
              continue;
            }
            expect(into[i + 1]).toBeGreaterThanOrEqual(2); // MUST-68: a length octet
            i += into[i + 1]!;
          }
        },
      ),
      { seed: 9293, numRuns: 300 },
    );
  });

  test("MUST-25 MUST-28: keep-alive is off by default, and idles at least two hours", () => {
    expect(defaultTcpConnectionOptions().keepAlive).toBe(false); // MUST-25
    expect(defaultTcpConfig().keepaliveIdleMs).toBeGreaterThanOrEqual(2 * 3600 * 1000); // MUST-28
    const h = tcbInState("ESTABLISHED");
    advance(h, 3 * 3600 * 1000);
    expectNothingSent(h); // no probe unless asked (MUST-24)
  });

  test("MUST-26: a keep-alive goes only after the idle interval; traffic restarts it", () => {
    const h = tcbInState("ESTABLISHED", { keepaliveIdleMs: 10_000 });
    h.conn!.options = { ...h.conn!.options, keepAlive: true };
    poll(h);
    advance(h, 6000);
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 })); // the peer is heard from
    advance(h, 6000);
    expectNothingSent(h); // 12 s since the start, but only 6 s idle
    advance(h, 4000);
    expectSent(h, { flags: "A", seq: ISS, data: 0 }); // SHLD-12: no data in the probe
  });
});

describe("windows, PUSH and Nagle", () => {
  test("MUST-1: the window field is unsigned: 65535 is a large window, not a negative one", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0xffff }));
    expect(h.conn!.sndWnd).toBe(65535);
  });

  test("MUST-60 MUST-61 SHLD-27 SHLD-28: full segments, PSH only on the last of the queued data", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(bytes(3000), h.now);
    poll(h);
    // Full 536-byte segments without PSH; Nagle keeps the 320-byte tail while they are
    // unacknowledged (SHLD-28: full-sized segments whenever possible)...
    expect(h.sent.map((s) => `${s.flags}:${s.data.length}`)).toEqual([
      "A:536",
      "A:536",
      "A:536",
      "A:536",
      "A:536",
    ]);
    h.sent.length = 0;
    // ... but not indefinitely (MUST-60): the ACK releases it, with PSH as the last
    // buffered segment (MUST-61).
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 + 2680 }));
    poll(h);
    expect(h.sent.map((s) => `${s.flags}:${s.data.length}`)).toEqual(["PA:320"]);
  });

  test("MUST-17 MUST-38 SHLD-7 MAY-16: Nagle and sender SWS hold a small segment; TCP_NODELAY sends it", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(bytes(10), h.now);
    poll(h);
    expectSent(h, { flags: "PA", data: 10 });
    h.conn!.send(bytes(5), h.now);
    poll(h);
    expectNothingSent(h); // SHLD-7 MAY-16: Nagle holds it
    h.conn!.options = { ...h.conn!.options, noDelay: true };
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 11, data: 5 });
  });

  test("SHLD-14: the right edge we advertise never moves left, even as the buffer fills", () => {
    const h = harness();
    const conn = h.tcp.connect(
      { address: LOCAL, port: LOCAL_PORT },
      { address: REMOTE, port: REMOTE_PORT },
      { ...defaultTcpConnectionOptions(), receiveBufferBytes: 4096 },
      h.now,
    );
    arrive(h, seg({ flags: "SA", seq: IRS, ack: ISS + 1 }));
    expect(conn.state).toBe("ESTABLISHED");
    let edge = 0;
    let checked = 0;
    for (let i = 0; i < 8; i++) {
      arrive(h, seg({ flags: "A", seq: IRS + 1 + i * 512, ack: ISS + 1, data: bytes(512) }));
      advance(h, 200);
      for (const s of h.sent) {
        expect(s.ack + s.wnd).toBeGreaterThanOrEqual(edge); // never left
        edge = s.ack + s.wnd;
        checked++;
      }
      h.sent.length = 0;
    }
    expect(checked).toBeGreaterThan(3);
    expect(edge).toBe(IRS + 1 + 4096); // the buffer is full: the window closed in place
  });

  test("MUST-34 SHLD-15 SHLD-16: a window the peer shrinks under our data: no new data, the old data resent within it", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(bytes(2000), h.now);
    poll(h);
    h.sent.length = 0;
    // The peer acknowledges 536 bytes and shrinks its window to 100: the edge is now
    // below SND.NXT; the usable window is negative and nothing new is sent.
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 537, wnd: 100 }));
    poll(h);
    expect(h.sent.filter((s) => s.data.length > 0)).toEqual([]);
    expect(h.conn!.state).toBe("ESTABLISHED");
    // SHLD-16: at the timeout the unacknowledged data inside the window goes again.
    advance(h, 1500);
    const resent = h.sent.filter((s) => s.data.length > 0);
    expect(resent[0]).toMatchObject({ seq: ISS + 537 });
    expect(resent[0]!.data.length).toBeLessThanOrEqual(100);
  });

  test("MUST-37: a zero window may stay closed for as long as the peer answers the probes", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0 }));
    h.conn!.send(bytes(100), h.now);
    poll(h);
    let probes = 0;
    for (let minute = 0; minute < 60; minute++) {
      advance(h, 60_000);
      probes += h.sent.length;
      h.sent.length = 0;
      arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0 })); // still shut
    }
    expect(probes).toBeGreaterThan(30);
    expect(h.conn!.state).toBe("ESTABLISHED"); // an hour later, still open
  });
});

describe("connection failures and the application's say (RFC 9293 §3.8.3, §3.9)", () => {
  test("MUST-21: TCP_USER_TIMEOUT sets R2 for a connection: it fails after 3 s, not 15 timeouts", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.options = { ...h.conn!.options, userTimeoutMs: 3000 };
    h.conn!.send(bytes(10), h.now);
    poll(h);
    advance(h, 2500);
    expect(h.conn!.state).toBe("ESTABLISHED");
    advance(h, 2000); // the next timeout after 3 s gives up
    expect(h.conn!.error).toBe("ETIMEDOUT");
    expect(h.conn!.retries).toBeLessThan(6); // the stack's own R2 is 15 retransmissions
  });

  test("MUST-48 MUST-49 SHLD-21 SHLD-22: IP_TOS and IP_TTL reach IP unchanged, and can change mid-connection", () => {
    const h = tcbInState("ESTABLISHED");
    h.conn!.send(bytes(10), h.now);
    poll(h);
    expect(expectSent(h, { flags: "PA" })).toMatchObject({
      ttl: undefined,
      typeOfService: undefined,
    });
    h.conn!.options = { ...h.conn!.options, ttl: 9, typeOfService: 0xb8 };
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 11 }));
    h.conn!.send(bytes(10), h.now);
    poll(h);
    expect(expectSent(h, { flags: "PA" })).toMatchObject({ ttl: 9, typeOfService: 0xb8 });
  });

  test("MUST-48 MUST-49: setsockopt IP_TOS / IP_TTL on a socket, checked like Linux", async () => {
    const { a } = socketHosts();
    const fd = a.api.socket("inet", "stream");
    a.api.setsockopt(fd, "IP_TTL", 12);
    a.api.setsockopt(fd, "IP_TOS", 0x10);
    expect(a.api.getsockopt(fd, "IP_TTL")).toBe(12);
    expect(a.api.getsockopt(fd, "IP_TOS")).toBe(0x10);
    expect(() => a.api.setsockopt(fd, "IP_TTL", 0)).toThrow(/EINVAL/);
    a.api.setsockopt(fd, "IP_TTL", -1);
    expect(a.api.getsockopt(fd, "IP_TTL")).toBe(64);
  });

  test("MUST-43 MUST-44 MUST-45: OPEN with a local address uses it; without one, the host's own", async () => {
    const { a, b, run } = socketHosts();
    const server = b.api.socket("inet", "stream");
    b.api.bind(server, "0.0.0.0", 80);
    b.api.listen(server);
    const bound = a.api.socket("inet", "stream");
    a.api.bind(bound, ADDRESS_A, 4321);
    await run(a.api.connect(bound, ADDRESS_B, 80));
    const accepted = await run(b.api.accept(server));
    expect(b.api.getpeername(accepted)).toEqual({ address: ADDRESS_A, port: 4321 });
    const free = a.api.socket("inet", "stream");
    await run(a.api.connect(free, ADDRESS_B, 80));
    expect(a.api.getsockname(free).address).toBe(ADDRESS_A);
  });

  test("MUST-41 MUST-42: LISTEN on a port whose connection is in SYN-SENT; neither disturbs the other", () => {
    const h = harness();
    const active = h.tcp.connect(
      { address: LOCAL, port: LOCAL_PORT },
      { address: REMOTE, port: REMOTE_PORT },
      defaultTcpConnectionOptions(),
      h.now,
    );
    expectSent(h, { flags: "S" });
    h.listener = h.tcp.listen(0, LOCAL_PORT, 8); // MUST-42: allowed
    expect(active.state).toBe("SYN-SENT"); // MUST-41: the existing record is untouched
    h.tcp.input(
      datagram(0x0a000003, LOCAL, tcpBytesFrom(0x0a000003, { flags: "S", seq: 7 })),
      h.now,
    );
    expectSent(h, { flags: "SA", ack: 8, destination: 0x0a000003 });
    expect(active.state).toBe("SYN-SENT");
  });

  test("SHLD-4: with timestamps, a newer TSval reopens TIME-WAIT even below RCV.NXT; an older one does not", () => {
    const timeWait = () => {
      const h = harness({ timestamps: true });
      h.listener = h.tcp.listen(0, LOCAL_PORT, 8);
      const ts = (value: number) => ({ timestamp: { value, echo: 0 } });
      arrive(h, seg({ flags: "S", seq: IRS, options: ts(100) }));
      const synAck = expectSent(h, { flags: "SA" });
      const echo = synAck.options.timestamp!.value;
      const t = (value: number) => ({ timestamp: { value, echo } });
      arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, options: t(101) }));
      const conn = h.listener.accept() as Tcb;
      expect(conn.tsEnabled).toBe(true);
      conn.close(h.now);
      poll(h);
      arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2, options: t(102) }));
      expect(conn.state).toBe("TIME-WAIT");
      h.sent.length = 0;
      return { h, conn };
    };
    // A SYN whose sequence number is old but whose TSval is newer: a new incarnation.
    const reopened = timeWait();
    arrive(
      reopened.h,
      seg({ flags: "S", seq: IRS - 50_000, options: { timestamp: { value: 500, echo: 0 } } }),
    );
    expect(reopened.conn.state).toBe("CLOSED");
    expectSent(reopened.h, { flags: "SA", ack: (IRS - 49_999) >>> 0 });
    // A SYN above RCV.NXT but with an older TSval: an old duplicate, TIME-WAIT stays.
    const kept = timeWait();
    arrive(
      kept.h,
      seg({ flags: "S", seq: IRS + 100_000, options: { timestamp: { value: 50, echo: 0 } } }),
    );
    expect(kept.conn.state).toBe("TIME-WAIT");
  });

  test("SHLD-2: a RST carrying data still resets the connection", () => {
    const h = tcbInState("ESTABLISHED");
    arrive(h, seg({ flags: "R", seq: IRS + 1, data: "connection refused by policy" }));
    expect(h.conn!.error).toBe("ECONNRESET");
  });
});

describe("IP options and ICMP as TCP sees them (RFC 9293 §3.9.2)", () => {
  test("MUST-50: a segment in a datagram with IP options TCP does not understand is delivered", () => {
    const host = ipHost();
    // NOP, NOP, an unassigned option (kind 0x1e, length 4), padded to a word.
    const options = Uint8Array.of(1, 1, 0x1e, 4, 0xde, 0xad, 0, 0);
    host.receive(ipv4Packet({ protocol: 6, options, payload: new Uint8Array(20) }), 0);
    expect(host.tcp.inputs.length).toBe(1);
  });

  test("MUST-55: a Source Quench is silently discarded: TCP never hears of it", () => {
    const host = ipHost();
    // Source Quench (type 4) quoting a TCP segment we sent (IP header + 8 octets).
    const quoted = ipv4Packet({
      source: HOST,
      destination: PEER,
      protocol: 6,
      payload: new Uint8Array(8),
    });
    host.receive(ipv4Packet({ protocol: 1, payload: icmpMessage({ type: 4, data: quoted }) }), 0);
    expect(host.tcp.icmpErrors).toEqual([]);
    expect(host.sent).toEqual([]);
  });
});

function tcpBytesFrom(source: number, spec: { flags: string; seq: number }): Uint8Array {
  const d = rawSegment(spec.flags === "S" ? 0x02 : 0x10, spec.seq, 0, []);
  // rawSegment checksums for REMOTE; redo it for `source`.
  const packet = new Uint8Array(20 + d.payload.length);
  packet.set(d.payload, 20);
  packet[20 + 16] = 0;
  packet[20 + 17] = 0;
  finishChecksum(packet, source, LOCAL);
  return packet.subarray(20);
}
