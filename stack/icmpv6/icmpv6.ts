/**
 * ICMPv6 for a host (RFC 4443): the echo server behind `ping -6`; errors we send
 * (destination unreachable, time exceeded, parameter problem) under the §2.4 (e) "never
 * about" rules and a rate limit (§2.4 (f)); errors we receive, handed to UDP or TCP as
 * an `Icmpv6ErrorReport`, a Packet Too Big first lowering the path MTU (RFC 8201);
 * and the Neighbour Discovery and MLD messages the kernel sends on a TUN link, counted
 * and left unanswered (`neighbor_discovery.ts` says why).
 *
 * Read `header.ts` for the message layout first.
 */
import { TokenBucket, type TokenBucketConfig } from "../icmp/rate_limit.ts";
import {
  type Ipv6Address,
  inIpv6Prefix,
  ipv6Bytes,
  isMulticastIpv6,
  readIpv6,
  UNSPECIFIED_IPV6,
} from "../ipv6/address.ts";
import {
  type Icmpv6ErrorReport,
  type Ipv6Datagram,
  type Ipv6Send,
  NextHeader,
} from "../ipv6/datagram.ts";
import { skipToUpperLayer } from "../ipv6/extension_headers.ts";
import {
  DESTINATION_ADDRESS,
  IPV6_HEADER_LENGTH,
  IPV6_MINIMUM_MTU,
  SOURCE_ADDRESS,
} from "../ipv6/header.ts";
import type { Stats } from "../stats.ts";
import { reportFromIcmpv6Error } from "./error_report.ts";
import {
  emitIcmpv6Header,
  ICMPV6_HEADER_LENGTH,
  type Icmpv6Header,
  Icmpv6Type,
  isIcmpv6Error,
  parseIcmpv6Header,
} from "./header.ts";
import { NEIGHBOR_DISCOVERY_COUNTERS } from "./neighbor_discovery.ts";

/**
 * RFC 4443 §2.4 (c): an error carries "as much of the IPv6 offending (invoking) packet
 * ... as possible without making the error message packet exceed the minimum IPv6 MTU".
 */
const MAX_QUOTE = IPV6_MINIMUM_MTU - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH;

/** What ICMPv6 needs from the stack around it (the `Stack` provides all of it). */
export interface Icmpv6Host {
  readonly address6: Ipv6Address;
  readonly prefixLength6: number;
  readonly stats: Stats;
  readonly ipv6: {
    output(packet: Uint8Array, send: Ipv6Send): void;
    lowerPathMtu(destination: Ipv6Address, mtu: number, now: number): number;
  };
  readonly udp: { icmpError(report: Icmpv6ErrorReport, now: number): void };
  readonly tcp: { icmpError(report: Icmpv6ErrorReport, now: number): void };
}

/** What a message we send says: its type, code and the 4 octets after the checksum. */
type MessageFields = Omit<Icmpv6Header, "checksum">;

/** Counter of received messages per type (RFC 2466 ipv6IfIcmpIn*, by name). */
const IN_COUNTER: Record<number, string> = {
  [Icmpv6Type.DESTINATION_UNREACHABLE]: "icmpv6InDestUnreachs",
  [Icmpv6Type.PACKET_TOO_BIG]: "icmpv6InPktTooBigs",
  [Icmpv6Type.TIME_EXCEEDED]: "icmpv6InTimeExcds",
  [Icmpv6Type.PARAMETER_PROBLEM]: "icmpv6InParmProblems",
  [Icmpv6Type.ECHO_REQUEST]: "icmpv6InEchos",
  [Icmpv6Type.ECHO_REPLY]: "icmpv6InEchoReplies",
  ...NEIGHBOR_DISCOVERY_COUNTERS,
};

/** Counter of sent errors per type (RFC 2466 ipv6IfIcmpOut*). */
const OUT_COUNTER: Record<number, string> = {
  [Icmpv6Type.DESTINATION_UNREACHABLE]: "icmpv6OutDestUnreachs",
  [Icmpv6Type.PACKET_TOO_BIG]: "icmpv6OutPktTooBigs",
  [Icmpv6Type.TIME_EXCEEDED]: "icmpv6OutTimeExcds",
  [Icmpv6Type.PARAMETER_PROBLEM]: "icmpv6OutParmProblems",
};

export class Icmpv6 {
  private readonly rateLimit: TokenBucket;

  constructor(
    private readonly host: Icmpv6Host,
    rateLimit?: TokenBucketConfig,
  ) {
    this.rateLimit = new TokenBucket(rateLimit);
  }

