/**
 * The TCP layer (RFC 9293): demultiplexing by four-tuple, listeners, the timer heap,
 * and the entry points the rest of the stack calls.
 *
 *   input(d)  → parseSegment (header.ts) → a TCB?      → onSynSent (syn_sent.ts) in SYN-SENT,
 *                                                          else segmentArrives (segment_arrives.ts)
 *                                        → a listener? → onListen (listen.ts)
 *                                        → neither     → onClosed: RST (listen.ts,
 *                                                          sent by stateless.ts)
 *   poll(now) → timers due (timers.ts) → output (output.ts) for dirty TCBs
 *
 * Read tcb.ts next, then segment_arrives.ts.
 */
import { ANY_ADDRESS } from "../address.ts";
import { copyDatagram, type Forwarder } from "../forwarding.ts";
import type { Ipv4Datagram } from "../ipv4/datagram.ts";
import type { Ipv6Address } from "../ipv6/address.ts";
import { flowLabelOf } from "../ipv6/flow_label.ts";
import {
  endpointKey,
  type IpAddress,
  type IpDatagram,
  type IpErrorReport,
  type NetworkLayer,
  type NetworkSend,
} from "../network.ts";
import type { Offload, TransmitOffload } from "../offload.ts";
import { PacketBufferPool } from "../packet_buffers.ts";
import type { Random } from "../random.ts";
import type { Stats } from "../stats.ts";
import type { Trace } from "../trace.ts";
import { ChallengeAckLimiter } from "./challenge_ack.ts";
import { defaultTcpConfig, defaultTcpConnectionOptions, type TcpConfig } from "./config.ts";
import type { TcpConnection, TcpConnectionOptions, TcpListener } from "./connection.ts";
import {
  Flag,
  OutgoingSegment,
  parseSegment,
  ReceivedSegment,
  TCP_PROTOCOL,
  type TcpSegment,
} from "./header.ts";
import { IsnGenerator } from "./isn.ts";
import { onClosed, onListen } from "./listen.ts";
import { Listener } from "./listener.ts";
import { listenerFor, listenersOverlap } from "./listeners.ts";
import { windowScaleFor } from "./negotiate.ts";
import { output } from "./output.ts";
import { validRemoteAddresses } from "./remote_address.ts";
import { segmentArrives } from "./segment_arrives.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from "./seq.ts";
import { onSynSent } from "./syn_sent.ts";
import { Tcb } from "./tcb.ts";
import { onTimers } from "./timeouts.ts";
import { TimerHeap } from "./timer_heap.ts";
import { armFinWait2Timer } from "./timers.ts";
import { destroy, transition } from "./transitions.ts";

export { defaultTcpConfig, defaultTcpConnectionOptions, type TcpConfig } from "./config.ts";

/** What TCP needs from the stack (the Stack class satisfies it). */
export interface TcpHost {
  /** What the device finishes for us (`stack/offload.ts`); none when absent. */
  readonly offload?: Offload;
  readonly random: Random;
  readonly stats: Stats;
  readonly trace: Trace;
  /**
   * The network layer for a peer's address: IPv4 for a number, IPv6 for text. A
   * connection keeps the one it was made with (`Tcb.net`): the family is a parameter of
   * the connection, and everything else in TCP is the same over both.
   */
  networkFor(address: IpAddress): NetworkLayer;
  /** The host's IPv4 address: a segment to another one may be for a gateway's forwarder. */
  readonly address: number;
  /** A gateway's forwarder (forwarding.ts), and ICMP for its "unreachable" verdicts. */
  readonly forwarder?: Pick<Forwarder, "tcpSyn">;
  readonly icmp?: { sendDestinationUnreachable(d: Ipv4Datagram, code: number, now: number): void };
}

/**
 * With `ackPerBurst`, the most data a burst's ACK may wait for: two 64 KB super-segments,
 * what Linux's GRO leads it to ACK at most (one ACK per two aggregated "segments").
 */
const MAX_ACK_STRETCH = 2 * 65536;

