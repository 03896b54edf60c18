/**
 * The contract between UDP (`stack/udp/`) and the socket layer: a bound endpoint with a
 * bounded receive queue, and a change hook for readiness.
 */
import type { IpAddress } from "../network.ts";

export interface UdpDatagram {
  readonly sourceAddress: IpAddress;
  readonly sourcePort: number;
  /**
   * The address the datagram was sent to: ours, or a broadcast (RFC 1122 §4.1.3.5, the
   * "specific-destination address"; IP_PKTINFO). Optional so fakes need not set it.
   */
  readonly destinationAddress?: IpAddress;
  /** A copy owned by the queue. */
  readonly data: Uint8Array;
}

export interface UdpEndpoint {
  readonly localAddress: IpAddress;
  readonly localPort: number;
  /** 0 / 0 until connect(); then only datagrams from this peer are queued. */
  readonly remoteAddress: IpAddress;
  readonly remotePort: number;
  /** Datagrams waiting for recvfrom(), oldest first. */
  readonly queueLength: number;
  /** A pending asynchronous error (ICMP port unreachable on a connected socket, like Linux). */
  readonly error: "ECONNREFUSED" | "EHOSTUNREACH" | undefined;
  takeError(): "ECONNREFUSED" | "EHOSTUNREACH" | undefined;
  receive(): UdpDatagram | undefined;
  /** The oldest datagram, left in the queue (recvfrom's MSG_PEEK). */
  peek(): UdpDatagram | undefined;
  onChange: (() => void) | undefined;
}