  /** An ICMPv6 message addressed to us (or to a group we are in). Never throws. */
  input(d: Ipv6Datagram, now: number): void {
    const { stats } = this.host;
    stats.count("icmpv6InMsgs");
    const header = parseIcmpv6Header(d.payload, d.addressSum, d.checksumValid);
    if (typeof header === "string") {
      // RFC 4293: icmpInErrors counts every message with an ICMP-specific error.
      if (header === "icmpv6InCsumErrors") stats.count("icmpv6InCsumErrors");
      stats.drop("icmpv6InErrors", header === "icmpv6InErrors" ? "shorter than 8" : "bad checksum");
      return;
    }
    const counter = IN_COUNTER[header.type];
    if (counter !== undefined) stats.count(counter);
    if (header.type === Icmpv6Type.ECHO_REQUEST) {
      this.answerEcho(d, header);
    } else if (isIcmpv6Error(header.type)) {
      // §2.4 (a): even an error of unknown type goes to the upper layer.
      this.reportError(d, header, now);
    } else if (counter === undefined) {
      // §2.4 (b): "an ICMPv6 informational message of unknown type ... MUST be silently discarded".
      stats.drop("icmpv6InUnknownTypes", `type ${header.type}`);
    }
    // Echo replies (we send no requests) and Neighbour Discovery / MLD are only counted.
  }

  /** RFC 4443 §3.1 Destination Unreachable about `d` (code 4: port unreachable). */
  sendDestinationUnreachable(d: Ipv6Datagram, code: number, now: number): void {
    this.sendError(d, { type: Icmpv6Type.DESTINATION_UNREACHABLE, code, restOfHeader: 0 }, now);
  }

  /** RFC 4443 §3.3 Time Exceeded about `d` (code 1: fragment reassembly time exceeded). */
  sendTimeExceeded(d: Ipv6Datagram, code: number, now: number): void {
    this.sendError(d, { type: Icmpv6Type.TIME_EXCEEDED, code, restOfHeader: 0 }, now);
  }

  /** RFC 4443 §3.4 Parameter Problem about `d`; `pointer` is an offset in `d.packet`. */
  sendParameterProblem(d: Ipv6Datagram, code: number, pointer: number, now: number): void {
    this.sendError(d, { type: Icmpv6Type.PARAMETER_PROBLEM, code, restOfHeader: pointer }, now);
  }

  /** RFC 4443 §3.2 Packet Too Big (a host never forwards, so only for completeness and tests). */
  sendPacketTooBig(d: Ipv6Datagram, mtu: number, now: number): void {
    this.sendError(d, { type: Icmpv6Type.PACKET_TOO_BIG, code: 0, restOfHeader: mtu }, now);
  }

