/**
 * SEGMENT ARRIVES when there is no connection: the CLOSED state (RFC 9293 §3.10.7.1)
 * and the LISTEN state (§3.10.7.2), including the SYN-cookie path (RFC 4987 §3.6) a
 * listener uses when its half-open table is full.
 */
import type { Ipv4Datagram } from "../ipv4/datagram.ts";
import { Flag, segmentLength, type TcpSegment } from "./header.ts";
import type { Listener } from "./listener.ts";
import { initSendWindow, negotiateOptions, receiveSyn, windowScaleFor } from "./negotiate.ts";
import type { TcpOptions } from "./options.ts";
import { segmentArrives } from "./segment_arrives.ts";
import { seqAdd } from "./seq.ts";
import { sendReset, sendSynAckCookie } from "./stateless.ts";
import {
  type CookieOptions,
  checkCookie,
  cookieOptionsFrom,
  cookieTimestamp,
  cookieTimestampValid,
  cookieTsOffset,
  makeCookie,
} from "./syn_cookies.ts";
import type { Tcb } from "./tcb.ts";
import type { Tcp } from "./tcp.ts";
import { childOfListener, establish, transition } from "./transitions.ts";

/**
 * RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded. An incoming
 * segment not containing a RST causes a RST to be sent in response":
 *   ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
 *   ACK on:  <SEQ=SEG.ACK><CTL=RST>
 */
export function onClosed(tcp: Tcp, d: Ipv4Datagram, seg: TcpSegment): void {
  tcp.host.stats.drop("tcpInNoPort");
  if (seg.flags & Flag.RST) return;
  if (seg.flags & Flag.ACK) sendReset(tcp.host, d.destination, d.source, seg, seg.ack, 0, Flag.RST);
  else
    sendReset(
      tcp.host,
      d.destination,
      d.source,
      seg,
      0,
      seqAdd(seg.seq, segmentLength(seg)),
      Flag.RST | Flag.ACK,
    );
}

/** RFC 9293 §3.10.7.2: SEGMENT ARRIVES in LISTEN. Returns the new TCB, if any. */
export function onListen(
  tcp: Tcp,
  listener: Listener,
  d: Ipv4Datagram,
  seg: TcpSegment,
  now: number,
): Tcb | undefined {
  // First: "An incoming RST segment could not be valid ... Return."
  if (seg.flags & Flag.RST) return undefined;
  // Second: "Any acknowledgment is bad if it arrives on a connection still in the
  // LISTEN state": <SEQ=SEG.ACK><CTL=RST> -- unless it completes a SYN cookie.
  if (seg.flags & Flag.ACK) {
    const cookies = tcp.config.synCookies;
    const tcb = cookies ? fromCookie(tcp, listener, d, seg, now) : undefined;
    if (tcb !== undefined) return tcb;
    // Deviation: while the half-open table is full (cookies in use) a failed ACK without
    // FIN is dropped, not reset: it may be a genuine client's later segment that overtook
    // the one whose sequence number validates the cookie (that one will arrive or be
    // resent). A FIN is still reset, so a peer retransmitting its FIN to a connection
    // whose TIME-WAIT has ended learns that it is gone.
    const overflowing = listener.halfOpen.size >= tcp.config.synBacklog;
    if (cookies && overflowing && !(seg.flags & Flag.FIN)) return undefined;
    sendReset(tcp.host, d.destination, d.source, seg, seg.ack, 0, Flag.RST);
    return undefined;
  }
  // Third: the SYN. (Security/precedence checks are not implemented.)
  if (!(seg.flags & Flag.SYN)) return undefined; // fourth: "drop the segment and return"
  if (listener.acceptQueue.length >= listener.backlog) {
    tcp.host.stats.drop("tcpListenDrops"); // Linux also drops SYNs while accept() lags
    return undefined;
  }
  if (listener.halfOpen.size >= tcp.config.synBacklog) {
    if (tcp.config.synCookies) sendCookie(tcp, d, seg, now);
    else tcp.host.stats.drop("tcpListenDrops");
    return undefined;
  }
  const tcb = childTcb(tcp, listener, d, seg, undefined, now);
  listener.halfOpen.add(tcb);
  // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected and a
  // SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>" (output.ts sends it).
  receiveSyn(tcb, seg.seq);
  negotiateOptions(tcb, seg.options, now);
  initSendWindow(tcb, seg, tcb.iss);
  // The new TCB is the listener's, moving on (§3.10.7.2), so a trace shows the textbook
  // LISTEN -> SYN-RECEIVED while the listener itself keeps listening.
  transition(tcb, "synInListen");
  tcp.host.stats.count("tcpPassiveOpens");
  // Data on the SYN is not queued (the RFC allows queueing it); the peer resends it.
  return tcb;
}

