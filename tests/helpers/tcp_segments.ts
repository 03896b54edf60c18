/**
 * Segment-level TCP tests that read like timing diagrams:
 *
 *   const t = tcbInState("LISTEN");
 *   arrive(t, seg({ flags: "S", seq: 100 }));
 *   expectSent(t, { flags: "SA", seq: ISS, ack: 101 });
 *
 * The `Tcp` layer runs alone on a stand-in host whose IPv4 output is recorded and parsed
 * back, so a test states segments and never bytes. The peer is 10.0.0.1:5000, we are
 * 10.0.0.2:80; our ISS is forced to `ISS`, the peer's is `IRS`. Options (SACK, timestamps,
 * window scale) are off unless a test turns them on, so segments stay small.
 */
import { expect } from "bun:test";
import { systemEntropy } from "../../device/system_entropy.ts";
import type { IcmpErrorReport, Ipv4Datagram, Ipv4Send } from "../../stack/ipv4/datagram.ts";
import { ipv4Network } from "../../stack/network.ts";
import { Random } from "../../stack/random.ts";
import { Stats } from "../../stack/stats.ts";
import type { TcpConnection, TcpListener, TcpState } from "../../stack/tcp/connection.ts";
import { flagsText, parseSegment, type TcpSegment } from "../../stack/tcp/header.ts";
import type { TcpOptions } from "../../stack/tcp/options.ts";
import type { Tcb } from "../../stack/tcp/tcb.ts";
import { defaultTcpConnectionOptions, Tcp, type TcpConfig } from "../../stack/tcp/tcp.ts";
import { NO_TRACE } from "../../stack/trace.ts";
import { checksumOk, tcpBytes } from "./tcp_wire.ts";

export const LOCAL = 0x0a000002; // 10.0.0.2
export const REMOTE = 0x0a000001; // 10.0.0.1
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 5000;
export const ISS = 1000;
export const IRS = 100;

export interface SegmentSpec {
  /** tcpdump-like letters: S, A, F, R, P, U (any order). */
  flags: string;
  seq?: number;
  ack?: number;
  wnd?: number;
  /** The urgent pointer field (RFC 9293 §3.8.5); send it with flag U. */
  urg?: number;
  data?: Uint8Array | string;
  options?: TcpOptions;
  sourcePort?: number;
  destinationPort?: number;
}

/** What the stand-in host saw TCP send, parsed. */
export interface SentSegment {
  flags: string;
  seq: number;
  ack: number;
  wnd: number;
  /** The urgent pointer field (0 unless URG). */
  urg: number;
  options: TcpOptions;
  data: Uint8Array;
  destination: number;
  checksumOk: boolean;
  /** What TCP asked IP for: Time to Live and Type of Service (undefined: IP's default). */
  ttl: number | undefined;
  typeOfService: number | undefined;
}

export interface Harness {
  tcp: Tcp;
  stats: Stats;
  now: number;
  /** Segments sent and not yet consumed by expectSent. */
  sent: SentSegment[];
  listener?: TcpListener;
  conn?: Tcb;
}

export const QUIET: Partial<TcpConfig> = {
  sack: false,
  timestamps: false,
  windowScale: false,
  isn: ISS,
};

export function harness(config: Partial<TcpConfig> = {}): Harness {
  const stats = new Stats();
  const h: Harness = { tcp: undefined as unknown as Tcp, stats, now: 1_000_000, sent: [] };
  const host = {
    address: LOCAL,
    mtu: 1500,
    random: new Random(7),
    stats,
    trace: NO_TRACE,
    ipv4: {
      output(packet: Uint8Array, send: Ipv4Send) {
        const tcp = packet.slice(20);
        const parsed = parseSegment(datagram(send.source, send.destination, tcp));
        if (typeof parsed === "string") throw new Error(`TCP sent a bad segment: ${parsed}`);
        h.sent.push(sentOf(parsed, send, checksumOk(send.source, send.destination, tcp)));
      },
    },
  };
  const inet = ipv4Network(host.ipv4, host);
  // The RFC 6528 key from the system's entropy, as the Stack draws it (stack.ts).
  const config_ = { ...QUIET, isnKey: systemEntropy.bytes(8), ...config };
  h.tcp = new Tcp({ ...host, networkFor: () => inet }, config_);
  return h;
}

function sentOf(s: TcpSegment, send: Ipv4Send, ok: boolean): SentSegment {
  return {
    flags: flagsText(s.flags),
    seq: s.seq,
    ack: s.ack,
    wnd: s.wnd,
    urg: s.urgentPointer,
    options: s.options,
    data: s.payload.slice(),
    destination: send.destination,
    checksumOk: ok,
    ttl: send.ttl,
    typeOfService: send.typeOfService,
  };
}

