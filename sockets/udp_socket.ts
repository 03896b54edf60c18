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
import { formatIpv4, LIMITED_BROADCAST, subnetBroadcast } from "../stack/address.ts";
import { type AddressFamily, type IpAddress, isAnyAddress } from "../stack/network.ts";
import { wildcardOf } from "./addresses.ts";
import { claimPort, formatEndpoint, localAddressFor, type SocketContext } from "./context.ts";
import { SocketError } from "./errors.ts";
import type { BoundUdpEndpoint } from "./layers.ts";
import { NO_FLAGS, type ReceiveFlags } from "./message_flags.ts";
import { POLLERR, POLLIN, POLLOUT } from "./poll_events.ts";
import { Pollable, WOULD_BLOCK } from "./pollable.ts";
import type { Binding } from "./ports.ts";

/** RFC 768 + RFC 791: 65,535 − 8 (UDP header) − 20 (IPv4 header) bytes of data at most. */
export const MAX_UDP_PAYLOAD = 65507;
/** RFC 8200 §3: a Payload Length of 65,535 less the 8-octet UDP header (no jumbograms). */
export const MAX_UDP6_PAYLOAD = 65527;

export interface ReceivedDatagram {
  data: Uint8Array;
  address: IpAddress;
  port: number;
}

export class UdpSocket extends Pollable {
  reuseAddress = false;
  /** IPV6_V6ONLY (RFC 3493 §5.3): an inet6 socket on :: takes no IPv4 datagrams. */
  v6Only = false;
  /** SO_BROADCAST: may send to a broadcast address (else EACCES, as Linux). */
  broadcast = false;
  /** SO_RCVBUF: the receive queue bound in bytes, applied at bind time. */
  receiveBufferBytes: number | undefined;
  /** SO_SNDBUF: kept for getsockopt; a datagram socket has no send queue here. */
  sendBufferBytes = 65536;
  private endpoint: BoundUdpEndpoint | undefined;
  private binding: Binding | undefined;
  private remote: { address: IpAddress; port: number } | undefined;
  private readShut = false;
  private writeShut = false;

  constructor(
    private readonly context: SocketContext,
    /** The family the program asked for in socket(); its addresses are named in it. */
    readonly family: AddressFamily = "inet",
  ) {
    super();
  }

  bind(address: IpAddress, port: number, syscall = "bind"): void {
    if (this.endpoint !== undefined) {
      throw new SocketError("EINVAL", syscall, "the socket is already bound");
    }
    const { udpPorts, stack } = this.context;
    const v6Only = this.v6Only;
    const request = { address, port, reuseAddress: this.reuseAddress, syscall, v6Only };
    const binding = claimPort(this.context, udpPorts, request);
    const options = { receiveQueueBytes: this.receiveBufferBytes, v6Only };
    this.endpoint = stack.udp.bind(address, binding.port, options);
    this.endpoint.onChange = () => this.changed();
    this.binding = binding;
  }

  /**
   * Sets the default peer; datagrams from anyone else are no longer received.
   * 0.0.0.0 (or ::) port 0 dissolves the association (connect with AF_UNSPEC on Linux).
   */
  connect(address: IpAddress, port: number): void {
    if (isAnyAddress(address) && port === 0) {
      this.endpoint?.connect(wildcardOf(this.family), 0);
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

  sendTo(data: Uint8Array, address: IpAddress, port: number, syscall = "sendto"): number {
    this.reportError(syscall);
    if (this.writeShut) throw new SocketError("EPIPE", syscall);
    if (port === 0) throw new SocketError("EINVAL", syscall, "port 0 is not a destination");
    const max = typeof address === "number" ? MAX_UDP_PAYLOAD : MAX_UDP6_PAYLOAD;
    if (data.length > max) {
      throw new SocketError(
        "EMSGSIZE",
        syscall,
        `a datagram carries at most ${max} bytes, not ${data.length}`,
      );
    }
    this.checkFamily(address, syscall);
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
        if (this.readShut) {
          return { data: new Uint8Array(0), address: wildcardOf(this.family), port: 0 };
        }
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
  private checkBroadcast(address: IpAddress, syscall: string): void {
    // IPv6 has no broadcast (RFC 4291 §2: multicast does its work).
    if (typeof address !== "number") return;
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

  localName(): { address: IpAddress; port: number } {
    if (this.binding === undefined) return { address: wildcardOf(this.family), port: 0 };
    // Linux: connecting a wildcard-bound socket fixes the source address it will use.
    const connectedAny = isAnyAddress(this.binding.address) && this.remote !== undefined;
    const address = connectedAny
      ? localAddressFor(this.context, this.remote!.address)
      : this.binding.address;
    return { address, port: this.binding.port };
  }

  peerName(): { address: IpAddress; port: number } {
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
    if (this.endpoint === undefined) this.bind(wildcardOf(this.family), 0, syscall);
    return this.endpoint!;
  }

  /**
   * A socket bound to one family's address cannot send to the other's (Linux: an inet6
   * socket bound to an IPv6 address sending to a v4-mapped one is ENETUNREACH); and an
   * IPv6 destination needs IPv6 on (`localAddressFor`).
   */
  private checkFamily(address: IpAddress, syscall: string): void {
    const local = this.binding?.address;
    if (typeof address !== "number") localAddressFor(this.context, address);
    if (local === undefined || isAnyAddress(local) || typeof local === typeof address) return;
    throw new SocketError(
      "ENETUNREACH",
      syscall,
      `bound to ${formatEndpoint(local, this.binding!.port)}, which cannot reach ${formatEndpoint(address, 0).replace(/:0$/, "")}`,
    );
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