export class Tcp {
  readonly config: TcpConfig;
  readonly isn: IsnGenerator;
  // Connections by (remote address, remote port) then (local address, local port)
  // (`endpointKey`): over IPv4 two exact 48-bit number keys, no string built per packet;
  // over IPv6 the 128-bit addresses' text with the port. The TCB itself while it is the
  // only one for that remote endpoint (the usual case: no inner Map per connection).
  private readonly byRemote = new Map<number | string, Tcb | Map<number | string, Tcb>>();
  private readonly all = new Set<Tcb>();
  private readonly listeners = new Map<number, Map<IpAddress, Listener>>();
  /** The IP_TRANSPARENT listener: connections to forwarded addresses join it (forwarding.ts). */
  private transparentListener: Listener | undefined;
  private readonly localPorts = new Map<number, number>();
  private readonly timers = new TimerHeap();
  private readonly dirty: Tcb[] = [];
  // What the packet path reuses instead of allocating per segment, each valid only
  // during one input or one transmit (see their own comments):
  /** The arriving segment, parsed into the same object every time (`parseSegment`). */
  private readonly arriving = new ReceivedSegment();
  /** True while a segment is being processed: one arriving meanwhile is nested. */
  private receiving = false;
  /** The header fields and options of the segment being sent (output.ts `transmit`). */
  readonly outgoing = new OutgoingSegment();
  /** Buffers outgoing segments are built in, with IPv4 headroom (`packet_buffers.ts`). */
  readonly txBuffers = new PacketBufferPool();
  /** What the network layer is told about the segment being sent (`networkSend`). */
  private readonly send: {
    source: IpAddress;
    destination: IpAddress;
    readonly protocol: number;
    readonly dontFragment: boolean;
    offload: TransmitOffload | undefined;
    ttl: number | undefined;
    typeOfService: number | undefined;
    flowLabel: number | undefined;
  } = {
    source: 0,
    destination: 0,
    protocol: TCP_PROTOCOL,
    dontFragment: true,
    offload: undefined,
    ttl: undefined,
    typeOfService: undefined,
    flowLabel: undefined,
  };
  /** RFC 5961 §7's host-wide limit on challenge ACKs (challenge_ack.ts). */
  readonly challengeAcks = new ChallengeAckLimiter();
  private flowLabelKey: number | undefined;

  constructor(
    readonly host: TcpHost,
    config?: Partial<TcpConfig>,
  ) {
    this.config = { ...defaultTcpConfig(), ...config };
    // RFC 6528 §3: the key must be secret, so never from host.random (32 bits of seed,
    // and its outputs show in ephemeral ports): the Stack draws it from its entropy.
    const key = this.config.isnKey;
    if (key === undefined) throw new Error("TcpConfig.isnKey is required (RFC 6528 secret)");
    this.isn = new IsnGenerator(key);
  }

  /**
   * A TCP segment arrived (RFC 9293 §3.10.7). Never throws. The segment is parsed into
   * `arriving`, unless a segment arrives while another is still being processed (a
   * harness that loops a reply straight back), which then gets a segment of its own.
   */
  input(d: IpDatagram, now: number): void {
    const nested = this.receiving;
    const seg = parseSegment(d, nested ? new ReceivedSegment() : this.arriving);
    const stats = this.host.stats;
    if (typeof seg === "string") {
      stats.drop(seg);
      return;
    }
    this.receiving = true;
    try {
      this.arrive(d, seg, now);
    } finally {
      this.receiving = nested;
    }
  }

  /** A parsed segment to a TCB, a listener, or neither (RFC 9293 §3.10.7.1–3). */
  private arrive(d: IpDatagram, seg: TcpSegment, now: number): void {
    const stats = this.host.stats;
    stats.count("tcpInSegs");
    if (!validRemoteAddresses(d, stats)) return; // RFC 1122 §4.2.3.10 (remote_address.ts)
    let tcb = this.find(d.destination, seg.destinationPort, d.source, seg.sourcePort);
    if (tcb !== undefined && tcb.state === "TIME-WAIT" && this.reopensTimeWait(tcb, seg)) {
      destroy(tcb, undefined, "timeWaitReopened");
      tcb = undefined;
    }
    if (tcb !== undefined) {
      if (tcb.state === "SYN-SENT") onSynSent(tcb, seg, now);
      else segmentArrives(tcb, seg, now);
      this.settleAfterBurst(tcb, now);
      return;
    }
    const listener = this.findListener(d.destination, seg.destinationPort);
    if (listener === undefined) {
      // A gateway forwards IPv4 only (forwarding.ts).
      const forwardable = typeof d.destination === "number" && d.destination !== this.host.address;
      if (forwardable && this.forwarded(d as Ipv4Datagram, seg, now)) return;
      onClosed(this, d, seg);
      return;
    }
    const created = onListen(this, listener, d, seg, now);
    if (created !== undefined) this.settle(created, now);
  }

