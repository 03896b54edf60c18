/**
 * The Transmission Control Block (RFC 9293 §3.3.1): everything TCP remembers about one
 * connection, with the RFC's names.
 *
 *   Send Sequence Space (RFC 9293 §3.3.1, Figure 3)
 *
 *              1         2          3          4
 *         ----------|----------|----------|----------
 *                SND.UNA    SND.NXT    SND.UNA
 *                                     +SND.WND
 *   1 - old sequence numbers that have been acknowledged
 *   2 - sequence numbers of unacknowledged data
 *   3 - sequence numbers allowed for new data transmission
 *   4 - future sequence numbers that are not yet allowed
 *
 * The send buffer holds areas 2 and the unsent data: its first byte has sequence
 * number `sndBufSeq`. `sndMax` is the highest sequence number ever sent: after a
 * retransmission timeout SND.NXT goes back to SND.UNA (go-back-N), and ACKs up to
 * `sndMax` remain acceptable (the BSD `snd_max`).
 *
 * Timers are deadlines stored as data (ms, Infinity when off). This class also
 * implements the socket layer's TcpConnection; the user calls themselves are in
 * user_calls.ts.
 */
import { formatEndpoint, type IpAddress, mssTo, type NetworkLayer } from "../network.ts";
import { type CongestionController, createCongestionController } from "./congestion/controller.ts";
import { ProportionalRateReduction } from "./congestion/prr.ts";
import type {
  TcpConnection,
  TcpConnectionOptions,
  TcpError,
  TcpInfo,
  TcpState,
} from "./connection.ts";
import type { Listener } from "./listener.ts";
import { RackTlpState } from "./rack/rack_tlp_state.ts";
import { Reassembly } from "./reassembly.ts";
import { RingBuffer } from "./ring_buffer.ts";
import { SpuriousRetransmitDetector } from "./sack/dsack.ts";
import { SackBlockReporter } from "./sack/receiver_blocks.ts";
import { Scoreboard } from "./sack/scoreboard.ts";
import { seqDiff, seqGt } from "./seq.ts";
import type { Tcp } from "./tcp.ts";
import {
  atUrgentMark,
  markUrgent,
  outOfBandHole,
  readInBand,
  takeUrgentByte,
  UrgentState,
  urgentPending,
} from "./urgent.ts";
import {
  abortCall,
  closeCall,
  infoCall,
  receiveCall,
  sendCall,
  shutdownReadCall,
} from "./user_calls.ts";

export class Tcb implements TcpConnection {
  state: TcpState = "CLOSED";
  error: TcpError | undefined;
  /** A soft error (ICMP) kept to report if the connection then times out (RFC 1122 §4.2.3.9). */
  softError: TcpError | undefined;
  onChange: (() => void) | undefined;
  /** The listener this connection came from, until accept() takes it. */
  listener: Listener | undefined;

  // Send sequence variables (RFC 9293 §3.3.1).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 §5.2 MAX.SND.WND). */
  maxSndWnd = 0;
  sndBufSeq = 0;
  // Receive sequence variables.
  irs = 0;
  rcvNxt = 0;
  /** RCV.NXT + the window last advertised: the right edge never moves left (§3.8.6). */
  rcvAdv = 0;

  /** Our MSS option (what we can receive) and the peer's (what we may send). */
  rcvMss: number;
  sndMss = 536; // RFC 9293 §3.7.1: 536 when the peer sends no MSS option
  // RFC 7323 window scale: shift counts, 0 when not negotiated.
  sndScale = 0;
  rcvScale = 0;
  offeredRcvScale = 0;
  // RFC 7323 timestamps.
  tsEnabled = false;
  tsRecent = 0;
  tsRecentAgeMs = 0;
  tsOffset = 0;
  /** IPv6: the connection's flow label (RFC 6437 §3), chosen once; undefined over IPv4. */
  flowLabel: number | undefined = undefined;
  lastAckSent = 0;
  // RFC 2018 SACK.
  sackEnabled = false;
  /** Both sides sent the window scale option (RFC 7323 §2.2). */
  wsAgreed = false;
  /** What the peer SACKed (RFC 6675 §3); `board.mss` follows the send MSS. */
  readonly board = new Scoreboard({ mss: 536 });
  /** Which of our out-of-order ranges to report first (RFC 2018 §4), and D-SACKs (RFC 2883). */
  readonly sackReporter = new SackBlockReporter();
  /** This loss-recovery episode's retransmissions, for D-SACK evidence (RFC 3708). */
  readonly spurious = new SpuriousRetransmitDetector();

