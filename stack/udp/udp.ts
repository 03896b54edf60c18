/**
 * UDP (RFC 768, RFC 1122 §4.1): checks an arriving datagram, finds the endpoint it is
 * for, and queues it there; builds and sends datagrams for endpoints; passes ICMP
 * errors to connected endpoints.
 *
 * Demultiplexing picks the most specific match, as Linux does: an endpoint connected to
 * exactly this peer beats one bound to our specific address, which beats one bound to
 * the wildcard 0.0.0.0 (or ::). A broadcast goes to every endpoint that matches. Nobody
 * home: ICMP Port Unreachable (RFC 1122 §4.1.3.1; ICMPv6 code 4, RFC 4443 §3.1),
 * unless the datagram was a broadcast or to a multicast group.
 *
 * One UDP for both families: an endpoint sends through the network layer of its
 * peer's family (`host.networkFor`, network.ts), which fragments to the path MTU; an
 * endpoint bound to :: also receives IPv4 unless it is IPv6-only (RFC 3493 §5.3).
 */
import { LIMITED_BROADCAST } from "../address.ts";
import type { Forwarder } from "../forwarding.ts";
import { IpProtocol, type Ipv4Datagram } from "../ipv4/datagram.ts";
import { invalidSource } from "../ipv4/source_address.ts";
import type { Ipv6Datagram } from "../ipv6/datagram.ts";
import {
  type IpAddress,
  type IpDatagram,
  type IpErrorReport,
  isAnyAddress,
  type NetworkLayer,
} from "../network.ts";
import type { Stats } from "../stats.ts";
import { UdpBinding, type UdpBindingOwner, type UdpSendResult } from "./binding.ts";
import { emitUdpHeader, isUdpParseFailure, parseUdpHeader, UDP_HEADER_LENGTH } from "./header.ts";

export { UdpBinding } from "./binding.ts";

/** 65,535 − 20 (IPv4 header) − 8 (UDP header): the most data one datagram can carry. */
export const UDP_MAX_PAYLOAD = 65_507;
/** Over IPv6: 65,535 (Payload Length, RFC 8200 §3) − 8 (UDP header); no jumbograms. */
export const UDP6_MAX_PAYLOAD = 65_527;
/** RFC 792 Destination Unreachable code 3. */
const PORT_UNREACHABLE = 3;
/** RFC 4443 §3.1 Destination Unreachable code 4. */
const PORT_UNREACHABLE_V6 = 4;
const NO_BINDINGS: readonly UdpBinding[] = [];

/** What UDP needs from the stack around it (the `Stack` provides all of it). */
export interface UdpHost {
  /** The host's IPv4 address: a datagram to another one may be for a gateway's forwarder. */
  readonly address: number;
  readonly stats: Stats;
  networkFor(address: IpAddress): NetworkLayer;
  readonly icmp: { sendDestinationUnreachable(d: Ipv4Datagram, code: number, now: number): void };
  readonly icmpv6: {
    sendDestinationUnreachable(d: Ipv6Datagram, code: number, now: number): void;
  };
  /** A gateway's forwarder (forwarding.ts): takes datagrams to the addresses it claims. */
  readonly forwarder?: Pick<Forwarder, "udpDatagram">;
}

export class Udp implements UdpBindingOwner {
  /** Bindings by local port; a port rarely has more than one. */
  private readonly byPort = new Map<number, UdpBinding[]>();

  constructor(private readonly host: UdpHost) {}

  hostAddressFor(peer: IpAddress): IpAddress {
    return this.host.networkFor(peer).address;
  }

  /**
   * Binds `address`:`port` (the socket layer has already checked for conflicts and
   * chosen the port). `receiveQueueBytes` is SO_RCVBUF; `v6Only` is IPV6_V6ONLY.
   */
  bind(
    address: IpAddress,
    port: number,
    options: { receiveQueueBytes?: number; v6Only?: boolean } = {},
  ): UdpBinding {
    const local = typeof address === "number" ? address >>> 0 : address;
    const { receiveQueueBytes, v6Only } = options;
    const binding = new UdpBinding(this, local, port, receiveQueueBytes, v6Only ?? false);
    const list = this.byPort.get(port);
    if (list === undefined) this.byPort.set(port, [binding]);
    else list.push(binding);
    return binding;
  }

