/**
 * SEGMENT ARRIVES when there is no connection: the CLOSED state (RFC 9293 §3.10.7.1)
 * and the LISTEN state (§3.10.7.2), including the SYN-cookie path (RFC 4987 §3.6) a
 * listener uses when its half-open table is full.
 */
import { type IpDatagram, mssTo } from "../network.ts";
import { Flag, segmentLength, type TcpSegment } from "./header.ts";
import type { Listener } from "./listener.ts";
import { initSendWindow, negotiateOptions, receiveSyn, windowScaleFor } from "./negotiate.ts";
import type { TcpOptions } from "./options.ts";
import { segmentArrives } from "./segment_arrives.ts";
import { seqAdd, tsClock } from "./seq.ts";
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
export function onClosed(tcp: Tcp, d: IpDatagram, seg: TcpSegment): void {
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
  d: IpDatagram,
  seg: TcpSegment,
  now: number,
): Tcb | undefined {
  // First: "An incoming RST segment could not be valid ... Return."
  if (seg.flags & Flag.RST) return undefined;
  // Second: the ACK bit.
  if (seg.flags & Flag.ACK) return ackInListen(tcp, listener, d, seg, now);
  // Third: security (not implemented: optional, RFC 9293 §3.10.7.2), then the SYN bit.
  if (seg.flags & Flag.SYN) return synInListen(tcp, listener, d, seg, now);
  return undefined; // fourth: "drop the segment and return"
}

/**
 * Second step: "Any acknowledgment is bad if it arrives on a connection still in the
 * LISTEN state": <SEQ=SEG.ACK><CTL=RST>, unless it completes a SYN cookie.
 */