  /**
   * A segment to a forwarded address with no TCB (forwarding.ts). A SYN waits for the
   * forwarder's verdict (connect first); what it accepts, and any other segment, meets
   * the transparent listener as LISTEN (RFC 9293 §3.10.7.2). False: treat as CLOSED.
   */
  private forwarded(d: Ipv4Datagram, seg: TcpSegment, now: number): boolean {
    const listener = this.transparentListener;
    const forwarder = this.host.forwarder;
    if (listener === undefined || forwarder === undefined) return false;
    if ((seg.flags & (Flag.SYN | Flag.ACK | Flag.RST)) === Flag.SYN) {
      const verdict = forwarder.tcpSyn(
        {
          source: d.source,
          sourcePort: seg.sourcePort,
          destination: d.destination,
          destinationPort: seg.destinationPort,
          packet: copyDatagram(d.header, d.payload),
          checksumValid: d.checksumValid === true,
        },
        now,
      );
      if (verdict.kind === "reset") return false; // the RST the destination would send
      if (verdict.kind === "pending") {
        this.host.stats.count("tcpForwardPending"); // handed back when the host connect ends
        return true;
      }
      if (verdict.kind === "unreachable") {
        this.host.icmp?.sendDestinationUnreachable(d, verdict.code, now);
        return true;
      }
    }
    const created = onListen(this, listener, d, seg, now);
    if (created !== undefined) this.settle(created, now);
    return true;
  }

  /**
   * RFC 9293 §3.6 (MAY-2, SHLD-4) / RFC 6191 §2: a SYN may start a new incarnation of a
   * four-tuple in TIME-WAIT. When the old connection used timestamps and the new one
   * would, the SYN's TSval must be newer than TS.Recent (or equal, with a higher
   * sequence number); otherwise its sequence number must be above the old RCV.NXT.
   * A SYN that fails goes to the old connection, which answers it (RFC 5961 §4).
   */
  private reopensTimeWait(tcb: Tcb, seg: TcpSegment): boolean {
    if ((seg.flags & (Flag.SYN | Flag.ACK | Flag.RST)) !== Flag.SYN) return false;
    const ts = seg.options.timestamp;
    if (tcb.tsEnabled && ts !== undefined && this.config.timestamps) {
      if (seqGt(ts.value, tcb.tsRecent)) return true;
      return ts.value === tcb.tsRecent && seqGt(seg.seq, tcb.rcvNxt);
    }
    return seqGt(seg.seq, tcb.rcvNxt);
  }

  /**
   * ICMP reported an error about a segment we sent (RFC 1122 §4.2.3.9, RFC 5927):
   * hard errors only fail a connection still in SYN-SENT; otherwise they are soft and
   * remembered for a later timeout. "Fragmentation needed" (RFC 1191) and IPv6's
   * Packet Too Big (RFC 8201 §4, RFC 4443 §3.2) lower the MSS to the reported MTU less
   * the IP and TCP headers of the connection's family.
   */
  icmpError(report: IpErrorReport, now: number): void {
    const tcb = this.find(
      report.source,
      report.sourcePort,
      report.destination,
      report.destinationPort,
    );
    if (tcb === undefined || report.quoted.length < 8) return;
    const view = new DataView(report.quoted.buffer, report.quoted.byteOffset, report.quoted.length);
    const seq = view.getUint32(4);
    // RFC 5927 §4.1: the quoted sequence number must be in flight, else ignore it.
    if (!(seqLe(tcb.sndUna, seq) && seqLt(seq, seqAdd(tcb.sndMax, 1)))) {
      this.host.stats.drop("tcpIcmpOutOfWindow");
      return;
    }
    if (report.error === "EMSGSIZE") {
      // RFC 1191 §3: an IPv4 MTU below 68 is bogus; RFC 8201 §4: an IPv6 path MTU is
      // never taken below the minimum link MTU, 1280 (RFC 8200 §5).
      const ipv4 = tcb.net.family === "inet";
      if (ipv4 ? report.nextHopMtu >= 68 : report.nextHopMtu > 0) {
        const mtu = ipv4 ? report.nextHopMtu : Math.max(1280, report.nextHopMtu);
        const mss = mtu - tcb.net.headerLength - 20;
        if (mss >= tcb.sndMss) return;
        tcb.sndMss = Math.max(64, mss);
        tcb.cc.setMss(tcb.smss);
        tcb.board.mss = tcb.smss;
        tcb.sndNxt = tcb.sndUna; // resend in smaller segments
        this.markDirty(tcb);
      }
      return;
    }
    const error = report.error === "ECONNREFUSED" ? "ECONNREFUSED" : "EHOSTUNREACH";
    if (tcb.state === "SYN-SENT") {
      destroy(tcb, error, "hardError");
      return;
    }
    tcb.softError = error;
    this.settle(tcb, now);
  }