  readonly sendBuffer: RingBuffer;
  readonly recvBuffer: RingBuffer;
  readonly reassembly: Reassembly;
  /** CLOSE was called: a FIN follows the queued data (RFC 9293 §3.10.4). */
  finQueued = false;
  /** The FIN's sequence number once sent. */
  finSeq: number | undefined;
  /** The peer's FIN has been processed (RCV.NXT is past it). */
  finReceived = false;
  shutRd = false;
  /** SND.UP and the peer's urgent mark (urgent.ts, RFC 9293 §3.8.5). */
  readonly urgent = new UrgentState();

  // Timers (deadlines in ms; Infinity = not running).
  retransmitAt = Number.POSITIVE_INFINITY;
  delayedAckAt = Number.POSITIVE_INFINITY;
  persistAt = Number.POSITIVE_INFINITY;
  keepaliveAt = Number.POSITIVE_INFINITY;
  timeWaitUntil = Number.POSITIVE_INFINITY;
  /** An orphaned FIN-WAIT-2 ends here (timers.ts armFinWait2Timer). */
  finWait2Until = Number.POSITIVE_INFINITY;
  /** Where this TCB sits in the layer's timer heap (see tcp.ts). */
  scheduledAt = Number.POSITIVE_INFINITY;

  // RFC 6298 retransmission timer state.
  srttMs = 0;
  rttvarMs = 0;
  rtoMs: number;
  hasRttSample = false;
  /** Consecutive timeouts without progress. */
  retries = 0;
  /** When the unacknowledged data of the current stall was sent (TCP_USER_TIMEOUT). */
  stalledSinceMs = 0;
  persistBackoff = 0;
  keepaliveProbes = 0;
  /** Karn: the segment being timed (no timestamps), or undefined. */
  rttSeq: number | undefined;
  rttStartMs = 0;

  // Congestion control and loss recovery (RFC 5681, 6582, 6675): the controller owns
  // cwnd, ssthresh, the duplicate-ACK count and `recover` (congestion/controller.ts).
  cc: CongestionController;
  /** One past the highest byte retransmitted in this SACK recovery (RFC 6675 HighRxt). */
  highRxt = 0;
  /** RFC 6675 RescueRxt (exclusive edge), or undefined. */
  rescueRxt: number | undefined;
  /** RFC 6937 PRR: what SACK recovery may send per ACK (fast_recovery.ts). */
  readonly prr = new ProportionalRateReduction();
  /** SND.UNA and SACKed bytes after the last ACK: PRR's DeliveredData is the change. */
  readonly delivered = { sndUna: 0, sacked: 0, valid: false };
  /** RFC 8985 RACK-TLP: sent-segment records, its variables and its two timers. */
  readonly rackTlp = new RackTlpState();
  /** When we last sent data, for the RFC 5681 §4.1 restart after idle. */
  lastSendMs = 0;
  /** TSval of the last timeout retransmission, to detect spurious ones (RFC 3522 idea). */
  rtoTsVal: number | undefined;

  /** Set by the persist timer: send a sub-MSS segment despite SWS avoidance. */
  forceSend = false;
  // ACK state.
  ackNow = false;
  segmentsSinceAck = 0;
  lastActivityMs = 0;
  /** Receive-buffer auto-tuning: bytes the user read since `tuneStartMs` (user_calls.ts). */
  tuneBytes = 0;
  tuneStartMs = 0;

  // Bookkeeping for the layer.
  closed = false;
  dirty = false;
  changed = false;
  readonly counters: Record<string, number> = {
    retransSegs: 0,
    fastRetrans: 0,
    timeouts: 0,
    sackRecoveries: 0,
    spuriousRetrans: 0,
    pawsDrops: 0,
    outOfOrderSegs: 0,
    lossProbes: 0, // RFC 8985 §7 TLP probes sent
    rackLossMarks: 0, // RFC 8985 §6.2: ACKs on which RACK found segments lost
    dsackRecv: 0, // RFC 2883: D-SACK blocks received
    dsackSent: 0, // RFC 2883: duplicates reported
  };

