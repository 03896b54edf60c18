/**
 * UDP (RFC 768, RFC 1122 §4.1): checks an arriving datagram, finds the endpoint it is
 * for, and queues it there; builds and sends datagrams for endpoints; passes ICMP
 * errors to connected endpoints.
 *
 * Demultiplexing picks the most specific match, as Linux does: an endpoint connected to
 * exactly this peer beats one bound to our specific address, which beats one bound to
 * the wildcard 0.0.0.0. A broadcast goes to every endpoint that matches. Nobody home:
 * ICMP Port Unreachable (RFC 1122 §4.1.3.1), unless the datagram was a broadcast.
 */
import type { Forwarder } from "../forwarding.ts";
import type { IcmpErrorReport, Ipv4Datagram, Ipv4Send } from "../ipv4/datagram.ts";
import { IpProtocol } from "../ipv4/datagram.ts";
import { IPV4_HEADER_LENGTH } from "../ipv4/header.ts";
import type { Stats } from "../stats.ts";
import { UdpBinding, type UdpBindingOwner, type UdpSendResult } from "./binding.ts";
import { emitUdpHeader, isUdpParseFailure, parseUdpHeader, UDP_HEADER_LENGTH } from "./header.ts";

export { UdpBinding } from "./binding.ts";

/** 65,535 − 20 (IPv4 header) − 8 (UDP header): the most data one datagram can carry. */
export const UDP_MAX_PAYLOAD = 65_507;
/** RFC 792 Destination Unreachable code 3. */
const PORT_UNREACHABLE = 3;
const NO_BINDINGS: readonly UdpBinding[] = [];

/** What UDP needs from the stack around it (the `Stack` provides all of it). */
export interface UdpHost {
  readonly address: number;
  readonly stats: Stats;
  readonly ipv4: { output(packet: Uint8Array, send: Ipv4Send): void };
  readonly icmp: { sendDestinationUnreachable(d: Ipv4Datagram, code: number, now: number): void };
  /** A gateway's forwarder (forwarding.ts): takes datagrams to the addresses it claims. */
  readonly forwarder?: Pick<Forwarder, "udpDatagram">;
}

export class Udp implements UdpBindingOwner {
  /** Bindings by local port; a port rarely has more than one. */
  private readonly byPort = new Map<number, UdpBinding[]>();

  constructor(private readonly host: UdpHost) {}

  get hostAddress(): number {
    return this.host.address;
  }

  /**
   * Binds `address`:`port` (the socket layer has already checked for conflicts and
   * chosen the port). `receiveQueueBytes` is SO_RCVBUF.
   */
  bind(address: number, port: number, options: { receiveQueueBytes?: number } = {}): UdpBinding {
    const binding = new UdpBinding(this, address >>> 0, port, options.receiveQueueBytes);
    const list = this.byPort.get(port);
    if (list === undefined) this.byPort.set(port, [binding]);
    else list.push(binding);
    return binding;
  }

  /**
   * Whether binding `address`:`port` would clash (Linux without SO_REUSEADDR): some
   * endpoint has the port and either address is the wildcard or they are equal.
   */
  portInUse(address: number, port: number): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    address >>>= 0;
    return list.some((b) => b.localAddress === 0 || address === 0 || b.localAddress === address);
  }

  /** Every open binding, for /stats. */
  *bindings(): Iterable<UdpBinding> {
    for (const list of this.byPort.values()) yield* list;
  }

  /** A UDP datagram addressed to this host. Never throws. */
  input(d: Ipv4Datagram, now: number): void {
    const { stats } = this.host;
    const header = parseUdpHeader(d.payload, d.source, d.destination, d.checksumValid);
    if (isUdpParseFailure(header)) {
      if (header.reason === "udpInCsumErrors") stats.count("udpInCsumErrors");
      stats.drop("udpInErrors", header.detail);
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
    if (best === undefined && forwarder !== undefined && d.destination !== this.host.address) {
      stats.count("udpForwarded");
      const flow = {
        source: d.source,
        sourcePort: header.sourcePort,
        destination: d.destination,
        destinationPort: header.destinationPort,
      };
      const refusal = forwarder.udpDatagram(flow, data, now);
      if (refusal !== undefined) this.host.icmp.sendDestinationUnreachable(d, refusal, now);
      return;
    }
    if (best === undefined) {
      stats.drop("udpNoPorts", `port ${header.destinationPort}`);
      this.host.icmp.sendDestinationUnreachable(d, PORT_UNREACHABLE, now);
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
  icmpError(report: IcmpErrorReport, _now: number): void {
    const list = this.byPort.get(report.sourcePort) ?? NO_BINDINGS;
    for (const binding of list) {
      if (
        binding.isConnected &&
        binding.remoteAddress === report.destination &&
        binding.remotePort === report.destinationPort &&
        (binding.localAddress === 0 || binding.localAddress === report.source)
      ) {
        // The endpoint's error type has no EMSGSIZE: UDP does no path MTU discovery
        // (we never set DF on UDP), so "fragmentation needed" cannot be about us.
        if (report.error === "EMSGSIZE") return;
        binding.setError(report.error === "ECONNREFUSED" ? "ECONNREFUSED" : "EHOSTUNREACH");
        return;
      }
    }
  }

  /** Builds header + data behind IPv4 headroom in one buffer, checksums, and sends. */
  send(binding: UdpBinding, data: Uint8Array, address: number, port: number): UdpSendResult {
    const source = binding.localAddress === 0 ? this.host.address : binding.localAddress;
    return this.sendFrom({ address: source, port: binding.localPort }, data, address, port);
  }

  /**
   * Sends from any source endpoint: a bound socket's (`send`), or, for a gateway, the
   * forwarded address an inner host sent to (forwarding.ts), so the reply comes from it.
   */
  sendFrom(
    from: { address: number; port: number },
    data: Uint8Array,
    address: number,
    port: number,
  ): UdpSendResult {
    if (data.length > UDP_MAX_PAYLOAD) return "EMSGSIZE";
    // Sending to 0.0.0.0 or to port 0 cannot reach anyone.
    if (address === 0 || port === 0) return "EHOSTUNREACH";
    const source = from.address;
    const packet = new Uint8Array(IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH + data.length);
    const segment = packet.subarray(IPV4_HEADER_LENGTH);
    segment.set(data, UDP_HEADER_LENGTH);
    emitUdpHeader(segment, {
      sourcePort: from.port,
      destinationPort: port,
      source,
      destination: address,
    });
    this.host.stats.count("udpOutDatagrams");
    this.host.ipv4.output(packet, { source, destination: address, protocol: IpProtocol.UDP });
    return undefined;
  }

  unbind(binding: UdpBinding): void {
    const list = this.byPort.get(binding.localPort);
    if (list === undefined) return;
    const index = list.indexOf(binding);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.byPort.delete(binding.localPort);
  }

  private deliver(
    binding: UdpBinding,
    d: Ipv4Datagram,
    sourcePort: number,
    data: Uint8Array,
  ): void {
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
function matchScore(binding: UdpBinding, d: Ipv4Datagram, sourcePort: number): number {
  let score = 0;
  if (binding.localAddress !== 0) {
    if (binding.localAddress !== d.destination) return -1;
    score += 1;
  }
  if (binding.isConnected) {
    if (binding.remoteAddress !== d.source || binding.remotePort !== sourcePort) return -1;
    score += 2;
  }
  return score;
}
