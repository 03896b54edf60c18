/**
 * When a deadline passes (RFC 9293 §3.8, §3.10.8): the layer's poll calls `onTimers`
 * for a connection whose earliest deadline (timers.ts sets them) is due.
 *
 * - Retransmission timeout (RFC 6298 §5.4–5.7): back off, go back N from SND.UNA, or
 *   give up after `maxRetries` (`synRetries` while opening): ETIMEDOUT.
 * - Delayed ACK (RFC 9293 §3.8.6.3): the ACK is owed now.
 * - Persist (RFC 9293 §3.8.6.1): probe the zero window.
 * - Keep-alive (RFC 1122 §4.2.3.6): probe, or give up.
 * - TIME-WAIT (§3.10.8) and the orphan FIN-WAIT-2 bound: delete the TCB.
 * - RACK reordering timer and TLP probe timeout (RFC 8985 §5.4): rack/recovery.ts.
 *
 * Then `output` sends what is owed.
 */
import { lossOnTimeout, newDataBytes } from "./fast_recovery.ts";
import { output } from "./output.ts";
import { onProbeTimeout, onReorderTimeout } from "./rack/recovery.ts";
import { seqAdd, seqDiff } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { armPersist } from "./timers.ts";
import { destroy } from "./transitions.ts";
import { sendProbe } from "./transmit.ts";

/** Fires every timer of `tcb` that is due at `now`, then sends what is owed. */
export function onTimers(tcb: Tcb, now: number): void {
  if (tcb.timeWaitUntil <= now) {
    destroy(tcb, undefined, "timeWaitTimeout"); // RFC 9293 §3.10.8: delete the TCB
    return;
  }
  if (tcb.finWait2Until <= now) {
    // Linux moves an orphan whose FIN-WAIT-2 timed out to CLOSED without a segment.
    tcb.layer.host.stats.count("tcpFinWait2Timeouts");
    destroy(tcb, undefined, "finWait2Timeout");
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
    destroy(tcb, tcb.softError ?? "ETIMEDOUT", "retransmissionsExhausted");
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

/** RFC 1122 §4.2.3.6: an idle connection is probed with an old sequence number. */
function onKeepalive(tcb: Tcb, now: number): void {
  const config = tcb.layer.config;
  if (!tcb.options.keepAlive || (tcb.state !== "ESTABLISHED" && tcb.state !== "CLOSE-WAIT")) {
    tcb.keepaliveAt = Number.POSITIVE_INFINITY;
    return;
  }
  if (tcb.keepaliveProbes >= config.keepaliveProbes) {
    tcb.layer.host.stats.count("tcpKeepAliveDrops");
    destroy(tcb, "ETIMEDOUT", "keepaliveUnanswered");
    return;
  }
  tcb.keepaliveProbes++;
  sendProbe(tcb, now);
  tcb.keepaliveAt = now + config.keepaliveIntervalMs;
}
