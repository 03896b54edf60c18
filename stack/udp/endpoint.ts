/**
 * The contract between UDP (`stack/udp/`) and the socket layer: a bound endpoint with a
 * bounded receive queue, and a change hook for readiness.
 */
export interface UdpDatagram {
  readonly sourceAddress: number;
  readonly sourcePort: number;
  /** A copy owned by the queue. */
  readonly data: Uint8Array;
}

export interface UdpEndpoint {
  readonly localAddress: number;
  readonly localPort: number;
  /** 0 / 0 until connect(); then only datagrams from this peer are queued. */
  readonly remoteAddress: number;
  readonly remotePort: number;
  /** Datagrams waiting for recvfrom(), oldest first. */
  readonly queueLength: number;
  /** A pending asynchronous error (ICMP port unreachable on a connected socket, like Linux). */
  readonly error: "ECONNREFUSED" | "EHOSTUNREACH" | undefined;
  takeError(): "ECONNREFUSED" | "EHOSTUNREACH" | undefined;
  receive(): UdpDatagram | undefined;
  onChange: (() => void) | undefined;
}
