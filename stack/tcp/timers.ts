/**
 * The connection's timers (RFC 9293 §3.8, §3.10.8), all deadlines stored as data on
 * the TCB: this file sets them (and keeps the RTT estimate the RTO comes from);
 * timeouts.ts says what happens when the layer's poll reaches one.
 *
 * - Retransmission (RFC 6298): SRTT/RTTVAR from samples, Karn's rule, exponential
 *   backoff, give up after `maxRetries` (`synRetries` while opening): ETIMEDOUT.
 * - Delayed ACK (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2): at most `delayedAckMs`.
 * - Persist (RFC 9293 §3.8.6.1): zero-window probes with backoff, never giving up
 *   while the peer answers.
 * - Keep-alive (RFC 1122 §4.2.3.6): off unless SO_KEEPALIVE; 2 h idle by default.
 * - TIME-WAIT (RFC 9293 §3.10.8): 2·MSL, then CLOSED.
 * - FIN-WAIT-2, once the application has closed both ways: `finWait2TimeoutMs`, then
 *   CLOSED (Linux tcp_fin_timeout), so a peer that never sends its FIN cannot pin the TCB.
 * - RACK reordering timer and TLP probe timeout (RFC 8985 §5.4): rack/recovery.ts.
 */
import { seqDiff } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { transition } from "./transitions.ts";

/** RFC 6298 §2.2–2.3: one round-trip measurement updates SRTT, RTTVAR and RTO. */
export function rttSample(tcb: Tcb, rttMs: number): void {
  const config = tcb.layer.config;
  const r = Math.max(rttMs, 1); // the clock granularity G of RFC 6298 is 1 ms here
  if (!tcb.hasRttSample) {
    tcb.srttMs = r; // §2.2: SRTT <- R, RTTVAR <- R/2
    tcb.rttvarMs = r / 2;
    tcb.hasRttSample = true;
  } else {
    // §2.3 with alpha = 1/8, beta = 1/4.
    tcb.rttvarMs = 0.75 * tcb.rttvarMs + 0.25 * Math.abs(tcb.srttMs - r);
    tcb.srttMs = 0.875 * tcb.srttMs + 0.125 * r;
  }
  // §2.4: "Whenever RTO is computed, if it is less than 1 second, then the RTO SHOULD
  // be rounded up to 1 second". Like Linux we instead apply a 200 ms floor to the
  // variance term, RTO = SRTT + max(minRtoMs, 4·RTTVAR), so the timer always allows
  // SRTT plus a peer's delayed ACK; §2.5: a maximum of at least 60 s.
  const rto = tcb.srttMs + Math.max(config.minRtoMs, 4 * tcb.rttvarMs);
  tcb.rtoMs = Math.min(Math.max(rto, config.minRtoMs), config.maxRtoMs);
}

export function armPersist(tcb: Tcb, now: number): void {
  if (tcb.persistAt !== Number.POSITIVE_INFINITY) return;
  const config = tcb.layer.config;
  const base = Math.max(tcb.rtoMs, config.minRtoMs);
  tcb.persistAt = now + Math.min(base * 2 ** tcb.persistBackoff, 60_000); // Linux caps at 120 s
}

/** Any segment from the peer shows it is alive: restart the keep-alive idle time. */
export function heardFromPeer(tcb: Tcb, now: number): void {
  tcb.keepaliveProbes = 0;
  tcb.keepaliveAt = tcb.options.keepAlive
    ? now + tcb.layer.config.keepaliveIdleMs
    : Number.POSITIVE_INFINITY;
}

/**
 * An orphan in FIN-WAIT-2 (CLOSE called and reading shut: nobody will ever see what
 * arrives) gets `finWait2TimeoutMs` to receive the peer's FIN. RFC 9293 §3.10.4 leaves
 * FIN-WAIT-2 open-ended and RFC 1122 §4.2.2.20 only lets a half-closed connection keep
 * receiving; with no receiver left, Linux (tcp_fin_timeout, 60 s) bounds the wait.
 * Not restarted by what the peer sends, so a peer cannot keep the TCB alive.
 */
export function armFinWait2Timer(tcb: Tcb, now: number): void {
  if (tcb.state !== "FIN-WAIT-2" || !tcb.shutRd || !tcb.finQueued) return;
  if (tcb.finWait2Until !== Number.POSITIVE_INFINITY) return;
  tcb.finWait2Until = now + tcb.layer.config.finWait2TimeoutMs;
}

/** RFC 9293 §3.10.7.4 / §3.4.2: the TIME-WAIT timeout is 2·MSL. */
export function timeWaitMs(tcb: Tcb): number {
  return 2 * tcb.layer.config.mslMs;
}

/** RFC 9293 §3.10.7.4: enter TIME-WAIT, start the 2·MSL timer, stop the others. */
export function enterTimeWait(
  tcb: Tcb,
  now: number,
  name: "finAckedInClosing" | "finAfterFinAcked" | "finInFinWait2",
): void {
  transition(tcb, name);
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
  tcb.persistAt = Number.POSITIVE_INFINITY;
  tcb.keepaliveAt = Number.POSITIVE_INFINITY;
  tcb.finWait2Until = Number.POSITIVE_INFINITY;
  tcb.rackTlp.rackAt = Number.POSITIVE_INFINITY;
  tcb.rackTlp.tlpAt = Number.POSITIVE_INFINITY;
  tcb.rackTlp.sent.clear();
  tcb.timeWaitUntil = now + timeWaitMs(tcb);
  // Nothing more is sent or received: keep only the unread bytes through 2·MSL.
  tcb.reassembly.clear();
  tcb.sendBuffer.compact();
  tcb.recvBuffer.compact();
}

/** RFC 6298 §5.2–5.3: stop the timer when all is acked, else restart it. */
export function restartRetransmitTimer(tcb: Tcb, now: number): void {
  tcb.retransmitAt =
    seqDiff(tcb.sndMax, tcb.sndUna) > 0 ? now + tcb.rtoMs : Number.POSITIVE_INFINITY;
}