  /** Fires due timers, then sends what dirty connections owe. */
  poll(now: number): void {
    for (let tcb = this.timers.popDue(now); tcb !== undefined; tcb = this.timers.popDue(now)) {
      if (tcb.closed) continue;
      onTimers(tcb, now); // ends with output()
      if (!tcb.closed) this.timers.schedule(tcb);
      if (tcb.changed) {
        tcb.changed = false;
        tcb.onChange?.();
      }
    }
    while (this.dirty.length > 0) {
      const tcb = this.dirty.pop()!;
      if (!tcb.dirty || tcb.closed) continue;
      this.settle(tcb, now);
    }
  }

  /** The earliest deadline: now-ish if output is owed, else the first timer. */
  nextDeadline(): number {
    if (this.dirty.length > 0) return Number.NEGATIVE_INFINITY;
    return this.timers.peek();
  }

  /**
   * Passive OPEN (RFC 9293 §3.10.1). The socket layer has checked for conflicts. A
   * listener on :: takes IPv4 connections too unless `v6Only` (RFC 3493 §5.3
   * IPV6_V6ONLY; the connection is then an IPv4 one, named v4-mapped by the socket).
   */
  listen(
    localAddress: IpAddress,
    localPort: number,
    backlog: number,
    options?: TcpConnectionOptions,
    v6Only = false,
  ): TcpListener {
    const address = typeof localAddress === "number" ? localAddress >>> 0 : localAddress;
    const listener = new Listener(this, address, localPort, backlog, options, v6Only);
    let byAddress = this.listeners.get(localPort);
    if (byAddress === undefined) {
      byAddress = new Map();
      this.listeners.set(localPort, byAddress);
    }
    byAddress.set(listener.localAddress, listener);
    return listener;
  }

  /**
   * Passive OPEN for every forwarded address and port (Linux's IP_TRANSPARENT): the
   * connections a forwarder accepts (forwarding.ts) join this listener.
   */
  listenTransparent(backlog: number, options?: TcpConnectionOptions): TcpListener {
    this.transparentListener?.close(0);
    const listener = new Listener(this, ANY_ADDRESS, 0, backlog, options);
    this.transparentListener = listener;
    return listener;
  }

  /** Active OPEN (RFC 9293 §3.10.1): sends the SYN now; SYN-SENT. */
  connect(
    local: { address: IpAddress; port: number },
    remote: { address: IpAddress; port: number },
    options: TcpConnectionOptions,
    now: number,
  ): TcpConnection {
    const tcb = this.createTcb(
      local.address,
      local.port,
      remote.address,
      remote.port,
      undefined,
      now,
      options,
    );
    transition(tcb, "activeOpen");
    this.host.stats.count("tcpActiveOpens");
    output(tcb, now);
    this.settle(tcb, now);
    return tcb;
  }

  /** The port space is shared by both families, as in Linux. */
  portInUse(address: IpAddress, port: number, v6Only = false): boolean {
    if ((this.localPorts.get(port) ?? 0) > 0) return true;
    const byAddress = this.listeners.get(port);
    if (byAddress === undefined) return false;
    for (const listener of byAddress.values()) {
      if (listenersOverlap(address, v6Only, listener)) return true;
    }
    return false;
  }

