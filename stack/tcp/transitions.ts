/**
 * State transitions (RFC 9293 §3.3.2, Figure 5) in one place, so each is traced and
 * each tells the socket layer that readiness may have changed.
 */

import { createCongestionController } from "./congestion/controller.ts";
import type { TcpError, TcpState } from "./connection.ts";
import type { Tcb } from "./tcb.ts";

export function setState(tcb: Tcb, to: TcpState): void {
  const from = tcb.state;
  if (from === to) return;
  const trace = tcb.layer.host.trace;
  if (trace.enabled) trace.transition(tcb.tupleText, from, to);
  tcb.state = to;
  tcb.changed = true;
  const stats = tcb.layer.host.stats;
  if (to === "ESTABLISHED") stats.count("tcpCurrEstabOpened");
  if (from === "ESTABLISHED" || from === "CLOSE-WAIT") {
    if (to === "CLOSED") stats.count("tcpEstabResets"); // RFC 4022 tcpEstabResets
  }
}

/**
 * The handshake completed (RFC 9293 §3.5): the connection is ESTABLISHED. The
 * congestion controller starts now, when the peer's MSS is known (RFC 6928 IW).
 */
export function establish(tcb: Tcb, now: number): void {
  const config = tcb.layer.config;
  setState(tcb, "ESTABLISHED");
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
  if (tcb.finQueued) setState(tcb, "FIN-WAIT-1");
}

/**
 * The connection is gone: CLOSED, the TCB deleted (RFC 9293 §3.10.7.4 "enter the
 * CLOSED state, delete the TCB"). `error` is what the user is told, if anything.
 */
export function destroy(tcb: Tcb, error: TcpError | undefined): void {
  if (tcb.closed) return;
  if (error !== undefined && tcb.error === undefined) tcb.error = error;
  setState(tcb, "CLOSED");
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