export function datagram(
  source: number,
  destination: number,
  payload: Uint8Array,
  broadcast = false,
): Ipv4Datagram {
  return {
    source,
    destination,
    protocol: 6,
    ttl: 64,
    header: new Uint8Array(20),
    payload,
    broadcast,
  };
}

/** A segment from the peer (defaults: 10.0.0.1:5000 → 10.0.0.2:80, window 65535). */
export function seg(spec: SegmentSpec): SegmentSpec {
  return spec;
}

/** The segment arrives at `now` (default: the harness clock). */
export function arrive(h: Harness, spec: SegmentSpec, now = h.now): void {
  h.tcp.input(datagram(REMOTE, LOCAL, tcpBytes(REMOTE, LOCAL, spec)), now);
}

/** Takes the oldest unconsumed sent segment and checks the given fields. */
export function expectSent(
  h: Harness,
  expected: Partial<Omit<SentSegment, "data">> & { data?: string | number },
): SentSegment {
  const got = h.sent.shift();
  expect(got).toBeDefined();
  const { data, ...fields } = expected;
  expect(got!).toMatchObject(fields);
  if (typeof data === "string") expect(new TextDecoder().decode(got!.data)).toBe(data);
  if (typeof data === "number") expect(got!.data.length).toBe(data);
  expect(got!.checksumOk).toBe(true);
  return got!;
}

export function expectNothingSent(h: Harness): void {
  expect(h.sent.map((s) => `${s.flags} ${s.seq}:${s.ack}`)).toEqual([]);
}

/** Advances the harness clock and runs poll, like a driver would. */
export function advance(h: Harness, ms: number): void {
  const end = h.now + ms;
  for (let guard = 0; guard < 10_000; guard++) {
    const next = h.tcp.nextDeadline();
    if (next > end) break;
    h.now = Math.max(h.now, next);
    h.tcp.poll(h.now);
  }
  h.now = end;
  h.tcp.poll(h.now);
}

export function poll(h: Harness): void {
  h.tcp.poll(h.now);
}

export function icmpError(h: Harness, report: Partial<IcmpErrorReport>): void {
  h.tcp.icmpError(
    {
      source: LOCAL,
      destination: REMOTE,
      protocol: 6,
      sourcePort: LOCAL_PORT,
      destinationPort: REMOTE_PORT,
      quoted: new Uint8Array(8),
      error: "ECONNREFUSED",
      nextHopMtu: 0,
      ...report,
    },
    h.now,
  );
}

/**
 * A harness with one connection in `state`, reached through the real handshake and
 * close sequence (ISS 1000 ours, IRS 100 the peer's), with every segment consumed.
 */
export function tcbInState(state: TcpState, config: Partial<TcpConfig> = {}): Harness {
  const h = harness(config);
  if (state === "SYN-SENT") {
    h.conn = h.tcp.connect(
      { address: LOCAL, port: LOCAL_PORT },
      { address: REMOTE, port: REMOTE_PORT },
      defaultTcpConnectionOptions(),
      h.now,
    ) as Tcb;
    expectSent(h, { flags: "S", seq: ISS });
    return h;
  }
  h.listener = h.tcp.listen(0, LOCAL_PORT, 8);
  if (state === "LISTEN") return h;
  arrive(h, seg({ flags: "S", seq: IRS }));
  expectSent(h, { flags: "SA", seq: ISS, ack: IRS + 1 });
  h.conn = [...h.tcp.connections()][0] as Tcb;
  if (state === "SYN-RECEIVED") return h;
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1 }));
  h.listener.accept();
  if (state === "ESTABLISHED") return finish(h, state);
  if (state === "CLOSE-WAIT" || state === "LAST-ACK") {
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    expectSent(h, { flags: "A", ack: IRS + 2 });
    if (state === "LAST-ACK") {
      closeAndExpectFin(h);
    }
    return finish(h, state);
  }
  closeAndExpectFin(h); // FIN-WAIT-1
  if (state === "FIN-WAIT-1") return finish(h, state);
  if (state === "CLOSING") {
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    expectSent(h, { flags: "A", ack: IRS + 2 });
    return finish(h, state);
  }
  arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 2 }));
  if (state === "FIN-WAIT-2") return finish(h, state);
  arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 2 }));
  expectSent(h, { flags: "A", ack: IRS + 2 });
  return finish(h, state);
}

function closeAndExpectFin(h: Harness): void {
  h.conn!.close(h.now);
  poll(h);
  expectSent(h, { flags: "FA", seq: ISS + 1 });
}

function finish(h: Harness, state: TcpState): Harness {
  expect(h.conn!.state).toBe(state);
  expectNothingSent(h);
  return h;
}

export type { TcpConnection };
