/**
 * What the SYN exchange settles: the peer's sequence space and first send window
 * (`receiveSyn`, `initSendWindow`), and the options, each on only if both SYNs carried it
 * (and our config allows it).
 *
 * - MSS (RFC 9293 §3.7.1): send no more than the peer's MSS (536 if it sent none) and
 *   no more than our own MTU allows.
 * - Window scale (RFC 7323 §2.2–2.3): both sides must send the option; a shift above
 *   14 is taken as 14.
 * - SACK-permitted (RFC 2018 §2) and timestamps (RFC 7323 §3.2).
 */
import { mssTo } from "../network.ts";
import type { TcpSegment } from "./header.ts";
import type { TcpOptions } from "./options.ts";
import { seqAdd } from "./seq.ts";
import type { Tcb } from "./tcb.ts";

/**
 * The peer's initial sequence number, from its SYN. RFC 9293 §3.10.7.2 (LISTEN) and
 * §3.10.7.3 (SYN-SENT): "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ". RCV.ADV,
 * the right edge we have offered (RFC 7323 §2.4), starts at RCV.NXT. A SYN-cookie ACK
 * passes the IRS its cookie was made for (SEG.SEQ − 1).
 */
export function receiveSyn(tcb: Tcb, irs: number): void {
  tcb.irs = irs;
  tcb.rcvNxt = seqAdd(irs, 1);
  tcb.rcvAdv = tcb.rcvNxt;
}

/**
 * The first send window, from the segment that synchronizes us: RFC 9293 §3.10.7.3
 * "SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK" (§3.10.7.2 likewise for
 * a SYN in LISTEN, where SND.WL2 is our ISS: there is no SEG.ACK). SEG.WND is taken
 * unscaled: a SYN's window never is (RFC 7323 §2.2). MAX.SND.WND (RFC 5961 §5.2) starts
 * at it too.
 */
export function initSendWindow(tcb: Tcb, seg: TcpSegment, wl2: number): void {
  tcb.sndWnd = seg.wnd;
  tcb.maxSndWnd = seg.wnd;
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = wl2;
}

/** The receive-window shift we offer: enough for `maxBytes` of buffer (at most 14). */
export function windowScaleFor(maxBytes: number): number {
  let shift = 0;
  while (shift < 14 && 65535 * 2 ** shift < maxBytes) shift++;
  return shift;
}

/** Applies the peer's SYN options. For a passive open, what we will echo in the SYN,ACK. */
export function negotiateOptions(tcb: Tcb, peer: TcpOptions, now: number): void {
  const config = tcb.layer.config;
  // RFC 9293 §3.7.1: the peer's MSS, at most what our MTU toward it allows (the path
  // MTU over IPv6, RFC 8201 §5.2); 536 unless said (RFC 9293 §3.7.1; RFC 8200 §8.3 lets
  // IPv6 assume 1220, kept at 536 as Linux does when the option is absent).
  tcb.sndMss = Math.max(64, Math.min(peer.mss ?? 536, mssTo(tcb.net, tcb.remoteAddress)));
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
