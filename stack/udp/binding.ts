/**
 * A bound UDP endpoint (the object behind a datagram socket): its local and, after
 * connect(), remote address and port; a receive queue bounded in bytes like SO_RCVBUF;
 * and a pending error, set by ICMP on a connected endpoint the way Linux does it.
 *
 * RFC 768 has no connections: "connect" only fixes the default destination and filters
 * what is received, the BSD way. Each queued datagram keeps the address it was sent to
 * (RFC 1122 §4.1.3.5: the specific-destination address "MUST be passed up").
 */
import { type IpAddress, isAnyAddress } from "../network.ts";
import type { UdpDatagram, UdpEndpoint } from "./endpoint.ts";

/** Linux net.core.rmem_default. */
export const DEFAULT_RECEIVE_QUEUE_BYTES = 212_992;
/** Charged per queued datagram besides its data, so empty datagrams fill the queue too. */
export const DATAGRAM_OVERHEAD_BYTES = 64;

export type UdpSendResult = "EMSGSIZE" | "EHOSTUNREACH" | undefined;
export type UdpEndpointError = "ECONNREFUSED" | "EHOSTUNREACH";

/** What a binding needs from the UDP layer that made it. */
export interface UdpBindingOwner {
  /** The host's address in the family of `peer` (what a wildcard binding sends from). */
  hostAddressFor(peer: IpAddress): IpAddress;
  send(
    binding: UdpBinding,
    data: Uint8Array,
    address: IpAddress,
    port: number,
    now: number,
  ): UdpSendResult;
  unbind(binding: UdpBinding): void;
}

export class UdpBinding implements UdpEndpoint {
  remoteAddress: IpAddress = 0;
  remotePort = 0;
  error: UdpEndpointError | undefined = undefined;
  onChange: (() => void) | undefined = undefined;
  // A FIFO as an array and a head index; taken slots are cleared so the GC can have them.
  private queue: (UdpDatagram | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private closed = false;

  constructor(
    private readonly owner: UdpBindingOwner,
    public localAddress: IpAddress,
    readonly localPort: number,
    readonly receiveQueueBytes: number = DEFAULT_RECEIVE_QUEUE_BYTES,
    /** Bound to :: for IPv6 only (IPV6_V6ONLY, RFC 3493 §5.3); else IPv4 arrives too. */
    readonly v6Only = false,
  ) {}

  get queueLength(): number {
    return this.queue.length - this.head;
  }

  get isConnected(): boolean {
    return this.remotePort !== 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  takeError(): UdpEndpointError | undefined {
    const error = this.error;
    this.error = undefined;
    return error;
  }

  /** The oldest queued datagram, or undefined. */
  peek(): UdpDatagram | undefined {
    return this.head < this.queue.length ? this.queue[this.head] : undefined;
  }

  receive(): UdpDatagram | undefined {
    if (this.head >= this.queue.length) return undefined;
    const datagram = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    this.queuedBytes -= datagram.data.length + DATAGRAM_OVERHEAD_BYTES;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return datagram;
  }

  /**
   * Fixes the peer: only its datagrams are received from now on, and it is where
   * datagrams go by default. `connect(0, 0)` dissolves the association (AF_UNSPEC).
   * Like Linux, a wildcard binding takes the host's address as its local address.
   */
  connect(remoteAddress: IpAddress, remotePort: number): void {
    this.assertOpen("connect");
    this.remoteAddress = typeof remoteAddress === "number" ? remoteAddress >>> 0 : remoteAddress;
    this.remotePort = remotePort;
    if (remotePort !== 0 && isAnyAddress(this.localAddress)) {
      this.localAddress = this.owner.hostAddressFor(this.remoteAddress);
    }
    this.error = undefined;
  }

  /** Sends one datagram to `address`:`port` (RFC 768 "user interface": a SEND call). */
  sendTo(data: Uint8Array, address: IpAddress, port: number, now: number): UdpSendResult {
    this.assertOpen("sendTo");
    const to = typeof address === "number" ? address >>> 0 : address;
    return this.owner.send(this, data, to, port, now);
  }

  /** Unbinds; queued datagrams are discarded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.unbind(this);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /** Called by UDP input: queues a copy of `data`; false if the queue is full. */
  enqueue(
    sourceAddress: IpAddress,
    sourcePort: number,
    destinationAddress: IpAddress,
    data: Uint8Array,
  ): boolean {
    const charge = data.length + DATAGRAM_OVERHEAD_BYTES;
    if (this.queuedBytes + charge > this.receiveQueueBytes) return false;
    this.queue.push({ sourceAddress, sourcePort, destinationAddress, data: data.slice() });
    this.queuedBytes += charge;
    this.onChange?.();
    return true;
  }

  /** Called by UDP when ICMP reports an error for our peer (connected endpoints only). */
  setError(error: UdpEndpointError): void {
    this.error = error;
    this.onChange?.();
  }

  private assertOpen(call: string): void {
    if (this.closed) {
      throw new Error(`UDP ${call} on a closed endpoint (port ${this.localPort})`);
    }
  }
}
