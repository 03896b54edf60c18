/**
 * Datagram sockets (SOCK_DGRAM) over `stack.udp` (RFC 768, RFC 1122 §4.1).
 *
 * Read `udp.ts` in stack/udp/ for the protocol; this file is the BSD behaviour on top:
 *  - an unbound socket is bound to an ephemeral port on its first sendto()/connect();
 *  - connect() only sets the default peer and filters what is received (no packet);
 *  - after an ICMP port unreachable about a connected socket's datagram, the next call
 *    reports ECONNREFUSED once, like Linux (RFC 1122 §4.1.3.3: UDP MUST pass ICMP
 *    errors up to the application);
 *  - recv() with a buffer smaller than the datagram returns the first bytes and drops
 *    the rest (MSG_TRUNC semantics of Linux).
 */
import { ANY_ADDRESS, formatIpv4, LIMITED_BROADCAST, subnetBroadcast } from "../stack/address.ts";
import { claimPort, formatEndpoint, type SocketContext } from "./context.ts";
import { SocketError } from "./errors.ts";
import type { BoundUdpEndpoint } from "./layers.ts";
import { NO_FLAGS, type ReceiveFlags } from "./message_flags.ts";
import { POLLERR, POLLIN, POLLOUT } from "./poll_events.ts";
import { Pollable, WOULD_BLOCK } from "./pollable.ts";
import type { Binding } from "./ports.ts";

/** RFC 768 + RFC 791: 65,535 − 8 (UDP header) − 20 (IPv4 header) bytes of data at most. */
export const MAX_UDP_PAYLOAD = 65507;

export interface ReceivedDatagram {
  data: Uint8Array;
  address: number;
  port: number;
}

export class UdpSocket extends Pollable {
  reuseAddress = false;
  /** SO_BROADCAST: may send to a broadcast address (else EACCES, as Linux). */
  broadcast = false;
  /** SO_RCVBUF: the receive queue bound in bytes, applied at bind time. */
  receiveBufferBytes: number | undefined;
  /** SO_SNDBUF: kept for getsockopt; a datagram socket has no send queue here. */
  sendBufferBytes = 65536;
  private endpoint: BoundUdpEndpoint | undefined;
  private binding: Binding | undefined;
  private remote: { address: number; port: number } | undefined;
  private readShut = false;
  private writeShut = false;

  constructor(private readonly context: SocketContext) {
    super();
  }

  bind(address: number, port: number, syscall = "bind"): void {
    if (this.endpoint !== undefined) {
      throw new SocketError("EINVAL", syscall, "the socket is already bound");
    }
    const { udpPorts, stack } = this.context;
    const request = { address, port, reuseAddress: this.reuseAddress, syscall };
    const binding = claimPort(this.context, udpPorts, request);
    const options =
      this.receiveBufferBytes === undefined ? {} : { receiveQueueBytes: this.receiveBufferBytes };
    this.endpoint = stack.udp.bind(address, binding.port, options);
    this.endpoint.onChange = () => this.changed();
    this.binding = binding;
  }

  /**
   * Sets the default peer; datagrams from anyone else are no longer received.
   * 0.0.0.0 port 0 dissolves the association (connect with AF_UNSPEC on Linux).
   */
  connect(address: number, port: number): void {
    if (address === ANY_ADDRESS && port === 0) {
      this.endpoint?.connect(0, 0);
      this.remote = undefined;
      this.changed();
      return;
    }
    if (port === 0) throw new SocketError("EINVAL", "connect", "port 0 is not a destination");
    this.checkBroadcast(address, "connect");
    const endpoint = this.boundEndpoint("connect");
    endpoint.connect(address, port);
    this.remote = { address, port };
    this.changed();
  }

  send(data: Uint8Array): number {
    if (this.remote === undefined) {
      throw new SocketError("EDESTADDRREQ", "send", "the datagram socket is not connected");
    }
    return this.sendTo(data, this.remote.address, this.remote.port, "send");
  }

  sendTo(data: Uint8Array, address: number, port: number, syscall = "sendto"): number {
    this.reportError(syscall);
    if (this.writeShut) throw new SocketError("EPIPE", syscall);
    if (port === 0) throw new SocketError("EINVAL", syscall, "port 0 is not a destination");
    if (data.length > MAX_UDP_PAYLOAD) {
      throw new SocketError(
        "EMSGSIZE",
        syscall,
        `a datagram carries at most ${MAX_UDP_PAYLOAD} bytes, not ${data.length}`,
      );
    }
    this.checkBroadcast(address, syscall);
    const endpoint = this.boundEndpoint(syscall);
    const error = endpoint.sendTo(data, address, port, this.context.clock.now());
    if (error !== undefined) {
      throw new SocketError(error, syscall, `cannot send to ${formatEndpoint(address, port)}`);
    }
    this.context.kick();
    return data.length;
  }