  fourTupleInUse(
    localAddress: IpAddress,
    localPort: number,
    remoteAddress: IpAddress,
    remotePort: number,
  ): boolean {
    return this.find(localAddress, localPort, remoteAddress, remotePort) !== undefined;
  }

  connections(): Iterable<TcpConnection> {
    return this.all;
  }

  /** How many TCBs exist (all states), for bounded-memory checks. */
  get connectionCount(): number {
    return this.all.size;
  }

  // ---- Internal API used by the other files of stack/tcp ----

  find(
    localAddress: IpAddress,
    localPort: number,
    remoteAddress: IpAddress,
    remotePort: number,
  ): Tcb | undefined {
    const entry = this.byRemote.get(endpointKey(remoteAddress, remotePort));
    const localKey = endpointKey(localAddress, localPort);
    if (entry instanceof Map) return entry.get(localKey);
    return entry !== undefined && localKeyOf(entry) === localKey ? entry : undefined;
  }

  /**
   * The listener for a segment to `address`:`port`: a specific address wins over the
   * family's wildcard; an IPv4 segment may also find a dual-stack listener on ::
   * (RFC 4291 §2.5.5.2, RFC 3493 §3.7: IPv4 peers as IPv4-mapped IPv6 addresses).
   */
  private findListener(address: IpAddress, port: number): Listener | undefined {
    const byAddress = this.listeners.get(port);
    return byAddress === undefined ? undefined : listenerFor(byAddress, address);
  }

  /** Makes a TCB, chooses its ISS (RFC 6528) and files it under its four-tuple. */
  createTcb(
    la: IpAddress,
    lp: number,
    ra: IpAddress,
    rp: number,
    iss: number | undefined,
    now: number,
    options: TcpConnectionOptions = defaultTcpConnectionOptions(),
  ): Tcb {
    const config = this.config;
    const clamped = {
      ...options,
      receiveBufferBytes: Math.min(
        Math.max(options.receiveBufferBytes, 1024),
        config.maxReceiveBufferBytes,
      ),
      sendBufferBytes: Math.max(options.sendBufferBytes, 1024),
    };
    const tcb = new Tcb(this, la, lp, ra, rp, clamped);
    tcb.iss = iss ?? config.isn ?? this.isn.isn(la, lp, ra, rp, now);
    tcb.sndUna = tcb.iss;
    tcb.sndNxt = tcb.iss;
    tcb.sndMax = tcb.iss;
    tcb.sndBufSeq = seqAdd(tcb.iss, 1);
    tcb.highRxt = seqAdd(tcb.iss, 1);
    tcb.tsOffset = this.host.random.nextUint32(); // RFC 7323 §5.4: randomised TSval offset
    if (typeof ra === "string") tcb.flowLabel = this.flowLabel(la, lp, ra, rp);
    tcb.offeredRcvScale = config.windowScale ? windowScaleFor(config.maxReceiveBufferBytes) : 0;
    const remoteKey = endpointKey(ra, rp);
    const localKey = endpointKey(la, lp);
    const entry = this.byRemote.get(remoteKey);
    if (entry instanceof Map) entry.set(localKey, tcb);
    else if (entry === undefined || localKeyOf(entry) === localKey)
      this.byRemote.set(remoteKey, tcb);
    else
      this.byRemote.set(
        remoteKey,
        new Map([
          [localKeyOf(entry), entry],
          [localKey, tcb],
        ]),
      );
    this.all.add(tcb);
    this.localPorts.set(lp, (this.localPorts.get(lp) ?? 0) + 1);
    return tcb;
  }

  /** Unfiles a TCB (transitions.ts destroy calls this). */
  remove(tcb: Tcb): void {
    if (!this.all.delete(tcb)) return;
    const remoteKey = endpointKey(tcb.remoteAddress, tcb.remotePort);
    const localKey = localKeyOf(tcb);
    const entry = this.byRemote.get(remoteKey);
    if (entry instanceof Map) {
      entry.delete(localKey);
      if (entry.size === 0) this.byRemote.delete(remoteKey);
    } else if (entry !== undefined && localKeyOf(entry) === localKey) {
      this.byRemote.delete(remoteKey);
    }
    const count = (this.localPorts.get(tcb.localPort) ?? 1) - 1;
    if (count > 0) this.localPorts.set(tcb.localPort, count);
    else this.localPorts.delete(tcb.localPort);
  }

