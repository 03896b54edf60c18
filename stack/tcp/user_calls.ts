/**
 * The user calls of RFC 9293 §3.10.1–3.10.6 (SEND, RECEIVE, CLOSE, ABORT, STATUS; OPEN
 * is `Tcp.listen` / `Tcp.connect`). None of them sends directly: they change the TCB
 * and mark it dirty, and the next `poll` sends what is owed (output.ts).
 */
import type { TcpInfo } from "./connection.ts";
import { Flag } from "./header.ts";
import { seqDiff } from "./seq.ts";
import type { Tcb } from "./tcb.ts";
import { destroy, transition } from "./transitions.ts";
import { transmit } from "./transmit.ts";

/** Room (in segments) the peer must still have for a window update to wait (receiveCall). */
const PEER_NOT_BLOCKED_SEGMENTS = 4;

/** SEND (§3.10.2): queue what fits; returns the bytes taken (0 when full or shut). */
export function sendCall(tcb: Tcb, data: Uint8Array, _now: number): number {
  if (tcb.writableBytes === 0) return 0;
  const n = tcb.sendBuffer.write(data);
  if (n > 0) tcb.layer.markDirty(tcb);
  return n;
}

/**
 * RECEIVE (§3.10.3): copy out of the receive buffer. If that opens the window enough
 * (RFC 9293 §3.8.6.2.2: by min(buffer/2, MSS), and to at least twice what the peer
 * may still send, as Linux decides), a window update goes out.
 */
export function receiveCall(tcb: Tcb, into: Uint8Array, now: number): number {
  const n = tcb.recvBuffer.read(into);
  if (n === 0) return 0;
  autoTune(tcb, n, now);
  const buffer = tcb.recvBuffer;
  const current = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const gain = buffer.free - current;
  if (gain >= Math.min(buffer.capacity / 2, tcb.rcvMss) && buffer.free >= 2 * current) {
    const s = tcb.state;
    if (s === "ESTABLISHED" || s === "FIN-WAIT-1" || s === "FIN-WAIT-2") {
      // While the peer may still send several segments, the update can wait for the
      // delayed-ACK timer (an ACK, RFC 1122 §4.2.3.2) and ride on the reply the
      // application usually sends at once: after the handshake's 64 KiB window, the
      // first read of a request would otherwise cost a segment of its own.
      if (current < PEER_NOT_BLOCKED_SEGMENTS * tcb.rcvMss) tcb.ackNow = true;
      else if (tcb.delayedAckAt === Number.POSITIVE_INFINITY)
        tcb.delayedAckAt = now + tcb.layer.config.delayedAckMs;
      tcb.layer.markDirty(tcb);
    }
  }
  return n;
}

/**
 * Receive-buffer auto-tuning (as Linux's dynamic right-sizing): once per RTT, if the
 * application read more than half the buffer in that RTT, the sender is probably
 * window-limited: double the buffer, up to `maxReceiveBufferBytes`. Only with a window
 * scale, since an unscaled window cannot offer more than 64 KiB anyway (RFC 7323 §2).
 */
function autoTune(tcb: Tcb, bytes: number, now: number): void {
  const config = tcb.layer.config;
  if (!config.receiveBufferAutoTuning || tcb.rcvScale === 0) return;
  tcb.tuneBytes += bytes;
  const rttMs = tcb.hasRttSample ? Math.max(tcb.srttMs, 1) : 100;
  if (now - tcb.tuneStartMs < rttMs) return;
  const buffer = tcb.recvBuffer;
  if (2 * tcb.tuneBytes > buffer.capacity && buffer.capacity < config.maxReceiveBufferBytes) {
    buffer.grow(Math.min(2 * buffer.capacity, config.maxReceiveBufferBytes));
    tcb.layer.host.stats.count("tcpRcvBufAutoGrows");
  }
  tcb.tuneBytes = 0;
  tcb.tuneStartMs = now;
}

/** CLOSE (§3.10.4): no more sends; a FIN follows the queued data. */
export function closeCall(tcb: Tcb, _now: number): void {
  switch (tcb.state) {
    case "SYN-SENT":
      // "Delete the TCB and return 'error: closing' responses to any queued SENDs".
      destroy(tcb, undefined, "closeInSynSent");
      return;
    case "SYN-RECEIVED":
      tcb.finQueued = true; // FIN-WAIT-1 once ESTABLISHED (transitions.ts establish)
      return;
    case "ESTABLISHED":
      tcb.finQueued = true;
      transition(tcb, "close");
      break;
    case "CLOSE-WAIT":
      tcb.finQueued = true;
      transition(tcb, "closeInCloseWait");
      break;
    default:
      return; // already closing or closed: "error: connection closing", ignored here
  }
  tcb.layer.markDirty(tcb);
}

/** shutdown(SHUT_RD): drop what is buffered and discard what arrives from now on. */
export function shutdownReadCall(tcb: Tcb): void {
  tcb.shutRd = true;
  tcb.recvBuffer.clear();
  tcb.reassembly.clear();
  tcb.layer.markDirty(tcb); // settle arms the FIN-WAIT-2 timer if CLOSE was called too
}

/** ABORT (§3.10.5): <SEQ=SND.NXT><CTL=RST> in the synchronized states; TCB deleted. */
export function abortCall(tcb: Tcb, now: number): void {
  if (tcb.closed) return;
  const s = tcb.state;
  if (
    s === "SYN-RECEIVED" ||
    s === "ESTABLISHED" ||
    s === "FIN-WAIT-1" ||
    s === "FIN-WAIT-2" ||
    s === "CLOSE-WAIT"
  ) {
    transmit(tcb, tcb.sndMax, 0, Flag.RST, now);
    tcb.layer.host.stats.count("tcpOutRsts");
  }
  tcb.sendBuffer.clear();
  tcb.recvBuffer.clear();
  destroy(tcb, undefined, "abort");
}

/** STATUS (§3.10.6) as Linux's TCP_INFO. */
export function infoCall(tcb: Tcb, _now: number): TcpInfo {
  return {
    state: tcb.state,
    srttMs: tcb.srttMs,
    rttvarMs: tcb.rttvarMs,
    rtoMs: tcb.rtoMs,
    cwndBytes: Math.floor(tcb.cc.cwnd),
    ssthreshBytes: Math.min(tcb.cc.ssthresh, 0x7fffffff),
    bytesInFlight: tcb.flightBytes,
    retransmits: tcb.retries,
    sndMss: tcb.smss,
    rcvWnd: Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt)),
    sndWnd: tcb.sndWnd,
    congestion: tcb.cc.name,
    sndScale: tcb.sndScale,
    rcvScale: tcb.rcvScale,
    timestamps: tcb.tsEnabled ? 1 : 0,
    sack: tcb.sackEnabled ? 1 : 0,
    ...tcb.counters,
  };
}