function ackInListen(
  tcp: Tcp,
  listener: Listener,
  d: IpDatagram,
  seg: TcpSegment,
  now: number,
): Tcb | undefined {
  const cookies = tcp.config.synCookies;
  const cookie = cookies ? fromCookie(tcp, listener, d, seg, now) : undefined;
  // A valid cookie with no room in the accept queue: dropped and counted like any final
  // ACK then (ack.ts), never reset: the client believes the connection established, and
  // its retransmission completes it once accept() has made room (Linux does the same).
  if (cookie === "acceptQueueFull") return undefined;
  if (cookie !== undefined) return cookie;
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

/**
 * Third step, a SYN: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be
 * selected and a SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"
 * (output.ts sends it), unless a queue is full.
 */
function synInListen(
  tcp: Tcp,
  listener: Listener,
  d: IpDatagram,
  seg: TcpSegment,
  now: number,
): Tcb | undefined {
  if (listener.acceptQueueFull()) return undefined; // Linux also drops SYNs while accept() lags
  if (listener.halfOpen.size >= tcp.config.synBacklog) {
    // RFC 4987 §3.6: a SYN cookie instead of a TCB; without cookies the SYN is dropped
    // (Linux: TCPReqQFullDrop and ListenDrops).
    if (tcp.config.synCookies) sendCookie(tcp, d, seg, now);
    else {
      tcp.host.stats.drop("tcpReqQFullDrops");
      tcp.host.stats.count("tcpListenDrops");
    }
    return undefined;
  }
  const tcb = childTcb(tcp, listener, d, seg, undefined, now);
  listener.halfOpen.add(tcb);
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
function sendCookie(tcp: Tcp, d: IpDatagram, seg: TcpSegment, now: number): void {
  const config = tcp.config;
  const tuple = tupleOf(d, seg);
  const peer = seg.options;
  const cookie = makeCookie(tcp.isn, tuple, seg.seq, peer.mss ?? 536, now);
  const options: TcpOptions = { mss: mssTo(tcp.host.networkFor(d.source), d.source) };
  if (config.timestamps && peer.timestamp !== undefined) {
    const agreed: CookieOptions = {
      windowScale: config.windowScale ? peer.windowScale : undefined,
      sackPermitted: config.sack && peer.sackPermitted === true,
    };
    const clock = tsClock(now, cookieTsOffset(tcp.isn, tuple));
    options.timestamp = { value: cookieTimestamp(clock, agreed), echo: peer.timestamp.value };
    if (agreed.windowScale !== undefined)
      options.windowScale = windowScaleFor(config.maxReceiveBufferBytes);
    if (agreed.sackPermitted) options.sackPermitted = true;
  }
  tcp.host.stats.count("tcpSynCookiesSent");
  sendSynAckCookie(tcp.host, d.destination, d.source, seg, cookie, options);
}

/** What a valid cookie gives back of the SYN it answered (RFC 4987 §3.6). */
interface OpenedCookie {
  readonly clientIsn: number;
  readonly cookie: number;
  readonly mss: number;
  /** The window scale and SACK-permitted our TSval carried (none without timestamps). */
  readonly carried: CookieOptions | undefined;
  readonly timestamp: TcpOptions["timestamp"];
  readonly tsOffset: number;
}

/**
 * The ACK that completes a cookie handshake: rebuild the TCB in ESTABLISHED. Undefined
 * when the cookie is not valid; "acceptQueueFull" (counted) when it is but there is no
 * room for the connection.
 */
function fromCookie(
  tcp: Tcp,
  listener: Listener,
  d: IpDatagram,
  seg: TcpSegment,
  now: number,
): Tcb | "acceptQueueFull" | undefined {
  const opened = openCookie(tcp, d, seg, now);
  if (opened === undefined) {
    if (listener.halfOpen.size >= tcp.config.synBacklog)
      tcp.host.stats.count("tcpSynCookiesFailed");
    return undefined;
  }
  if (listener.acceptQueueFull()) return "acceptQueueFull";
  const tcb = childTcb(tcp, listener, d, seg, opened.cookie, now);
  receiveSyn(tcb, opened.clientIsn);
  // What the SYN offered, as far as the cookie kept it, is agreed as for any SYN.
  const { mss, carried, timestamp } = opened;
  negotiateOptions(tcb, { mss, ...carried, timestamp }, now);
  if (timestamp !== undefined) tcb.tsOffset = opened.tsOffset; // as in the SYN,ACK (sendCookie)
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

/**
 * Checks the cookie in SEG.ACK − 1 against SEG.SEQ − 1 and the four-tuple
 * (syn_cookies.ts). With timestamps, TSecr must be one of our recent TSvals: its low bits
 * carry the options, and an echo that cannot be ours fails the cookie.
 */
function openCookie(
  tcp: Tcp,
  d: IpDatagram,
  seg: TcpSegment,
  now: number,
): OpenedCookie | undefined {
  if (seg.flags & (Flag.SYN | Flag.RST)) return undefined;
  const clientIsn = seqAdd(seg.seq, -1);
  const cookie = seqAdd(seg.ack, -1);
  const tuple = tupleOf(d, seg);
  const mss = checkCookie(tcp.isn, tuple, clientIsn, cookie, now);
  if (mss === undefined) return undefined;
  const timestamp = tcp.config.timestamps ? seg.options.timestamp : undefined;
  if (timestamp === undefined)
    return { clientIsn, cookie, mss, carried: undefined, timestamp, tsOffset: 0 };
  const tsOffset = cookieTsOffset(tcp.isn, tuple);
  if (!cookieTimestampValid(timestamp.echo, tsClock(now, tsOffset))) return undefined;
  const carried = cookieOptionsFrom(timestamp.echo);
  return { clientIsn, cookie, mss, carried, timestamp, tsOffset };
}

/** A TCB for the segment's four-tuple, owned by `listener`; `iss` undefined: a fresh ISN. */
function childTcb(
  tcp: Tcp,
  listener: Listener,
  d: IpDatagram,
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

function tupleOf(d: IpDatagram, seg: TcpSegment) {
  return {
    localAddress: d.destination,
    localPort: seg.destinationPort,
    remoteAddress: d.source,
    remotePort: seg.sourcePort,
  };
}
