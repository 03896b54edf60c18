/**
 * The contract between TCP (`stack/tcp/`) and the socket layer (`sockets/`): the user
 * calls of RFC 9293 §3.9.1 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS) as methods, and
 * a change hook through which TCP tells the socket layer that readiness may have changed.
 *
 * The socket layer turns these into BSD calls with promises, errno codes and poll
 * readiness; TCP itself never blocks and never throws at a peer's say-so.
 */
import type { IpAddress } from "../network.ts";

/** RFC 9293 §3.3.2 states, spelled as in the RFC so logs show the textbook word. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/** Why a connection failed, as the errno the socket layer reports. */
export type TcpError =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ECONNABORTED";

/** Per-connection options (setsockopt). Units are in the names. */
export interface TcpConnectionOptions {
  /** TCP_NODELAY: disable Nagle's algorithm (RFC 1122 §4.2.3.4). */
  noDelay: boolean;
  /** SO_KEEPALIVE (RFC 1122 §4.2.3.6). */
  keepAlive: boolean;
  /** SO_RCVBUF, SO_SNDBUF in bytes. */
  receiveBufferBytes: number;
  sendBufferBytes: number;
  /** TCP_CONGESTION: the congestion controller; the stack's default when absent. */
  congestion?: "cubic" | "newreno";
  /** SO_OOBINLINE: the urgent byte stays in the data stream (stack/tcp/urgent.ts). */
  oobInline?: boolean;
  /** IP_TTL: the Time to Live of every segment (RFC 9293 MUST-49); 64 when absent. */
  ttl?: number;
  /** IP_TOS: the DSCP/ECN octet of every segment (RFC 9293 MUST-48); 0 when absent. */
  typeOfService?: number;
  /**
   * TCP_USER_TIMEOUT: give up when data stays unacknowledged this long, however many
   * retransmissions that is (RFC 9293 MUST-21: the application sets R2); 0 or absent:
   * the stack's retry count decides.
   */
  userTimeoutMs?: number;
}

/** Read-only TCP_INFO. */
export interface TcpInfo {
  state: TcpState;
  srttMs: number;
  rttvarMs: number;
  rtoMs: number;
  cwndBytes: number;
  ssthreshBytes: number;
  bytesInFlight: number;
  retransmits: number;
  sndMss: number;
  rcvWnd: number;
  sndWnd: number;
  [counter: string]: number | string;
}

export interface TcpConnection {
  readonly localAddress: IpAddress;
  readonly localPort: number;
  readonly remoteAddress: IpAddress;
  readonly remotePort: number;
  readonly state: TcpState;
  /** Set once the connection has failed; the socket layer reports it once. */
  readonly error: TcpError | undefined;
  /** Bytes waiting in the receive buffer. */
  readonly readableBytes: number;
  /** True once the peer's FIN has been received and every byte before it read. */
  readonly receivedFin: boolean;
  /** Free space in the send buffer, in bytes (0 once the write side is shut). */
  readonly writableBytes: number;
  /** True while data or FIN remains unacknowledged or unsent. */
  readonly sending: boolean;
  options: TcpConnectionOptions;

  /** SEND (§3.10.2): queues as much of `data` as fits; returns the number of bytes taken. */
  send(data: Uint8Array, now: number): number;
  /** RECEIVE (§3.10.3): copies up to `into.length` bytes out; returns how many (0: none now). */
  receive(into: Uint8Array, now: number): number;
  /** RECEIVE without consuming (recv's MSG_PEEK): copies up to `into.length` bytes out. */
  peek(into: Uint8Array): number;
  /** send(MSG_OOB): the last byte queued is urgent (RFC 9293 §3.8.5; urgent.ts). */
  markUrgent(): void;
  /**
   * recv(MSG_OOB): the out-of-band byte; "none" when there is none to give (inline, none,
   * already taken), "not-yet" when the urgent pointer came and its byte has not.
   */
  takeUrgent(peek: boolean): number | "none" | "not-yet";
  /** SIOCATMARK: the next byte to read is the urgent one. */
  readonly atUrgentMark: boolean;
  /** POLLPRI: an urgent byte has arrived and was not taken out of band. */
  readonly urgentPending: boolean;
  /** CLOSE (§3.10.4): no more sends; a FIN follows the queued data. */
  close(now: number): void;
  /** shutdown(SHUT_RD): discard what arrives from now on. */
  shutdownRead(): void;
  /** ABORT (§3.10.5): RST to the peer, the connection is gone at once. */
  abort(now: number): void;
  /** STATUS (§3.10.6) as TCP_INFO. */
  info(now: number): TcpInfo;
  /** Called (synchronously, inside stack processing) whenever readiness may have changed. */
  onChange: (() => void) | undefined;
}

export interface TcpListener {
  readonly localAddress: IpAddress;
  readonly localPort: number;
  /** Established connections waiting for accept(). */
  readonly acceptQueueLength: number;
  backlog: number;
  /** Takes the oldest established connection, or undefined if none is waiting. */
  accept(): TcpConnection | undefined;
  /** Stops listening; half-open and unaccepted connections are reset. */
  close(now: number): void;
  onChange: (() => void) | undefined;
}