/**
 * A SYN answered statelessly: SYN,ACK with a cookie ISN and our MSS. If the SYN carried
 * a timestamp, the window scale and SACK-permitted it offered ride in our TSval and
 * are agreed as usual (syn_cookies.ts); without one they are lost (RFC 4987 §3.6).
 */
function sendCookie(tcp: Tcp, d: Ipv4Datagram, seg: TcpSegment, now: number): void {
  const config = tcp.config;
  const tuple = tupleOf(d, seg);
  const peer = seg.options;
  const cookie = makeCookie(tcp.isn, tuple, seg.seq, peer.mss ?? 536, now);
  const options: TcpOptions = { mss: tcp.host.mtu - 40 };
  if (config.timestamps && peer.timestamp !== undefined) {
    const agreed: CookieOptions = {
      windowScale: config.windowScale ? peer.windowScale : undefined,
      sackPermitted: config.sack && peer.sackPermitted === true,
    };
    const tsClock = Math.floor(now) + cookieTsOffset(tcp.isn, tuple);
    options.timestamp = { value: cookieTimestamp(tsClock, agreed), echo: peer.timestamp.value };
    if (agreed.windowScale !== undefined)
      options.windowScale = windowScaleFor(config.maxReceiveBufferBytes);
    if (agreed.sackPermitted) options.sackPermitted = true;
  }
  tcp.host.stats.count("tcpSynCookiesSent");
  sendSynAckCookie(tcp.host, d.destination, d.source, seg, cookie, options);
}

/** The ACK that completes a cookie handshake: rebuild the TCB in ESTABLISHED. */
function fromCookie(
  tcp: Tcp,
  listener: Listener,
  d: Ipv4Datagram,
  seg: TcpSegment,
  now: number,
): Tcb | undefined {
  if (seg.flags & (Flag.SYN | Flag.RST)) return undefined;
  const clientIsn = seqAdd(seg.seq, -1);
  const cookie = seqAdd(seg.ack, -1);
  const tuple = tupleOf(d, seg);
  const mss = checkCookie(tcp.isn, tuple, clientIsn, cookie, now);
  // The options our TSval carried, echoed in TSecr (none if the peer sent no timestamp);
  // an echo that cannot be one of our recent TSvals fails the cookie.
  const ts = tcp.config.timestamps ? seg.options.timestamp : undefined;
  const carried = ts === undefined ? undefined : cookieOptionsFrom(ts.echo);
  const tsOffset = ts === undefined ? 0 : cookieTsOffset(tcp.isn, tuple);
  const echoValid = ts === undefined || cookieTimestampValid(ts.echo, Math.floor(now) + tsOffset);
  if (mss === undefined || !echoValid) {
    if (listener.halfOpen.size >= tcp.config.synBacklog)
      tcp.host.stats.count("tcpSynCookiesFailed");
    return undefined;
  }
  if (listener.acceptQueue.length >= listener.backlog) return undefined;
  const tcb = childTcb(tcp, listener, d, seg, cookie, now);
  receiveSyn(tcb, clientIsn);
  // What the SYN offered, as far as the cookie kept it, is agreed as for any SYN.
  negotiateOptions(tcb, { mss, ...carried, timestamp: ts }, now);
  if (ts !== undefined) tcb.tsOffset = tsOffset; // as in the SYN,ACK (sendCookie)
  tcb.sndUna = seg.ack;
  tcb.sndNxt = seg.ack;
  tcb.sndMax = seg.ack;
  initSendWindow(tcb, seg, seg.ack);
  // Unlike a SYN's, this segment's window is scaled (RFC 7323 §2.3).
  tcb.sndWnd = seg.wnd * 2 ** tcb.sndScale;
  tcb.maxSndWnd = tcb.sndWnd;
  transition(tcb, "cookieAck");
  tcp.host.stats.count("tcpSynCookiesRecv");
  tcp.host.stats.count("tcpPassiveOpens");
  establish(tcb, now, "cookieEstablished");
  segmentArrives(tcb, seg, now); // the ACK may carry data
  return tcb;
}

/** A TCB for the segment's four-tuple, owned by `listener`; `iss` undefined: a fresh ISN. */
function childTcb(
  tcp: Tcp,
  listener: Listener,
  d: Ipv4Datagram,
  seg: TcpSegment,
  iss: number | undefined,
  now: number,
): Tcb {
  const tcb = tcp.createTcb(
    d.destination,
    seg.destinationPort,
    d.source,
    seg.sourcePort,
    iss,
    now,
    listener.connectionOptions,
  );
  tcb.listener = listener;
  childOfListener(tcb);
  return tcb;
}

function tupleOf(d: Ipv4Datagram, seg: TcpSegment) {
  return {
    localAddress: d.destination,
    localPort: seg.destinationPort,
    remoteAddress: d.source,
    remotePort: seg.sourcePort,
  };
}
