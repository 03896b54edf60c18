/**
 * ICMP for a host (RFC 792, RFC 1122 §3.2.2): the echo server behind `ping`, errors we
 * send (destination unreachable, time exceeded) under the "never about" rules and a
 * rate limit, and errors we receive, handed to UDP or TCP as an `IcmpErrorReport`.
 *
 * Read `header.ts` for the message layout first.
 */
import { isMulticast, LIMITED_BROADCAST } from "../address.ts";
import {
  type IcmpErrorReport,
  IpProtocol,
  type Ipv4Datagram,
  type Ipv4Send,
} from "../ipv4/datagram.ts";
import { FLAGS_FRAGMENT_OFFSET, FRAGMENT_OFFSET_MASK, IPV4_HEADER_LENGTH } from "../ipv4/header.ts";
import { replyOptions } from "../ipv4/options.ts";
import { invalidSource, isSingleHost } from "../ipv4/source_address.ts";
import type { Stats } from "../stats.ts";
import { reportFromIcmpError } from "./error_report.ts";
import {
  emitIcmpHeader,
  ICMP_HEADER_LENGTH,
  type IcmpHeader,
  IcmpType,
  isIcmpError,
  parseIcmpHeader,
} from "./header.ts";
import { TokenBucket, type TokenBucketConfig } from "./rate_limit.ts";
import { msSinceMidnightUt, TIMESTAMP_MESSAGE_LENGTH, writeTimestampReply } from "./timestamp.ts";

/** RFC 792: an error quotes the offending IP header plus the first 64 bits of its data. */
const QUOTED_DATA_BYTES = 8;

/** What ICMP needs from the stack around it (the `Stack` provides all of it). */
export interface IcmpHost {
  readonly address: number;
  readonly prefixLength: number;
  readonly stats: Stats;
  readonly ipv4: { output(packet: Uint8Array, send: Ipv4Send): void };
  readonly udp: { icmpError(report: IcmpErrorReport, now: number): void };
  readonly tcp: { icmpError(report: IcmpErrorReport, now: number): void };
}

/** Counter of received messages per type (RFC 4293 icmpMsgStatsInPkts, by name). */
const IN_COUNTER: Record<number, string> = {
  [IcmpType.ECHO_REPLY]: "icmpInEchoReps",
  [IcmpType.DESTINATION_UNREACHABLE]: "icmpInDestUnreachs",
  [IcmpType.SOURCE_QUENCH]: "icmpInSrcQuenchs",
  [IcmpType.REDIRECT]: "icmpInRedirects",
  [IcmpType.ECHO_REQUEST]: "icmpInEchos",
  [IcmpType.TIME_EXCEEDED]: "icmpInTimeExcds",
  [IcmpType.PARAMETER_PROBLEM]: "icmpInParmProbs",
  [IcmpType.TIMESTAMP]: "icmpInTimestamps",
  [IcmpType.TIMESTAMP_REPLY]: "icmpInTimestampReps",
};

export class Icmp {
  private readonly rateLimit: TokenBucket;

  constructor(
    private readonly host: IcmpHost,
    rateLimit?: TokenBucketConfig,
  ) {
    this.rateLimit = new TokenBucket(rateLimit);
  }

