/**
 * Why a connection changed state: the RFC 9293 rule behind each arrow of the state
 * diagram (§3.3.2, Figure 5), for the ladder diagram's labels.
 *
 * Live, the stack tells us each transition and its rule (`Trace.transition`). Offline,
 * `ruleFor` looks the rule up in the stack's own table (stack/tcp/transitions.ts). Offline, a capture has no states,
 * so `inferTransitions` replays Figure 5 on each endpoint from the segments it sent and
 * received, as a reader of a tcpdump would.
 */
import { TRANSITIONS } from "../stack/tcp/transitions.ts";
import { ACK, FIN, RST, type SegmentRecord, SYN, segmentLength } from "./tcp_segment.ts";

export interface StateChange {
  readonly timeMs: number;
  /** The endpoint that changed state, "10.0.0.2:80". */
  readonly endpoint: string;
  readonly from: string;
  readonly to: string;
  /** "RFC 9293 §3.10.7.3: SYN-SENT, our SYN acknowledged: ESTABLISHED". */
  readonly rule: string;
  /** Read from the stack (false), or worked out from the segments (true). */
  readonly inferred: boolean;
  /**
   * Where it goes among the connection's segments: i − 0.5 is just before segment i
   * (what it sends), i + 0.5 just after (what caused it).
   */
  readonly at: number;
}

/**
 * The stack's own table of transitions, each with its rule: the one home of the rules.
 * A capture shows only segments, so the rows that need more than a segment to tell apart
 * (a SYN cookie, a CLOSE queued during the handshake) are left out of the look-up.
 */
const NOT_FROM_SEGMENTS = new Set(["cookieAck", "cookieEstablished", "closeAfterHandshake"]);
const ROWS = Object.entries(TRANSITIONS)
  .filter(([name]) => !NOT_FROM_SEGMENTS.has(name))
  .map(([, row]) => row) as readonly {
  readonly from: readonly string[];
  readonly to: string;
  readonly rule: string;
}[];

/**
 * The rule for a transition, from stack/tcp/transitions.ts; `cause` is the segment that
 * arrived just before, if any (a RST picks the reset rows, anything else the others).
 */
export function ruleFor(from: string, to: string, cause?: SegmentRecord): string {
  const rows = ROWS.filter((r) => r.to === to && r.from.includes(from));
  const reset = cause !== undefined && (cause.flags & RST) !== 0;
  const row = rows.find((r) => r.rule.includes("RST") === reset) ?? rows[0];
  return row?.rule ?? `RFC 9293 §3.3.2 Figure 5: ${from} to ${to}`;
}

/** What one endpoint believes, replayed from the segments (Figure 5). */
interface Endpoint {
  state: string;
  /** Sequence number one past our FIN, once sent. */
  finEnd: number | undefined;
}

/**
 * State changes of both endpoints of one connection, from its segments in capture order.
 * The first SYN's sender is the active opener; the other end starts in LISTEN.
 */
export function inferTransitions(segments: readonly SegmentRecord[]): StateChange[] {
  const first = segments.find((s) => s.flags & SYN && !(s.flags & ACK));
  const ends = new Map<string, Endpoint>();
  const out: StateChange[] = [];
  const endpoint = (name: string): Endpoint => {
    let e = ends.get(name);
    if (e === undefined) {
      const opener = first === undefined || first.source === name;
      e = {
        state: first === undefined ? "ESTABLISHED" : opener ? "CLOSED" : "LISTEN",
        finEnd: undefined,
      };
      ends.set(name, e);
    }
    return e;
  };
  const move = (name: string, to: string, s: SegmentRecord, at: number, cause?: SegmentRecord) => {
    const e = endpoint(name);
    if (e.state === to) return;
    const rule = ruleFor(e.state, to, cause);
    out.push({ timeMs: s.timeMs, endpoint: name, from: e.state, to, rule, inferred: true, at });
    e.state = to;
  };
  segments.forEach((s, i) => {
    sent(s, endpoint(s.source), (to) => move(s.source, to, s, i - 0.5));
    received(s, endpoint(s.destination), (to) => move(s.destination, to, s, i + 0.5, s));
  });
  return out;
}

/** The sender's side of Figure 5: what sending this segment means. */
function sent(s: SegmentRecord, e: Endpoint, move: (to: string) => void): void {
  if (s.flags & RST) {
    move("CLOSED");
    return;
  }
  if (s.flags & SYN && !(s.flags & ACK) && e.state === "CLOSED") move("SYN-SENT");
  if (s.flags & FIN) {
    e.finEnd = (s.seq + segmentLength(s)) >>> 0;
    if (e.state === "ESTABLISHED" || e.state === "SYN-RECEIVED") move("FIN-WAIT-1");
    else if (e.state === "CLOSE-WAIT") move("LAST-ACK");
  }
}

/** The receiver's side: what this segment's arrival means. */
function received(s: SegmentRecord, e: Endpoint, move: (to: string) => void): void {
  if (s.flags & RST) {
    move("CLOSED");
    return;
  }
  const finAcked = e.finEnd !== undefined && s.flags & ACK && ((s.ack - e.finEnd) | 0) >= 0;
  if (s.flags & SYN) {
    if (e.state === "LISTEN") move("SYN-RECEIVED");
    else if (e.state === "SYN-SENT") move(s.flags & ACK ? "ESTABLISHED" : "SYN-RECEIVED");
    return;
  }
  if (s.flags & ACK && e.state === "SYN-RECEIVED") move("ESTABLISHED");
  if (finAcked) {
    if (e.state === "FIN-WAIT-1") move("FIN-WAIT-2");
    else if (e.state === "CLOSING") move("TIME-WAIT");
    else if (e.state === "LAST-ACK") move("CLOSED");
  }
  if (s.flags & FIN) {
    if (e.state === "ESTABLISHED") move("CLOSE-WAIT");
    else if (e.state === "FIN-WAIT-1") move("CLOSING");
    else if (e.state === "FIN-WAIT-2") move("TIME-WAIT");
  }
}
