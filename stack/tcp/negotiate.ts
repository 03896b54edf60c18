/**
 * Option negotiation on the SYN exchange: each extension is on only if both SYNs
 * carried it (and our config allows it).
 *
 * - MSS (RFC 9293 §3.7.1): send no more than the peer's MSS (536 if it sent none) and
 *   no more than our own MTU allows.
 * - Window scale (RFC 7323 §2.2–2.3): both sides must send the option; a shift above
 *   14 is taken as 14.
 * - SACK-permitted (RFC 2018 §2) and timestamps (RFC 7323 §3.2).
 */
import type { TcpOptions } from "./options.ts";
import type { Tcb } from "./tcb.ts";

/** The receive-window shift we offer: enough for `maxBytes` of buffer (at most 14). */
export function windowScaleFor(maxBytes: number): number {
  let shift = 0;
  while (shift < 14 && 65535 * 2 ** shift < maxBytes) shift++;
  return shift;
}

/** Applies the peer's SYN options. For a passive open, what we will echo in the SYN,ACK. */
export function negotiateOptions(tcb: Tcb, peer: TcpOptions, now: number): void {
  const config = tcb.layer.config;
  tcb.sndMss = Math.max(64, Math.min(peer.mss ?? 536, tcb.layer.host.mtu - 40));
  if (config.windowScale && peer.windowScale !== undefined) {
    tcb.wsAgreed = true;
    tcb.sndScale = Math.min(peer.windowScale, 14);
    tcb.rcvScale = tcb.offeredRcvScale;
  } else {
    tcb.wsAgreed = false;
    tcb.sndScale = 0;
    tcb.rcvScale = 0;
  }
  tcb.sackEnabled = config.sack && peer.sackPermitted === true;
  tcb.tsEnabled = config.timestamps && peer.timestamp !== undefined;
  if (tcb.tsEnabled && peer.timestamp !== undefined) {
    tcb.tsRecent = peer.timestamp.value;
    tcb.tsRecentAgeMs = now;
  }
}