  /** An ICMP message addressed to us. Never throws. */
  input(d: Ipv4Datagram, now: number): void {
    const { stats } = this.host;
    stats.count("icmpInMsgs");
    const header = parseIcmpHeader(d.payload);
    if (typeof header === "string") {
      // RFC 4293: icmpInErrors counts every message with an ICMP-specific error.
      if (header === "icmpInCsumErrors") stats.count("icmpInCsumErrors");
      stats.drop("icmpInErrors", header === "icmpInErrors" ? "shorter than 8" : "bad checksum");
      return;
    }
    // RFC 1122 §3.2.1.3: nothing is answered to (or learned from) a source that cannot
    // be one (ipv4/source_address.ts; IPv4 input has dropped these already).
    const badSource = invalidSource(d.source, d.destination === LIMITED_BROADCAST);
    if (badSource !== undefined) {
      stats.drop("icmpInInvalidSources", badSource);
      return;
    }
    const counter = IN_COUNTER[header.type];
    // RFC 1122 §3.2.2: "If an ICMP message of unknown type is received, it MUST be silently discarded."
    if (counter === undefined) {
      stats.drop("icmpInUnknownTypes", `type ${header.type}`);
      return;
    }
    stats.count(counter);
    switch (header.type) {
      case IcmpType.ECHO_REQUEST:
        this.answerEcho(d, header, now);
        return;
      case IcmpType.TIMESTAMP:
        this.answerTimestamp(d, header, now);
        return;
      case IcmpType.DESTINATION_UNREACHABLE:
      case IcmpType.TIME_EXCEEDED:
      case IcmpType.PARAMETER_PROBLEM:
        this.reportError(d, header, now);
        return;
      default:
        // Echo and timestamp replies (we send no requests), source quench (deprecated
        // by RFC 6633) and redirects (no routing table to update) are only counted.
        return;
    }
  }

  /**
   * RFC 792 Destination Unreachable about `d`, a datagram we received (code 3: port,
   * 2: protocol). Sent only when RFC 1122 §3.2.2 allows it and the rate limit agrees.
   */
  sendDestinationUnreachable(d: Ipv4Datagram, code: number, now: number): void {
    this.sendError(IcmpType.DESTINATION_UNREACHABLE, code, d, now);
  }

  /** RFC 792 Time Exceeded about `d` (code 1: fragment reassembly time exceeded). */
  sendTimeExceeded(d: Ipv4Datagram, code: number, now: number): void {
    this.sendError(IcmpType.TIME_EXCEEDED, code, d, now);
  }

  /**
   * RFC 792 Echo: "the source and destination addresses are simply reversed, the type
   * code changed to 0, and the checksum recomputed"; identifier, sequence number and
   * data come back unchanged. A reply too big for the link is fragmented by IPv4 output.
   * RFC 1122 §3.2.2.6: the reply's source is the request's specific-destination (ours),
   * and "Data received in an ICMP Echo Request MUST be entirely included" in the reply.
   * Record Route and Timestamp options come back updated (`ping -R`, `ping -T`).
   */
  private answerEcho(d: Ipv4Datagram, header: IcmpHeader, now: number): void {
    const { stats } = this.host;
    if (d.broadcast) {
      // RFC 1122 §3.2.2.6: MAY be silently discarded (Linux icmp_echo_ignore_broadcasts=1):
      // answering would let one spoofed packet draw replies from a whole subnet ("smurf").
      stats.drop("icmpInEchosIgnored", "echo request to a broadcast address");
      return;
    }
    this.sendReply(d, now, d.payload.length, (message) => {
      message.set(d.payload);
      emitIcmpHeader(message, {
        type: IcmpType.ECHO_REPLY,
        code: 0,
        restOfHeader: header.restOfHeader,
      });
    });
    stats.count("icmpOutEchoReps");
  }

  /**
   * RFC 1122 §3.2.2.8: "The ICMP Timestamp server function returns a Timestamp Reply to
   * every Timestamp message that is received", from the request's specific destination
   * (ours); one to a broadcast address "MAY be silently discarded", and is, as echo is
   * (timestamp.ts has the message). Record Route and Timestamp options come back
   * updated, as for echo.
   */
  private answerTimestamp(d: Ipv4Datagram, header: IcmpHeader, now: number): void {
    const { stats } = this.host;
    if (d.broadcast) {
      stats.drop("icmpInTimestampsIgnored", "timestamp request to a broadcast address");
      return;
    }
    if (d.payload.length < TIMESTAMP_MESSAGE_LENGTH) {
      stats.drop("icmpInErrors", "timestamp message shorter than 20");
      return;
    }
    this.sendReply(d, now, TIMESTAMP_MESSAGE_LENGTH, (message) =>
      writeTimestampReply(d.payload, header, message, now),
    );
    stats.count("icmpOutTimestampReps");
  }

