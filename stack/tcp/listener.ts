/**
 * A listening endpoint (RFC 9293 §3.10.1, passive OPEN): the LISTEN state, with its
 * half-open connections (SYN-RECEIVED, bounded by `synBacklog`) and the established
 * ones waiting for accept() (bounded by `backlog`).
 */
import type { IpAddress } from "../network.ts";
import type { TcpConnection, TcpConnectionOptions, TcpListener } from "./connection.ts";
import type { Tcb } from "./tcb.ts";
import type { Tcp } from "./tcp.ts";
import { abortCall } from "./user_calls.ts";

export class Listener implements TcpListener {
  readonly halfOpen = new Set<Tcb>();
  readonly acceptQueue: Tcb[] = [];
  onChange: (() => void) | undefined;
  closed = false;
  private backlogValue: number;

  constructor(
    private readonly layer: Tcp,
    readonly localAddress: IpAddress,
    readonly localPort: number,
    backlog: number,
    /** Options for the connections it accepts (SO_RCVBUF etc. set on the listening socket). */
    readonly connectionOptions: TcpConnectionOptions | undefined = undefined,
    /** On ::, IPv6 connections only (IPV6_V6ONLY, RFC 3493 §5.3); else IPv4 ones too. */
    readonly v6Only = false,
  ) {
    this.backlogValue = Math.max(1, backlog);
  }

  get backlog(): number {
    return this.backlogValue;
  }

  set backlog(value: number) {
    this.backlogValue = Math.max(1, value);
  }

  get acceptQueueLength(): number {
    return this.acceptQueue.length;
  }

  /**
   * The accept queue is full: is it, and if so count the drop of what would add to it
   * (a SYN, or the ACK completing a handshake), as Linux counts it: ListenOverflows and
   * ListenDrops (tcp_conn_request, tcp_v4_syn_recv_sock).
   */
  acceptQueueFull(): boolean {
    if (this.acceptQueue.length < this.backlogValue) return false;
    const stats = this.layer.host.stats;
    stats.drop("tcpListenOverflows");
    stats.count("tcpListenDrops");
    return true;
  }

  accept(): TcpConnection | undefined {
    const tcb = this.acceptQueue.shift();
    if (tcb !== undefined) tcb.listener = undefined;
    return tcb;
  }

  /** Stops listening; half-open and unaccepted connections are reset (RFC 9293 §3.10.4). */
  close(now: number): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.removeListener(this);
    for (const tcb of [...this.halfOpen, ...this.acceptQueue]) abortCall(tcb, now);
    this.halfOpen.clear();
    this.acceptQueue.length = 0;
  }
}
