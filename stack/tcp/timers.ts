/**
 * The connection's timers (RFC 9293 §3.8, §3.10.8), all deadlines stored as data on
 * the TCB and fired by `onTimers` when the layer's poll reaches them.
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
import { lossOnTimeout, newDataBytes } from "./fast_recovery.ts";
import { output, sendProbe } from "./output.ts";
import { onProbeTimeout, onReorderTimeout } from "./rack/recovery.ts";
import { seqAdd, seqDiff } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { destroy, setState } from "./transitions.ts";

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

/** Fires every timer of `tcb` that is due at `now`, then sends what is owed. */
export function onTimers(tcb: Tcb, now: number): void {
  if (tcb.timeWaitUntil <= now) {
    destroy(tcb, undefined); // RFC 9293 §3.10.8: time-wait timeout, delete the TCB
    return;
  }
  if (tcb.finWait2Until <= now) {
    // Linux moves an orphan whose FIN-WAIT-2 timed out to CLOSED without a segment.
    tcb.layer.host.stats.count("tcpFinWait2Timeouts");
    destroy(tcb, undefined);
    return;
  }
  // RFC 8985 §8: the PTO is never later than the RTO; when both are due the probe goes
  // and re-arms the RTO (§7.3).
  if (tcb.rackTlp.tlpAt <= now) onProbeTimeout(tcb, now, newDataBytes(tcb));
  if (tcb.rackTlp.rackAt <= now) onReorderTimeout(tcb, now);
  if (tcb.retransmitAt <= now) onRetransmitTimeout(tcb, now);
  if (tcb.closed) return;
  if (tcb.persistAt <= now) onPersist(tcb, now);
  if (tcb.delayedAckAt <= now) {
    tcb.delayedAckAt = Number.POSITIVE_INFINITY;
    tcb.ackNow = true;
  }
  if (tcb.keepaliveAt <= now) onKeepalive(tcb, now);
  if (tcb.closed) return;
  output(tcb, now);
}

function onRetransmitTimeout(tcb: Tcb, now: number): void {
  const config = tcb.layer.config;
  tcb.retransmitAt = Number.POSITIVE_INFINITY;
  const opening = tcb.state === "SYN-SENT" || tcb.state === "SYN-RECEIVED";
  tcb.retries++;
  // RFC 9293 §3.8.3 (R2) / RFC 1122 §4.2.3.5: give up after a number of retries.
  if (tcb.retries > (opening ? config.synRetries : config.maxRetries)) {
    tcb.layer.host.stats.count(opening ? "tcpAttemptFails" : "tcpTimeoutDrops");
    destroy(tcb, tcb.softError ?? "ETIMEDOUT");
    return;
  }
  tcb.counters.timeouts!++;
  tcb.layer.host.stats.count("tcpTimeouts");
  // RFC 6298 §5.5: back off the timer.
  tcb.rtoMs = Math.min(tcb.rtoMs * 2, config.maxRtoMs);
  if (opening) {
    tcb.sndNxt = tcb.iss; // resend the SYN
  } else {
    lossOnTimeout(tcb, now);
    tcb.sndNxt = tcb.sndUna; // go back N: resend from the first unacknowledged byte
  }
  tcb.rttSeq = undefined; // Karn: never time a retransmitted segment
  tcb.ackNow = false;
}

/** RFC 9293 §3.8.6.1: probe a zero window; backoff like the retransmission timer. */
function onPersist(tcb: Tcb, now: number): void {
  tcb.persistAt = Number.POSITIVE_INFINITY;
  // A window too small for a full segment: send what fits (the SWS override, RFC 1122
  // §4.2.3.4). A zero window: probe it (RFC 9293 §3.8.6.1).
  const room = tcb.sndWnd - seqDiff(tcb.sndNxt, tcb.sndUna);
  const unsent = seqDiff(seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length), tcb.sndNxt);
  if (room > 0 && unsent > 0) {
    tcb.forceSend = true;
    output(tcb, now);
    tcb.forceSend = false;
    if (tcb.flightBytes > 0) return; // sent: the retransmission timer takes over
  }
  tcb.layer.host.stats.count("tcpWindowProbes");
  sendProbe(tcb, now);
  tcb.persistBackoff = Math.min(tcb.persistBackoff + 1, 12);
  armPersist(tcb, now);
}

export function armPersist(tcb: Tcb, now: number): void {
  if (tcb.persistAt !== Number.POSITIVE_INFINITY) return;
  const config = tcb.layer.config;
  const base = Math.max(tcb.rtoMs, config.minRtoMs);
  tcb.persistAt = now + Math.min(base * 2 ** tcb.persistBackoff, 60_000); // Linux caps at 120 s
}

/** RFC 1122 §4.2.3.6: an idle connection is probed with an old sequence number. */
function onKeepalive(tcb: Tcb, now: number): void {
  const config = tcb.layer.config;
  if (!tcb.options.keepAlive || (tcb.state !== "ESTABLISHED" && tcb.state !== "CLOSE-WAIT")) {
    tcb.keepaliveAt = Number.POSITIVE_INFINITY;
    return;
  }
  if (tcb.keepaliveProbes >= config.keepaliveProbes) {
    tcb.layer.host.stats.count("tcpKeepAliveDrops");
    destroy(tcb, "ETIMEDOUT");
    return;
  }
  tcb.keepaliveProbes++;
  sendProbe(tcb, now);
  tcb.keepaliveAt = now + config.keepaliveIntervalMs;
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
export function enterTimeWait(tcb: Tcb, now: number): void {
  setState(tcb, "TIME-WAIT");
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
