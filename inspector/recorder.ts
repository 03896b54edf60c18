/**
 * The inspector's recorder: a `Trace` (stack/trace.ts) that remembers, per connection,
 * the segments, state changes and TCP_INFO samples the page draws, and keeps the trace
 * lines and drops by reason. It is the stack's trace only when `--inspect` is given, so
 * without it nothing is installed and the stack pays nothing (its hooks stay disabled).
 * With it, each packet costs one header decode and a copy of its headers; every store
 * is a bounded ring (history.ts), and at most `maxConnections` histories are kept.
 *
 * `--trace` together with `--inspect`: the recorder passes every event on to `inner`.
 */

import type { Clock } from "../stack/clock.ts";
import { formatEndpoint } from "../stack/network.ts";
import type { TcpConnection } from "../stack/tcp/connection.ts";
import type { Trace } from "../stack/trace.ts";
import { ConnectionHistory, DEFAULT_LIMITS, type HistoryLimits } from "./history.ts";
import { ruleFor } from "./rules.ts";
import { decodeTcpPacket, type SegmentRecord } from "./tcp_segment.ts";
import { TraceLines } from "./trace_lines.ts";

export interface RecorderOptions {
  clock: Pick<Clock, "now">;
  /** Another trace to pass every event to (the `--trace` printer). */
  inner?: Trace;
  limits?: Partial<HistoryLimits>;
  /** Histories kept; the one idle longest (closed first) goes when a new one comes. */
  maxConnections?: number;
  traceLines?: number;
}

export class InspectorRecorder implements Trace {
  readonly enabled = true;
  readonly lines: TraceLines;
  /** Drops by reason (the counter each was counted under), since the recorder started. */
  readonly drops = new Map<string, number>();
  private readonly histories = new Map<string, ConnectionHistory>();
  private readonly clock: Pick<Clock, "now">;
  private readonly inner: Trace | undefined;
  private readonly limits: HistoryLimits;
  private readonly maxConnections: number;
  /** The last segment that arrived, per connection: the cause of a transition after it. */
  private lastArrival = new Map<string, SegmentRecord>();
  /** The last packet's ends and history: a bulk transfer's packets hit it almost always. */
  private last:
    | { source: string; destination: string; key: string; history: ConnectionHistory }
    | undefined;

  constructor(options: RecorderOptions) {
    this.clock = options.clock;
    this.inner = options.inner?.enabled ? options.inner : undefined;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.maxConnections = options.maxConnections ?? 64;
    this.lines = new TraceLines(options.traceLines ?? 2048);
  }

  packet(direction: "in" | "out", packet: Uint8Array): void {
    this.inner?.packet(direction, packet);
    const now = this.clock.now();
    const s = decodeTcpPacket(packet, now);
    let key: string | undefined;
    if (s !== undefined) {
      const history = this.historyOf(s, direction);
      key = history.key;
      history.addSegment(s);
      history.lines.addPacket(now, direction, packet, key);
      if (direction === "in") this.lastArrival.set(key, s);
    }
    this.lines.addPacket(now, direction, packet, key);
  }

  /**
   * `connection` is "local remote" with ports ("10.0.0.2:80 10.0.0.1:53422"); `rule` is
   * the RFC rule the stack cites (stack/tcp/transitions.ts); rules.ts finds it if absent.
   */
  transition(connection: string, from: string, to: string, rule?: string): void {
    this.inner?.transition(connection, from, to, rule);
    const now = this.clock.now();
    const history = this.history(connection);
    // The segment that arrived last caused it if it came in the same instant.
    const arrival = this.lastArrival.get(connection);
    const cause = arrival !== undefined && arrival.timeMs === now ? arrival : undefined;
    history.addTransition({
      timeMs: now,
      endpoint: history.local,
      from,
      to,
      rule: rule ?? ruleFor(from, to, cause),
      inferred: false,
    });
    // The same words as --trace prints (device/text_trace.ts).
    const line = `tcp ${connection}: ${from} -> ${to}${rule === undefined ? "" : ` (${rule})`}`;
    this.lines.addText(now, line, connection);
    history.lines.addText(now, line, connection);
  }

  drop(reason: string, detail?: string): void {
    this.inner?.drop(reason, detail);
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.lines.addText(
      this.clock.now(),
      detail ? `drop ${reason}: ${detail}` : `drop ${reason}`,
      undefined,
    );
  }

  /** Takes one TCP_INFO sample of each connection (the server calls it every tick). */
  sample(connections: Iterable<TcpConnection>, now: number): void {
    for (const c of connections) {
      const key = connectionKey(c);
      const history = this.histories.get(key);
      if (history === undefined) continue;
      const info = c.info(now);
      history.state = c.state;
      history.addSample({
        timeMs: now,
        cwnd: info.cwndBytes,
        ssthresh: info.ssthreshBytes >= 0x3fffffff ? Number.NaN : info.ssthreshBytes,
        srttMs: info.srttMs,
        rtoMs: info.rtoMs,
        bytesInFlight: info.bytesInFlight,
        rcvWnd: info.rcvWnd,
        sndWnd: info.sndWnd,
      });
    }
  }

  get(key: string): ConnectionHistory | undefined {
    return this.histories.get(key);
  }

  all(): ConnectionHistory[] {
    return [...this.histories.values()];
  }

  /** The segment's connection ("local remote"); endpoint texts are interned, so === works. */
  private historyOf(s: SegmentRecord, direction: "in" | "out"): ConnectionHistory {
    const last = this.last;
    if (last !== undefined && last.source === s.source && last.destination === s.destination) {
      if (this.histories.get(last.key) === last.history) return last.history;
    }
    const key =
      direction === "out" ? `${s.source} ${s.destination}` : `${s.destination} ${s.source}`;
    const history = this.history(key);
    this.last = { source: s.source, destination: s.destination, key, history };
    return history;
  }

  private history(key: string): ConnectionHistory {
    let h = this.histories.get(key);
    if (h === undefined) {
      if (this.histories.size >= this.maxConnections) this.evict();
      h = new ConnectionHistory(key, this.limits);
      this.histories.set(key, h);
    }
    return h;
  }

  /** Forgets the closed history idle longest, or else the history idle longest. */
  private evict(): void {
    let victim: ConnectionHistory | undefined;
    for (const h of this.histories.values()) {
      const better =
        victim === undefined ||
        (h.state === "CLOSED") > (victim.state === "CLOSED") ||
        ((h.state === "CLOSED") === (victim.state === "CLOSED") &&
          h.lastActivityMs < victim.lastActivityMs);
      if (better) victim = h;
    }
    if (victim === undefined) return;
    this.histories.delete(victim.key);
    this.lastArrival.delete(victim.key);
  }
}

/** The key the stack's traces use for a connection: "local remote" (tcb.tupleText). */
export function connectionKey(c: TcpConnection): string {
  // IPv6 endpoints in brackets, as tupleText writes them (stack/network.ts formatEndpoint).
  return `${formatEndpoint(c.localAddress, c.localPort)} ${formatEndpoint(c.remoteAddress, c.remotePort)}`;
}
