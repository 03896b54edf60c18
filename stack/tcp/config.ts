/**
 * TCP's tunables (`TcpConfig`, per stack) and the per-connection defaults (the socket
 * options a new connection starts with). Each default names where it comes from.
 * Tests switch mechanisms off here (sack, timestamps, windowScale, congestion, ...).
 */
import type { CongestionName } from "./congestion/controller.ts";
import type { TcpConnectionOptions } from "./connection.ts";

export interface TcpConfig {
  /**
   * Maximum segment lifetime (RFC 9293 §3.4.2). TIME-WAIT lasts 2·MSL (§3.10.7.4,
   * `timeWaitMs` in timers.ts): 60 s with the default, as Linux's TCP_TIMEWAIT_LEN.
   */
  mslMs: number;
  /**
   * How long a connection the application has closed (no more sends or receives) may
   * wait in FIN-WAIT-2 for the peer's FIN before it is dropped (Linux tcp_fin_timeout).
   */
  finWait2TimeoutMs: number;
  /** Retransmissions before giving up (Linux tcp_retries2 = 15). */
  maxRetries: number;
  /** SYN retransmissions before giving up (Linux tcp_syn_retries = 6). */
  synRetries: number;
  receiveBufferBytes: number;
  sendBufferBytes: number;
  /** Ceiling for SO_RCVBUF and auto-tuning; also sets the window scale we offer. */
  maxReceiveBufferBytes: number;
  /** Bound on out-of-order bytes held per connection. */
  outOfOrderBytes: number;
  /** Half-open (SYN-RECEIVED) connections per listener before SYN cookies. */
  synBacklog: number;
  synCookies: boolean;
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  delayedAckMs: number;
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;
  /** Test seam: every ISN is this value (e.g. near 2^32 to cross the wrap). */
  isn: number | undefined;
  /**
   * The RFC 6528 secret key (8 bytes) of the ISN function and SYN cookies. The Stack
   * fills it from its injected entropy (`StackOptions.entropy`); seeded test stacks set
   * it so they replay. A Tcp made without one refuses to start.
   */
  isnKey: Uint8Array | undefined;
  congestion: CongestionName;
  /** RFC 6928 initial window, in segments. */
  initialWindowSegments: number;
  /**
   * HyStart++ (RFC 9406): leave the initial slow start when the RTT rises, before the
   * queue overflows (congestion/hystart.ts). For both controllers; Linux has HyStart on
   * for CUBIC (net.ipv4 tcp_cubic hystart=1).
   */
  hystart: boolean;
  sack: boolean;
  /** RFC 2883 D-SACK: report duplicate arrivals, and use the peer's reports (Linux tcp_dsack). */
  dsack: boolean;
  /** RFC 6937 Proportional Rate Reduction in SACK loss recovery (Linux: always on). */
  prr: boolean;
  /**
   * RFC 8985 RACK-TLP loss detection with SACK, in place of RFC 6675's duplicate-ACK
   * counting (Linux tcp_recovery bit 1, on by default).
   */
  rack: boolean;
  timestamps: boolean;
  windowScale: boolean;
  /** RFC 5961 §7 challenge ACKs per second (Linux tcp_challenge_ack_limit). */
  challengeAckLimit: number;
  /** Grow a connection's receive buffer when the application drains it fast (Linux DRS). */
  receiveBufferAutoTuning: boolean;
  /**
   * Answer a whole receive burst with one ACK: output owed after an arriving segment
   * waits for the next `poll`, which the driver (`device/driver.ts`) calls after each
   * burst. Off: output at once, per segment (what step-by-step tests expect).
   */
  ackPerBurst: boolean;
}

export function defaultTcpConfig(): TcpConfig {
  return {
    mslMs: 30_000, // RFC 9293 §3.4.2 suggests 2 minutes; 30 s gives Linux's 60 s TIME-WAIT
    finWait2TimeoutMs: 60_000, // Linux tcp_fin_timeout
    maxRetries: 15,
    synRetries: 6,
    receiveBufferBytes: 256 * 1024,
    sendBufferBytes: 256 * 1024,
    maxReceiveBufferBytes: 4 * 1024 * 1024,
    outOfOrderBytes: 4 * 1024 * 1024,
    synBacklog: 256,
    synCookies: true,
    initialRtoMs: 1000, // RFC 6298 §2.1
    minRtoMs: 200, // Linux TCP_RTO_MIN (RFC 6298 §2.4 says 1 s)
    maxRtoMs: 120_000, // Linux TCP_RTO_MAX
    delayedAckMs: 40, // Linux TCP_DELACK_MIN; RFC 9293 §3.8.6.3: "MUST be less than 0.5 seconds"
    keepaliveIdleMs: 2 * 3600 * 1000, // RFC 1122 §4.2.3.6: "no less than two hours"
    keepaliveIntervalMs: 75_000,
    keepaliveProbes: 9,
    isn: undefined,
    isnKey: undefined,
    congestion: "cubic",
    initialWindowSegments: 10,
    hystart: true,
    sack: true,
    dsack: true,
    prr: true,
    rack: true,
    timestamps: true,
    windowScale: true,
    challengeAckLimit: 1000,
    receiveBufferAutoTuning: true,
    ackPerBurst: false,
  };
}

export function defaultTcpConnectionOptions(): TcpConnectionOptions {
  const config = defaultTcpConfig();
  return {
    noDelay: false,
    keepAlive: false,
    receiveBufferBytes: config.receiveBufferBytes,
    sendBufferBytes: config.sendBufferBytes,
  };
}