  /**
   * Whether binding `address`:`port` would clash (Linux without SO_REUSEADDR): some
   * endpoint has the port and either address is a wildcard or they are equal. The port
   * space is one for both families, as in Linux.
   */
  portInUse(address: IpAddress, port: number): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    const a = typeof address === "number" ? address >>> 0 : address;
    return list.some(
      (b) => isAnyAddress(b.localAddress) || isAnyAddress(a) || b.localAddress === a,
    );
  }

  /** Every open binding, for /stats. */
  *bindings(): Iterable<UdpBinding> {
    for (const list of this.byPort.values()) yield* list;
  }

  /** A UDP datagram addressed to this host. Never throws. */
  input(d: IpDatagram, now: number): void {
    const { stats } = this.host;
    const header = parseUdpHeader(d.payload, d.source, d.destination, d.checksumValid);
    if (isUdpParseFailure(header)) {
      if (header.reason === "udpInCsumErrors") stats.count("udpInCsumErrors");
      stats.drop("udpInErrors", header.detail);
      return;
    }
    // RFC 1122 §4.1.3.6: "A UDP datagram received with an invalid IP source address ...
    // must be discarded by UDP or by the IP layer": neither delivered nor answered with a
    // Port Unreachable. 0.0.0.0 to 255.255.255.255 is the bootstrap case (a DHCP client).
    const badSource =
      typeof d.source === "number"
        ? invalidSource(d.source, d.destination === LIMITED_BROADCAST)
        : undefined; // IPv6 input applies its own rules
    if (badSource !== undefined) {
      stats.drop("udpInInvalidSources", badSource);
      return;
    }
    const data = d.payload.subarray(UDP_HEADER_LENGTH, header.length);
    const candidates = this.byPort.get(header.destinationPort) ?? NO_BINDINGS;
    if (d.broadcast) {
      let delivered = 0;
      for (const binding of candidates) {
        if (matchScore(binding, d, header.sourcePort) < 0) continue;
        delivered++;
        this.deliver(binding, d, header.sourcePort, data);
      }
      // RFC 1122 §3.2.2: no ICMP error about a broadcast; just count it.
      if (delivered === 0) stats.drop("udpNoPorts", `broadcast to port ${header.destinationPort}`);
      return;
    }
    let best: UdpBinding | undefined;
    let bestScore = -1;
    for (const binding of candidates) {
      const score = matchScore(binding, d, header.sourcePort);
      if (score > bestScore) [best, bestScore] = [binding, score];
    }
    const forwarder = this.host.forwarder;
    // A gateway forwards IPv4 only (forwarding.ts).
    const forwardable = typeof d.destination === "number" && d.destination !== this.host.address;
    if (best === undefined && forwarder !== undefined && forwardable) {
      stats.count("udpForwarded");
      const v4 = d as Ipv4Datagram;
      const flow = {
        source: v4.source,
        sourcePort: header.sourcePort,
        destination: v4.destination,
        destinationPort: header.destinationPort,
      };
      const refusal = forwarder.udpDatagram(flow, data, now);
      if (refusal !== undefined) this.host.icmp.sendDestinationUnreachable(v4, refusal, now);
      return;
    }
    if (best === undefined) {
      stats.drop("udpNoPorts", `port ${header.destinationPort}`);
      if (typeof d.source === "number") {
        this.host.icmp.sendDestinationUnreachable(d as Ipv4Datagram, PORT_UNREACHABLE, now);
      } else {
        this.host.icmpv6.sendDestinationUnreachable(d as Ipv6Datagram, PORT_UNREACHABLE_V6, now);
      }
      return;
    }
    this.deliver(best, d, header.sourcePort, data);
  }

  /**
   * ICMP says a datagram we sent could not be delivered. Like Linux (without
   * IP_RECVERR), only an endpoint connected to that peer hears about it: an unconnected
   * one could not tell which of its sends failed. Unlike Linux, which tells a connected
   * socket only of "hard" errors, every kind is passed on, as RFC 1122 §4.1.3.3 says:
   * "UDP MUST pass to the application layer all ICMP error messages that it receives".
   */
  icmpError(report: IpErrorReport, _now: number): void {
    const list = this.byPort.get(report.sourcePort) ?? NO_BINDINGS;
    for (const binding of list) {
      if (
        binding.isConnected &&
        binding.remoteAddress === report.destination &&
        binding.remotePort === report.destinationPort &&
        (isAnyAddress(binding.localAddress) || binding.localAddress === report.source)
      ) {
        // The endpoint's error type has no EMSGSIZE: UDP does no path MTU discovery
        // (we never set DF on UDP), so "fragmentation needed" cannot be about us; over
        // IPv6 a Packet Too Big has lowered the path MTU, which later sends fragment to.
        if (report.error === "EMSGSIZE") return;
        binding.setError(report.error === "ECONNREFUSED" ? "ECONNREFUSED" : "EHOSTUNREACH");
        return;
      }
    }
  }

  /** Builds header + data behind the network layer's headroom, checksums, and sends. */
  send(binding: UdpBinding, data: Uint8Array, address: IpAddress, port: number): UdpSendResult {
    const local = binding.localAddress;
    const source =
      isAnyAddress(local) || typeof local !== typeof address
        ? this.host.networkFor(address).address
        : local;
    return this.sendFrom({ address: source, port: binding.localPort }, data, address, port);
  }

  /**
   * Sends from any source endpoint: a bound socket's (`send`), or, for a gateway, the
   * forwarded address an inner host sent to (forwarding.ts), so the reply comes from it.
   * Header and data go behind the headroom of the destination family's network layer,
   * which fragments to the MTU, or over IPv6 to the path MTU (RFC 8200 §5, RFC 8201).
   */
  sendFrom(
    from: { address: IpAddress; port: number },
    data: Uint8Array,
    address: IpAddress,
    port: number,
  ): UdpSendResult {
    const net = this.host.networkFor(address);
    if (data.length > (net.family === "inet" ? UDP_MAX_PAYLOAD : UDP6_MAX_PAYLOAD)) {
      return "EMSGSIZE";
    }
    // Sending to 0.0.0.0, ::, or to port 0 cannot reach anyone.
    if (isAnyAddress(address) || port === 0) return "EHOSTUNREACH";
    const source = from.address;
    const packet = new Uint8Array(net.headerLength + UDP_HEADER_LENGTH + data.length);
    const segment = packet.subarray(net.headerLength);
    segment.set(data, UDP_HEADER_LENGTH);
    emitUdpHeader(segment, {
      sourcePort: from.port,
      destinationPort: port,
      source,
      destination: address,
    });
    this.host.stats.count("udpOutDatagrams");
    net.output(packet, { source, destination: address, protocol: IpProtocol.UDP });
    return undefined;
  }

  unbind(binding: UdpBinding): void {
    const list = this.byPort.get(binding.localPort);
    if (list === undefined) return;
    const index = list.indexOf(binding);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.byPort.delete(binding.localPort);
  }

  private deliver(binding: UdpBinding, d: IpDatagram, sourcePort: number, data: Uint8Array): void {
    if (binding.enqueue(d.source, sourcePort, d.destination, data)) {
      this.host.stats.count("udpInDatagrams");
    } else {
      // RFC 4113 has no name for it; Linux counts RcvbufErrors (and InErrors).
      this.host.stats.count("udpInErrors");
      this.host.stats.drop("udpRcvbufErrors", `port ${binding.localPort} receive queue full`);
    }
  }
}

/**
 * How well `binding` matches datagram `d` from `sourcePort`: −1 no match; otherwise
 * +2 for a connected peer that matches exactly, +1 for a specific local address.
 */
function matchScore(binding: UdpBinding, d: IpDatagram, sourcePort: number): number {
  let score = 0;
  const local = binding.localAddress;
  if (!isAnyAddress(local)) {
    if (local !== d.destination) return -1;
    score += 1;
  } else if (!wildcardTakes(binding, d.destination)) {
    return -1;
  }
  if (binding.isConnected) {
    if (binding.remoteAddress !== d.source || binding.remotePort !== sourcePort) return -1;
    score += 2;
  }
  return score;
}

/**
 * Whether a wildcard binding takes a datagram to `destination`: 0.0.0.0 takes IPv4;
 * :: takes IPv6, and IPv4 too unless IPv6-only (RFC 3493 §5.3; the sender is then named
 * by its IPv4-mapped address, RFC 4291 §2.5.5.2, in the socket layer).
 */
function wildcardTakes(binding: UdpBinding, destination: IpAddress): boolean {
  if (binding.localAddress === 0) return typeof destination === "number";
  return typeof destination !== "number" || !binding.v6Only;
}
