/**
 * Why a connection changed state: the RFC 9293 rule behind each arrow of the state
 * diagram (§3.3.2, Figure 5), for the ladder diagram's labels.
 *
 * Live, the stack tells us each transition (`Trace.transition`); if it also names the
 * rule, that wins, otherwise `ruleFor` finds it here. Offline, a capture has no states,
 * so `inferTransitions` replays Figure 5 on each endpoint from the segments it sent and
 * received, as a reader of a tcpdump would.
 */
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

/** The rule for each arrow of Figure 5, "FROM>TO". */
const RULES: Record<string, string> = {
  "CLOSED>SYN-SENT": "§3.10.1 OPEN (active): send SYN, enter SYN-SENT",
  "CLOSED>LISTEN": "§3.10.1 OPEN (passive): enter LISTEN",
  "LISTEN>SYN-RECEIVED": "§3.10.7.2 LISTEN, SYN arrives: send SYN,ACK, enter SYN-RECEIVED",
  "SYN-SENT>ESTABLISHED": "§3.10.7.3 SYN-SENT, SYN,ACK acknowledges our SYN: ACK it, ESTABLISHED",
  "SYN-SENT>SYN-RECEIVED": "§3.10.7.3 SYN-SENT, SYN without ACK (simultaneous open): SYN-RECEIVED",
  "SYN-RECEIVED>ESTABLISHED":
    "§3.10.7.4 fifth (ACK), SYN-RECEIVED: our SYN acknowledged, ESTABLISHED",
  "SYN-RECEIVED>FIN-WAIT-1": "§3.10.4 CLOSE in SYN-RECEIVED: send FIN, enter FIN-WAIT-1",
  "ESTABLISHED>FIN-WAIT-1": "§3.10.4 CLOSE, ESTABLISHED: send FIN after the data, FIN-WAIT-1",
  "ESTABLISHED>CLOSE-WAIT": "§3.10.7.4 eighth (FIN), ESTABLISHED: enter CLOSE-WAIT",
  "SYN-RECEIVED>CLOSE-WAIT": "§3.10.7.4 eighth (FIN), SYN-RECEIVED: enter CLOSE-WAIT",
  "FIN-WAIT-1>FIN-WAIT-2": "§3.10.7.4 fifth (ACK), FIN-WAIT-1: our FIN acknowledged, FIN-WAIT-2",
  "FIN-WAIT-1>CLOSING": "§3.10.7.4 eighth (FIN), FIN-WAIT-1, our FIN not yet acked: CLOSING",
  "FIN-WAIT-1>TIME-WAIT":
    "§3.10.7.4 eighth (FIN), FIN-WAIT-1, our FIN acked: TIME-WAIT, start the 2 MSL timer",
  "FIN-WAIT-2>TIME-WAIT": "§3.10.7.4 eighth (FIN), FIN-WAIT-2: TIME-WAIT, start the 2 MSL timer",
  "CLOSING>TIME-WAIT": "§3.10.7.4 fifth (ACK), CLOSING: our FIN acknowledged, TIME-WAIT",
  "CLOSE-WAIT>LAST-ACK": "§3.10.4 CLOSE, CLOSE-WAIT: send FIN, enter LAST-ACK",
  "LAST-ACK>CLOSED": "§3.10.7.4 fifth (ACK), LAST-ACK: our FIN acknowledged, delete the TCB",
  "TIME-WAIT>CLOSED": "§3.10.8 time-wait timeout (2 MSL): delete the TCB",
  "FIN-WAIT-2>CLOSED": "FIN-WAIT-2 timeout (Linux tcp_fin_timeout; RFC 9293 §3.10.4 allows it)",
};

/** The rule for a transition; `cause` is the segment that arrived just before, if any. */
export function ruleFor(from: string, to: string, cause?: SegmentRecord): string {
  if (to === "CLOSED" && cause !== undefined && cause.flags & RST) {
    return from === "SYN-SENT"
      ? "RFC 9293 §3.10.7.3 SYN-SENT, acceptable RST: connection refused, CLOSED"
      : "RFC 9293 §3.10.7.4 second (RST): connection reset, delete the TCB";
  }
  const rule = RULES[`${from}>${to}`];
  if (rule !== undefined) return `RFC 9293 ${rule}`;
  if (to === "CLOSED") return "RFC 9293 §3.10.5 ABORT, or a timeout (§3.8.3): delete the TCB";
  return `RFC 9293 §3.3.2 Figure 5: ${from} to ${to}`;
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