  /** RFC 1122 §3.2.2.1/4/5: hand the error to the transport that sent the quoted datagram. */
  private reportError(d: Ipv4Datagram, header: IcmpHeader, now: number): void {
    const quote = d.payload.subarray(ICMP_HEADER_LENGTH);
    const report = reportFromIcmpError(header, quote, this.host.address);
    if (typeof report === "string") {
      this.host.stats.drop("icmpInErrors", report);
      return;
    }
    if (report.protocol === IpProtocol.UDP) this.host.udp.icmpError(report, now);
    else if (report.protocol === IpProtocol.TCP) this.host.tcp.icmpError(report, now);
  }

  private sendError(type: number, code: number, d: Ipv4Datagram, now: number): void {
    const { stats } = this.host;
    const forbidden = this.whyNotSendErrorAbout(d);
    if (forbidden !== undefined) {
      stats.count("icmpOutErrorsSuppressed");
      return;
    }
    if (!this.rateLimit.take(now)) {
      stats.count("icmpOutRateLimited");
      return;
    }
    const quotedData = d.payload.subarray(0, QUOTED_DATA_BYTES);
    const messageLength = ICMP_HEADER_LENGTH + d.header.length + quotedData.length;
    const packet = new Uint8Array(IPV4_HEADER_LENGTH + messageLength);
    const message = packet.subarray(IPV4_HEADER_LENGTH);
    message.set(d.header, ICMP_HEADER_LENGTH);
    message.set(quotedData, ICMP_HEADER_LENGTH + d.header.length);
    emitIcmpHeader(message, { type, code, restOfHeader: 0 });
    this.send(packet, d.source);
    stats.count(type === IcmpType.TIME_EXCEEDED ? "icmpOutTimeExcds" : "icmpOutDestUnreachs");
  }

  /** RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of receiving ...". */
  private whyNotSendErrorAbout(d: Ipv4Datagram): string | undefined {
    if (d.protocol === IpProtocol.ICMP && (d.payload.length < 1 || isIcmpError(d.payload[0]!))) {
      return "an ICMP error message";
    }
    if (d.broadcast || isMulticast(d.destination)) return "a datagram to broadcast/multicast";
    const flagsOffset =
      d.header.length >= 8
        ? (d.header[FLAGS_FRAGMENT_OFFSET]! << 8) | d.header[FLAGS_FRAGMENT_OFFSET + 1]!
        : 0;
    if ((flagsOffset & FRAGMENT_OFFSET_MASK) !== 0) return "a non-initial fragment";
    if (!isSingleHost(d.source, this.host)) return "a source that is not a single host";
    return undefined;
  }

  /**
   * Sends a reply to the request `d`: an ICMP message of `length` octets that `write`
   * fills in, behind an IPv4 header carrying the request's Record Route and Timestamp
   * options updated with this host (RFC 1122 §3.2.2.6, §3.2.2.8; ipv4/options.ts).
   */
  private sendReply(
    d: Ipv4Datagram,
    now: number,
    length: number,
    write: (message: Uint8Array) => void,
  ): void {
    const options =
      d.header.length > IPV4_HEADER_LENGTH
        ? replyOptions(
            d.header.subarray(IPV4_HEADER_LENGTH),
            this.host.address,
            msSinceMidnightUt(now),
          )
        : undefined;
    const headerLength = IPV4_HEADER_LENGTH + (options?.length ?? 0);
    const packet = new Uint8Array(headerLength + length);
    write(packet.subarray(headerLength));
    this.send(packet, d.source, options);
  }

  private send(packet: Uint8Array, destination: number, options?: Uint8Array): void {
    this.host.stats.count("icmpOutMsgs");
    this.host.ipv4.output(packet, {
      source: this.host.address,
      destination,
      protocol: IpProtocol.ICMP,
      ...(options === undefined ? {} : { options }),
    });
  }
}