  /**
   * recvfrom(): the oldest datagram, cut to `maxBytes` (the rest is discarded). With
   * `flags.peek` it stays queued, whole; `waitAll` means nothing for datagrams.
   */
  receiveFrom(
    maxBytes: number,
    syscall: string,
    flags: ReceiveFlags = NO_FLAGS,
  ): Promise<ReceivedDatagram> {
    return this.retryUntilDone(
      syscall,
      () => {
        this.reportError(syscall);
        if (this.readShut) return { data: new Uint8Array(0), address: ANY_ADDRESS, port: 0 };
        const datagram = flags.peek === true ? this.endpoint?.peek() : this.endpoint?.receive();
        if (datagram === undefined) return WOULD_BLOCK;
        const data = datagram.data.subarray(0, Math.min(maxBytes, datagram.data.length));
        return { data, address: datagram.sourceAddress, port: datagram.sourcePort };
      },
      flags.dontWait,
    );
  }

  /**
   * Linux refuses a broadcast destination unless SO_BROADCAST is set (ip_route_connect,
   * udp_sendmsg: EACCES), so that a program broadcasts only on purpose: the limited
   * broadcast 255.255.255.255 and the broadcast address of the stack's own subnet.
   */
  private checkBroadcast(address: number, syscall: string): void {
    if (this.broadcast) return;
    const { address: ours, prefixLength = 32 } = this.context.stack;
    // RFC 3021: a /31 or /32 has no broadcast address.
    const directed =
      prefixLength < 31 && address === subnetBroadcast({ address: ours, prefixLength });
    if (address === LIMITED_BROADCAST || directed) {
      throw new SocketError(
        "EACCES",
        syscall,
        `${formatIpv4(address)} is a broadcast address: set SO_BROADCAST first`,
      );
    }
  }

  shutdown(read: boolean, write: boolean): void {
    if (this.remote === undefined) throw new SocketError("ENOTCONN", "shutdown");
    if (read) this.readShut = true;
    if (write) this.writeShut = true;
    this.changed();
  }

  localName(): { address: number; port: number } {
    if (this.binding === undefined) return { address: ANY_ADDRESS, port: 0 };
    // Linux: connecting a wildcard-bound socket fixes the source address it will use.
    const connectedAny = this.binding.address === ANY_ADDRESS && this.remote !== undefined;
    const address = connectedAny ? this.context.stack.address : this.binding.address;
    return { address, port: this.binding.port };
  }

  peerName(): { address: number; port: number } {
    if (this.remote === undefined) throw new SocketError("ENOTCONN", "getpeername");
    return { ...this.remote };
  }

  /** SO_ERROR: the pending error, cleared by reading it. */
  takeError(): "ECONNREFUSED" | "EHOSTUNREACH" | undefined {
    return this.endpoint?.takeError();
  }

  readiness(): number {
    let mask = POLLOUT;
    if (this.readShut || (this.endpoint !== undefined && this.endpoint.queueLength > 0)) {
      mask |= POLLIN;
    }
    if (this.endpoint?.error !== undefined) mask |= POLLERR;
    return mask;
  }

  release(): void {
    if (this.endpoint !== undefined) {
      this.endpoint.onChange = undefined;
      this.endpoint.close();
    }
    if (this.binding !== undefined) this.context.udpPorts.remove(this.binding);
    this.endpoint = undefined;
    this.binding = undefined;
  }

  /** The endpoint, binding the socket to an ephemeral port on any address first if need be. */
  private boundEndpoint(syscall: string): BoundUdpEndpoint {
    if (this.endpoint === undefined) this.bind(ANY_ADDRESS, 0, syscall);
    return this.endpoint!;
  }

  /** Reports (once) an error ICMP delivered for a connected socket. */
  private reportError(syscall: string): void {
    const error = this.endpoint?.takeError();
    if (error === undefined) return;
    const peer =
      this.remote === undefined
        ? "the peer"
        : formatEndpoint(this.remote.address, this.remote.port);
    const detail =
      error === "ECONNREFUSED"
        ? `${peer} answered port unreachable (ICMP) to an earlier datagram`
        : `${peer} is unreachable (ICMP host unreachable)`;
    throw new SocketError(error, syscall, detail);
  }
}