  /**
   * RFC 4443 §4.2: "Every node MUST implement an ICMPv6 Echo responder function"; the
   * reply carries the request's identifier, sequence number and data, and to one sent
   * to a multicast group it "SHOULD be sent", from one of our unicast addresses.
   */
  private answerEcho(d: Ipv6Datagram, header: Icmpv6Header): void {
    const { stats } = this.host;
    if (d.source === UNSPECIFIED_IPV6) {
      stats.drop("icmpv6InErrors", "echo request from the unspecified address");
      return;
    }
    const message = d.payload;
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + message.length);
    const reply = packet.subarray(IPV6_HEADER_LENGTH);
    reply.set(message);
    const fields = { type: Icmpv6Type.ECHO_REPLY, code: 0, restOfHeader: header.restOfHeader };
    this.send(packet, fields, d.source);
    stats.count("icmpv6OutEchoReplies");
  }

  /**
   * RFC 4443 §2.4 (d): the error goes to the transport named in the quoted packet. A
   * Packet Too Big lowers the path MTU to the quoted destination first (RFC 8201 §4),
   * whichever transport sent it.
   */
  private reportError(d: Ipv6Datagram, header: Icmpv6Header, now: number): void {
    const quote = d.payload.subarray(ICMPV6_HEADER_LENGTH);
    const { address6, stats, udp, tcp } = this.host;
    const pathMtu =
      header.type === Icmpv6Type.PACKET_TOO_BIG
        ? this.learnPathMtu(quote, header.restOfHeader, now)
        : undefined;
    const report = reportFromIcmpv6Error(header, quote, address6);
    if (typeof report === "string") {
      // A Packet Too Big about one of our later fragments shows no ports, but it has
      // taught the path MTU, which is all it is for.
      if (pathMtu === undefined) stats.drop("icmpv6InErrors", report);
      return;
    }
    // RFC 8201 §4: the transport hears the path MTU now in force, not the raw report.
    const delivered = pathMtu === undefined ? report : { ...report, nextHopMtu: pathMtu };
    if (report.protocol === NextHeader.UDP) udp.icmpError(delivered, now);
    else if (report.protocol === NextHeader.TCP) tcp.icmpError(delivered, now);
  }

  /**
   * RFC 8201 §4: a Packet Too Big lowers the path MTU to the destination of the packet
   * it quotes, whatever that packet carried (a fragment, an echo reply), once we know
   * the packet was ours. Returns the path MTU now in force, or undefined if not ours.
   */
  private learnPathMtu(quote: Uint8Array, reported: number, now: number): number | undefined {
    if (quote.length < IPV6_HEADER_LENGTH || quote[0]! >>> 4 !== 6) return undefined;
    if (readIpv6(quote, SOURCE_ADDRESS) !== this.host.address6) return undefined;
    this.host.stats.count("icmpv6PathMtuUpdates");
    return this.host.ipv6.lowerPathMtu(readIpv6(quote, DESTINATION_ADDRESS), reported, now);
  }

  private sendError(d: Ipv6Datagram, fields: MessageFields, now: number): void {
    const { stats } = this.host;
    const forbidden = this.whyNotSendErrorAbout(d, fields.type, fields.code);
    if (forbidden !== undefined) {
      stats.count("icmpv6OutErrorsSuppressed");
      return;
    }
    // §2.4 (f): "an IPv6 node MUST limit the rate of ICMPv6 error messages it originates".
    if (!this.rateLimit.take(now)) {
      stats.count("icmpv6OutRateLimited");
      return;
    }
    const quote = d.packet.subarray(0, MAX_QUOTE);
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + ICMPV6_HEADER_LENGTH + quote.length);
    packet.set(quote, IPV6_HEADER_LENGTH + ICMPV6_HEADER_LENGTH);
    this.send(packet, fields, d.source);
    stats.count(OUT_COUNTER[fields.type] ?? "icmpv6OutErrors");
  }

  /** RFC 4443 §2.4 (e): "An ICMPv6 error message MUST NOT be originated as a result of receiving ...". */
  private whyNotSendErrorAbout(d: Ipv6Datagram, type: number, code: number): string | undefined {
    // (e.1), (e.2): an ICMPv6 error or a Redirect; the type is found by skipping the
    // headers, even those the error is about (Linux is_ineligible does the same).
    const upper = skipToUpperLayer(d.packet);
    if (upper?.protocol === NextHeader.ICMPV6) {
      const icmpType = d.packet[upper.offset];
      if (icmpType === undefined || isIcmpv6Error(icmpType) || icmpType === Icmpv6Type.REDIRECT) {
        return "an ICMPv6 error or redirect";
      }
    }
    // (e.3)-(e.5), with the two exceptions: Packet Too Big, and Parameter Problem code 2.
    const exception =
      type === Icmpv6Type.PACKET_TOO_BIG || (type === Icmpv6Type.PARAMETER_PROBLEM && code === 2);
    if ((d.broadcast || isMulticastIpv6(d.destination)) && !exception) {
      return "a packet to a multicast address";
    }
    // (e.6): "a packet whose source address does not uniquely identify a single node".
    if (d.source === UNSPECIFIED_IPV6 || isMulticastIpv6(d.source)) return "no single-node source";
    if (this.isSubnetRouterAnycast(d.source)) return "an anycast source";
    return undefined;
  }

  /** RFC 4291 §2.6.1: our prefix with an all-zero interface identifier is the Subnet-Router anycast. */
  private isSubnetRouterAnycast(source: Ipv6Address): boolean {
    const { address6, prefixLength6 } = this.host;
    if (prefixLength6 >= 127 || !inIpv6Prefix(source, address6, prefixLength6)) return false;
    const bytes = ipv6Bytes(source);
    for (let bit = prefixLength6; bit < 128; bit++) {
      if ((bytes[bit >>> 3]! & (0x80 >>> (bit & 7))) !== 0) return false;
    }
    return true;
  }

  /** Writes the header and checksum into `packet` (40 octets of headroom, then the message) and sends it. */
  private send(packet: Uint8Array, fields: MessageFields, destination: Ipv6Address): void {
    const source = this.host.address6;
    emitIcmpv6Header(packet.subarray(IPV6_HEADER_LENGTH), fields, { source, destination });
    this.host.stats.count("icmpv6OutMsgs");
    this.host.ipv6.output(packet, { source, destination, protocol: NextHeader.ICMPV6 });
  }
}