  constructor(
    readonly layer: Tcp,
    readonly localAddress: IpAddress,
    readonly localPort: number,
    readonly remoteAddress: IpAddress,
    readonly remotePort: number,
    options: TcpConnectionOptions,
    /** The network layer below this connection: IPv4 or IPv6, by its addresses' family. */
    readonly net: NetworkLayer = layer.host.networkFor(remoteAddress),
  ) {
    this.optionsValue = options;
    const config = layer.config;
    // RFC 9293 §3.7.1: the MTU less the IP and TCP headers (1460 over IPv4, 1440 over IPv6
    // on a 1500 link); over IPv6 the path MTU toward the peer (RFC 8201 §5.2).
    this.rcvMss = mssTo(this.net, remoteAddress);
    this.rtoMs = config.initialRtoMs;
    this.sendBuffer = new RingBuffer(options.sendBufferBytes);
    this.recvBuffer = new RingBuffer(options.receiveBufferBytes);
    this.reassembly = new Reassembly(
      Math.min(config.outOfOrderBytes, config.maxReceiveBufferBytes),
    );
    this.cc = createCongestionController(options.congestion ?? config.congestion, {
      mss: this.sndMss,
      now: 0,
      initialWindowSegments: config.initialWindowSegments,
    });
  }

  private optionsValue: TcpConnectionOptions;

  /** setsockopt: takes effect at the next poll (keep-alive armed, Nagle re-evaluated). */
  get options(): TcpConnectionOptions {
    return this.optionsValue;
  }

  set options(value: TcpConnectionOptions) {
    // SO_RCVBUF / SO_SNDBUF may grow a live connection's buffers (never shrink them);
    // the window scale was fixed at the SYN from maxReceiveBufferBytes, so this works.
    const max = this.layer.config.maxReceiveBufferBytes;
    this.recvBuffer.grow(Math.min(value.receiveBufferBytes, max));
    this.sendBuffer.grow(value.sendBufferBytes);
    this.optionsValue = {
      ...value,
      receiveBufferBytes: this.recvBuffer.capacity,
      sendBufferBytes: this.sendBuffer.capacity,
    };
    this.layer.markDirty(this);
  }

  /** Effective send MSS: the peer's MSS less our per-segment options (RFC 9293 §3.7.1). */
  get smss(): number {
    return Math.max(64, this.sndMss - (this.tsEnabled ? 12 : 0));
  }

  /** Bytes sent and not yet acknowledged (FlightSize, RFC 5681 §2). */
  get flightBytes(): number {
    return Math.max(0, seqDiff(this.sndMax, this.sndUna));
  }

  /** In-band bytes to read: the out-of-band byte's place does not count (urgent.ts). */
  get readableBytes(): number {
    return this.recvBuffer.length - outOfBandHole(this);
  }

  get receivedFin(): boolean {
    return this.finReceived && this.recvBuffer.length === 0;
  }

  get writableBytes(): number {
    if (this.finQueued || this.error !== undefined) return 0;
    const s = this.state;
    if (s !== "ESTABLISHED" && s !== "CLOSE-WAIT" && s !== "SYN-SENT" && s !== "SYN-RECEIVED")
      return 0;
    return this.sendBuffer.free;
  }

  get sending(): boolean {
    return this.sendBuffer.length > 0 || (this.finQueued && !this.finAcked);
  }

  /** Our FIN has been sent and acknowledged. */
  get finAcked(): boolean {
    return this.finSeq !== undefined && seqGt(this.sndUna, this.finSeq);
  }

  /** "10.0.0.1:80 10.0.0.2:5000" or "[fd00::2]:80 [fd00::1]:5000", for traces. */
  get tupleText(): string {
    return `${formatEndpoint(this.localAddress, this.localPort)} ${formatEndpoint(this.remoteAddress, this.remotePort)}`;
  }

  /** The earliest running timer. */
  nextTimerAt(): number {
    return Math.min(
      this.retransmitAt,
      this.delayedAckAt,
      this.persistAt,
      this.keepaliveAt,
      this.timeWaitUntil,
      this.finWait2Until,
      this.rackTlp.rackAt,
      this.rackTlp.tlpAt,
    );
  }

  send(data: Uint8Array, now: number): number {
    return sendCall(this, data, now);
  }

  receive(into: Uint8Array, now: number): number {
    return receiveCall(this, into, now);
  }

  peek(into: Uint8Array): number {
    return readInBand(this, into, true);
  }

  markUrgent(): void {
    markUrgent(this);
  }

  takeUrgent(peek: boolean): number | "none" | "not-yet" {
    return takeUrgentByte(this, peek);
  }

  get atUrgentMark(): boolean {
    return atUrgentMark(this);
  }

  get urgentPending(): boolean {
    return urgentPending(this);
  }

  close(now: number): void {
    closeCall(this, now);
  }

  shutdownRead(): void {
    shutdownReadCall(this);
  }

  abort(now: number): void {
    abortCall(this, now);
  }

  info(now: number): TcpInfo {
    return infoCall(this, now);
  }
}
