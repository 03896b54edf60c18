/**
 * Every TCP state transition (RFC 9293 §3.3.2, Figure 5), in one table and one function:
 * `transition(tcb, name)` is the only code that changes `tcb.state`. Each row names the
 * states it leaves from, the state it enters, and the rule of the RFC that makes it, which
 * the trace prints beside the change (`LISTEN -> SYN-RECEIVED (RFC 9293 §3.10.7.2 ...)`).
 * To see every way into TIME-WAIT, read down the `to` column.
 *
 * Each change is traced, counted (RFC 4022 tcpCurrEstab/tcpEstabResets) and tells the
 * socket layer that readiness may have changed. `establish` and `destroy` are the two
 * transitions with more to do than the state: starting the congestion controller, and
 * deleting the TCB.
 */

import { createCongestionController } from "./congestion/controller.ts";
import type { TcpError, TcpState } from "./connection.ts";
import type { Tcb } from "./tcb.ts";

/** States in which a connection exists and may be torn down by a timeout or ABORT. */
const OPEN: readonly TcpState[] = [
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
];

interface Row {
  readonly from: readonly TcpState[];
  readonly to: TcpState;
  readonly rule: string;
}

/** The transitions, by name; `rule` cites where the RFC (or Linux) makes each. */
export const TRANSITIONS = {
  // Opening (RFC 9293 §3.5, Figures 6-8)
  activeOpen: { from: ["CLOSED"], to: "SYN-SENT", rule: "RFC 9293 §3.10.1 OPEN, active: send SYN" },
  synInListen: {
    from: ["LISTEN"],
    to: "SYN-RECEIVED",
    rule: "RFC 9293 §3.10.7.2 third: a SYN in LISTEN",
  },
  cookieAck: {
    from: ["LISTEN"],
    to: "SYN-RECEIVED",
    rule: "RFC 4987 §3.6: the ACK of a valid SYN cookie rebuilds the connection",
  },
  simultaneousOpen: {
    from: ["SYN-SENT"],
    to: "SYN-RECEIVED",
    rule: "RFC 9293 §3.10.7.3 fourth: a SYN without ACK in SYN-SENT (simultaneous open)",
  },
  synAcked: {
    from: ["SYN-SENT"],
    to: "ESTABLISHED",
    rule: "RFC 9293 §3.10.7.3 fourth: our SYN is acknowledged",
  },
  handshakeAcked: {
    from: ["SYN-RECEIVED"],
    to: "ESTABLISHED",
    rule: "RFC 9293 §3.10.7.4 fifth: in SYN-RECEIVED, SND.UNA < SEG.ACK =< SND.NXT",
  },
  cookieEstablished: {
    from: ["SYN-RECEIVED"],
    to: "ESTABLISHED",
    rule: "RFC 4987 §3.6: the cookie's ACK completes the handshake",
  },
  // Closing (RFC 9293 §3.6, Figures 12-13)
  closeAfterHandshake: {
    from: ["ESTABLISHED"],
    to: "FIN-WAIT-1",
    rule: "RFC 9293 §3.10.4 CLOSE in SYN-RECEIVED, queued until ESTABLISHED",
  },
  close: { from: ["ESTABLISHED"], to: "FIN-WAIT-1", rule: "RFC 9293 §3.10.4 CLOSE: send FIN" },
  closeInCloseWait: {
    from: ["CLOSE-WAIT"],
    to: "LAST-ACK",
    rule: "RFC 9293 §3.10.4 CLOSE in CLOSE-WAIT: send FIN",
  },
  finAcked: {
    from: ["FIN-WAIT-1"],
    to: "FIN-WAIT-2",
    rule: "RFC 9293 §3.10.7.4 fifth: in FIN-WAIT-1, our FIN is acknowledged",
  },
  finAckedInClosing: {
    from: ["CLOSING"],
    to: "TIME-WAIT",
    rule: "RFC 9293 §3.10.7.4 fifth: in CLOSING, our FIN is acknowledged",
  },
  finAckedInLastAck: {
    from: ["LAST-ACK"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 fifth: in LAST-ACK, our FIN is acknowledged: delete the TCB",
  },
  finArrives: {
    from: ["SYN-RECEIVED", "ESTABLISHED"],
    to: "CLOSE-WAIT",
    rule: "RFC 9293 §3.10.7.4 eighth: the peer's FIN",
  },
  simultaneousClose: {
    from: ["FIN-WAIT-1"],
    to: "CLOSING",
    rule: "RFC 9293 §3.10.7.4 eighth: a FIN in FIN-WAIT-1, ours not yet acknowledged",
  },
  finAfterFinAcked: {
    from: ["FIN-WAIT-1"],
    to: "TIME-WAIT",
    rule: "RFC 9293 §3.10.7.4 eighth: a FIN in FIN-WAIT-1, ours acknowledged",
  },
  finInFinWait2: {
    from: ["FIN-WAIT-2"],
    to: "TIME-WAIT",
    rule: "RFC 9293 §3.10.7.4 eighth: a FIN in FIN-WAIT-2",
  },
  timeWaitTimeout: {
    from: ["TIME-WAIT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.8 time-wait timeout: delete the TCB",
  },
  timeWaitReopened: {
    from: ["TIME-WAIT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 TIME-WAIT note, RFC 6191: a new SYN above RCV.NXT ends it",
  },
  finWait2Timeout: {
    from: ["FIN-WAIT-2"],
    to: "CLOSED",
    rule: "Linux tcp_fin_timeout: an orphan in FIN-WAIT-2 waited long enough",
  },
  // Resets (RFC 9293 §3.10.7.3-4 second, RFC 5961 §3)
  refused: {
    from: ["SYN-SENT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.3 second: a RST with an acceptable ACK: connection refused",
  },
  resetFromListen: {
    from: ["SYN-RECEIVED"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 second: a RST in SYN-RECEIVED from a passive OPEN: back to LISTEN (the listener stays; this TCB goes)",
  },
  resetWhileOpening: {
    from: ["SYN-RECEIVED"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 second: a RST in SYN-RECEIVED from an active OPEN: connection refused",
  },
  reset: {
    from: ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 second: a RST: connection reset",
  },
  resetWhileClosing: {
    from: ["CLOSING", "LAST-ACK", "TIME-WAIT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.7.4 second: a RST while closing: delete the TCB",
  },
  // Errors, timeouts and the user
  hardError: {
    from: ["SYN-SENT"],
    to: "CLOSED",
    rule: "RFC 1122 §4.2.3.9, RFC 5927: a hard ICMP error while opening",
  },
  retransmissionsExhausted: {
    from: OPEN,
    to: "CLOSED",
    rule: "RFC 9293 §3.8.3 R2, RFC 1122 §4.2.3.5: retransmissions exhausted",
  },
  keepaliveUnanswered: {
    from: ["ESTABLISHED", "CLOSE-WAIT"],
    to: "CLOSED",
    rule: "RFC 1122 §4.2.3.6: keep-alive probes unanswered",
  },
  closeInSynSent: {
    from: ["SYN-SENT"],
    to: "CLOSED",
    rule: "RFC 9293 §3.10.4 CLOSE in SYN-SENT: delete the TCB",
  },
  abort: { from: OPEN, to: "CLOSED", rule: "RFC 9293 §3.10.5 ABORT: delete the TCB" },
} as const satisfies Record<string, Row>;

export type Transition = keyof typeof TRANSITIONS;

/** A new TCB made for a listener's SYN is the listener's, moving on (RFC 9293 §3.10.7.2). */
export function childOfListener(tcb: Tcb): void {
  if (tcb.state !== "CLOSED") throw new Error(`TCP: a listener's new TCB is ${tcb.state}`);
  tcb.state = "LISTEN";
}

/** Moves `tcb` along the row `name` of TRANSITIONS: traced with its rule, counted. */
export function transition(tcb: Tcb, name: Transition): void {
  const row: Row = TRANSITIONS[name];
  const from = tcb.state;
  if (!row.from.includes(from))
    throw new Error(`TCP: transition ${name} (to ${row.to}) cannot start from ${from}`);
  const trace = tcb.layer.host.trace;
  if (trace.enabled) trace.transition(tcb.tupleText, from, row.to, row.rule);
  tcb.state = row.to;
  tcb.changed = true;
  const stats = tcb.layer.host.stats;
  if (row.to === "ESTABLISHED") stats.count("tcpCurrEstabOpened");
  if (from === "ESTABLISHED" || from === "CLOSE-WAIT") {
    if (row.to === "CLOSED") stats.count("tcpEstabResets"); // RFC 4022 tcpEstabResets
  }
}

/**
 * The handshake completed (RFC 9293 §3.5): the connection is ESTABLISHED. The
 * congestion controller starts now, when the peer's MSS is known (RFC 6928 IW).
 */
export function establish(
  tcb: Tcb,
  now: number,
  name: "synAcked" | "handshakeAcked" | "cookieEstablished",
): void {
  const config = tcb.layer.config;
  transition(tcb, name);
  tcb.cc = createCongestionController(tcb.options.congestion ?? config.congestion, {
    mss: tcb.smss,
    now,
    sack: tcb.sackEnabled,
    initialWindowSegments: config.initialWindowSegments,
    hystart: config.hystart,
  });
  tcb.board.mss = tcb.smss;
  tcb.highRxt = tcb.sndUna;
  tcb.lastSendMs = now;
  // RFC 6298 §5.7: if the SYN timed out and no RTT was measured, start data at 3 s.
  if (!tcb.hasRttSample)
    tcb.rtoMs = tcb.retries > 0 ? Math.max(3000, config.initialRtoMs) : config.initialRtoMs;
  tcb.retries = 0;
  tcb.lastActivityMs = now;
  const listener = tcb.listener;
  if (listener !== undefined) {
    listener.halfOpen.delete(tcb);
    listener.acceptQueue.push(tcb);
    listener.onChange?.();
  }
  // CLOSE was called during the handshake: "queue for processing after entering
  // ESTABLISHED state" (RFC 9293 §3.10.4, SYN-RECEIVED).
  if (tcb.finQueued) transition(tcb, "closeAfterHandshake");
}

/**
 * The connection is gone: CLOSED, the TCB deleted (RFC 9293 §3.10.7.4 "enter the
 * CLOSED state, delete the TCB") by the row `name`. `error` is what the user is told,
 * if anything.
 */
export function destroy(tcb: Tcb, error: TcpError | undefined, name: Transition): void {
  if (tcb.closed) return;
  if (error !== undefined && tcb.error === undefined) tcb.error = error;
  if (TRANSITIONS[name].to !== "CLOSED") throw new Error(`TCP: destroy by ${name}`);
  transition(tcb, name);
  tcb.closed = true;
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
  tcb.delayedAckAt = Number.POSITIVE_INFINITY;
  tcb.persistAt = Number.POSITIVE_INFINITY;
  tcb.keepaliveAt = Number.POSITIVE_INFINITY;
  tcb.timeWaitUntil = Number.POSITIVE_INFINITY;
  tcb.finWait2Until = Number.POSITIVE_INFINITY;
  tcb.reassembly.clear();
  tcb.sendBuffer.clear(); // nothing will be sent any more
  tcb.sendBuffer.compact();
  tcb.recvBuffer.compact(); // unread bytes stay readable
  const listener = tcb.listener;
  if (listener !== undefined) {
    listener.halfOpen.delete(tcb);
    const index = listener.acceptQueue.indexOf(tcb);
    if (index >= 0) listener.acceptQueue.splice(index, 1);
  }
  tcb.layer.remove(tcb);
  tcb.changed = false;
  tcb.onChange?.();
}