  removeListener(listener: Listener): void {
    if (listener === this.transparentListener) this.transparentListener = undefined;
    const byAddress = this.listeners.get(listener.localPort);
    if (byAddress?.get(listener.localAddress) === listener) byAddress.delete(listener.localAddress);
    if (byAddress !== undefined && byAddress.size === 0) this.listeners.delete(listener.localPort);
  }

  /** A user call changed `tcb`: send what it owes at the next poll. */
  markDirty(tcb: Tcb): void {
    if (tcb.dirty || tcb.closed) return;
    tcb.dirty = true;
    this.dirty.push(tcb);
  }

  /**
   * After a segment arrived. With `ackPerBurst`, what `tcb` owes goes out at the next
   * `poll`, which the driver calls after each receive burst: a burst is answered with
   * one ACK. Deviation, as Linux's GRO makes it: RFC 1122 §4.2.3.2 and RFC 5681 §4.2
   * ask for an ACK at least every second full-sized segment; a burst counts here as one
   * aggregate segment (a "stretch ACK"), which the sender's byte counting (RFC 3465)
   * tolerates. The stretch is bounded by MAX_ACK_STRETCH bytes: a sender with a large
   * window is not left waiting for the end of a long burst. A connection that ended is
   * settled at once, so its socket hears of it.
   */
  private settleAfterBurst(tcb: Tcb, now: number): void {
    const deferrable = this.config.ackPerBurst && !tcb.closed;
    if (deferrable && seqDiff(tcb.rcvNxt, tcb.lastAckSent) < MAX_ACK_STRETCH) this.markDirty(tcb);
    else this.settle(tcb, now);
  }

  /** After any event on `tcb`: send what is owed, refile its timers, tell the socket. */
  settle(tcb: Tcb, now: number): void {
    if (!tcb.closed) {
      output(tcb, now); // an ACK may have opened a window, a timer may owe a segment
      armFinWait2Timer(tcb, now);
      this.timers.schedule(tcb);
    }
    if (tcb.changed) {
      tcb.changed = false;
      tcb.onChange?.();
    }
  }

  /**
   * How the network layer is to send a segment of this connection: DF set over IPv4
   * (RFC 1191 path MTU discovery), with what the device finishes. One object, refilled
   * for each segment: the network layer reads it before the packet goes to the device.
   */
  networkSend(
    source: IpAddress,
    destination: IpAddress,
    offload: TransmitOffload | undefined,
    flowLabel?: number,
    ip?: { readonly ttl?: number; readonly typeOfService?: number },
  ): NetworkSend {
    const send = this.send;
    send.source = source;
    send.destination = destination;
    send.offload = offload;
    send.flowLabel = flowLabel;
    // IP_TTL and IP_TOS, handed to IP unchanged (RFC 9293 MUST-48, MUST-49, SHLD-22).
    send.ttl = ip?.ttl;
    send.typeOfService = ip?.typeOfService;
    return send;
  }

  /**
   * RFC 6437 §3, §6.3: one label for all of a connection's packets, a keyed hash of its
   * five-tuple (flow_label.ts), computed once rather than per packet. The key is drawn
   * from the ISN generator's secret, so outsiders cannot predict it.
   */
  private flowLabel(la: IpAddress, lp: number, ra: IpAddress, rp: number): number {
    this.flowLabelKey ??= this.isn.hash(0, 0, 0, 0, FLOW_LABEL_TAG);
    const flow = {
      source: la as Ipv6Address,
      destination: ra as Ipv6Address,
      protocol: TCP_PROTOCOL,
    };
    return flowLabelOf({ ...flow, sourcePort: lp, destinationPort: rp }, this.flowLabelKey);
  }
}

/** Tells the flow label's key apart from any ISN hash ("flow"). */
const FLOW_LABEL_TAG = 0x666c6f77;

/** The local half of a TCB's four-tuple as one key (`endpointKey`). */
function localKeyOf(tcb: Tcb): number | string {
  return endpointKey(tcb.localAddress, tcb.localPort);
}
