/**
 * The IPv6 layer of a host (RFC 8200): input checks the fixed header, walks the
 * extension headers, reassembles fragments and hands the packet to ICMPv6, UDP or TCP;
 * output writes the header into the headroom the transport left, fragments to the path
 * MTU (RFC 8201) if it must, and transmits.
 *
 * As for IPv4 (`ipv4/ipv4.ts`), a host does not forward and has no routing table: a
 * packet for another address is dropped, and everything goes out the one link. Read
 * `header.ts`, then this file, then `extension_headers.ts` and `reassembly.ts`.
 */
import type { TransmitOffload } from "../offload.ts";
import { Random } from "../random.ts";
import {
  ALL_NODES,
  type Ipv6Address,
  isMulticastIpv6,
  solicitedNodeAddress,
  UNSPECIFIED_IPV6,
} from "./address.ts";
import { type Ipv6Send, NextHeader, ReceivedIpv6Datagram } from "./datagram.ts";
import { type ChainEnd, type ChainStart, chainStartOf, walkChain } from "./extension_headers.ts";
import { packetFlowLabel } from "./flow_label.ts";
import { FRAGMENT_HEADER_LENGTH, parseFragmentHeader } from "./fragment_header.ts";
import { fragmentAndSend } from "./fragmentation.ts";
import {
  DEFAULT_HOP_LIMIT,
  emitIpv6Header,
  emptyIpv6Header,
  IPV6_HEADER_LENGTH,
  IPV6_MAX_PAYLOAD,
  IPV6_MINIMUM_MTU,
  isIpv6ParseFailure,
  packetAddressSum,
  parseIpv6Header,
} from "./header.ts";
import type { Ipv6Host, Ipv6Limits } from "./host.ts";
import { whyNotForUs, whyNotQueueFragment, whyNotSendTo } from "./input_checks.ts";
import { PathMtuCache } from "./path_mtu.ts";
import { Ipv6Reassembly } from "./reassembly.ts";

export type { Icmpv6ErrorReport, Ipv6Datagram, Ipv6Send } from "./datagram.ts";
export { NextHeader } from "./datagram.ts";
export { IPV6_HEADER_LENGTH, IPV6_MINIMUM_MTU } from "./header.ts";
export type { Icmpv6Errors, Ipv6Host, Ipv6Limits } from "./host.ts";

/** RFC 4443 §3.3 Time Exceeded, code 1: fragment reassembly time exceeded. */
const REASSEMBLY_TIME_EXCEEDED = 1;

/** The fields of one arriving packet that every step needs. */
interface Arrival {
  source: Ipv6Address;
  destination: Ipv6Address;
  hopLimit: number;
  broadcast: boolean;
  checksumValid: boolean;
  addressSum: number;
}

function emptyArrival(): Arrival {
  return {
    source: UNSPECIFIED_IPV6,
    destination: UNSPECIFIED_IPV6,
    hopLimit: 0,
    broadcast: false,
    checksumValid: false,
    addressSum: 0,
  };
}

export class Ipv6 {
  readonly reassembly: Ipv6Reassembly;
  readonly pathMtus: PathMtuCache;
  /** Fragment identifications, drawn when first needed (RFC 7739: unpredictable). */
  private identification: Random | undefined;
  /** The secret of our flow labels (RFC 6437 §3), from the host or drawn when first needed. */
  private flowLabelKey: number | undefined;
  /**
   * The parsed header, the arrival and the datagram handed up: one of each reused for
   * every packet (valid while it is processed, as its bytes are), so no objects per
   * packet. A packet that arrives while another is still being processed (a test
   * harness that loops a reply straight back) gets fresh ones.
   */
  private readonly rxHeader = emptyIpv6Header();
  private readonly rxArrival = emptyArrival();
  private readonly rxDatagram = new ReceivedIpv6Datagram();
  private receiving = false;
  /** The header being written, likewise reused (emitted before transmit is called). */
  private readonly txHeader = emptyIpv6Header();
  /** Multicast groups we belong to (RFC 4291 §2.8): all-nodes and our solicited-node. */
  private readonly groups: ReadonlySet<Ipv6Address>;

  constructor(
    private readonly host: Ipv6Host,
    limits: Ipv6Limits = {},
  ) {
    this.reassembly = new Ipv6Reassembly(host.stats, limits.reassembly);
    this.pathMtus = new PathMtuCache(host.mtu, limits.pathMtu);
    this.groups = new Set(
      host.address6 === UNSPECIFIED_IPV6
        ? [ALL_NODES]
        : [ALL_NODES, solicitedNodeAddress(host.address6)],
    );
  }

  /**
   * Why IPv6 is off, or undefined when it is on. Off when the stack has no IPv6 address
   * (`::`), or when the link cannot carry IPv6 (an MTU under 1280, RFC 8200 §5): every
   * packet in or out is then dropped and counted.
   */
  get disabledBecause(): string | undefined {
    if (this.host.address6 === UNSPECIFIED_IPV6) return "no IPv6 address";
    if (this.host.mtu < IPV6_MINIMUM_MTU) return "link MTU below 1280";
    return undefined;
  }

  /**
   * A packet from the link (its first nibble is 6). Never throws: whatever is wrong is
   * dropped and counted. `checksumValid`: the device vouches for the transport checksum.
   */
  input(packet: Uint8Array, now: number, checksumValid = false): void {
    const { stats, trace } = this.host;
    stats.count("ipv6InReceives");
    if (trace.enabled) trace.packet("in", packet);
    const disabled = this.disabledBecause;
    if (disabled !== undefined) {
      stats.drop("ipv6InDiscards", disabled);
      return;
    }
    const nested = this.receiving;
    const header = parseIpv6Header(packet, nested ? emptyIpv6Header() : this.rxHeader);
    if (isIpv6ParseFailure(header)) {
      stats.drop(header.reason, header.detail);
      return;
    }
    // Bytes past Payload Length are link padding (RFC 8200 §3: it is authoritative).
    const end = IPV6_HEADER_LENGTH + header.payloadLength;
    const datagram = packet.length === end ? packet : packet.subarray(0, end);
    const problem = whyNotForUs(header, { address: this.host.address6, groups: this.groups });
    if (problem !== undefined) {
      stats.drop("ipv6InAddrErrors", problem);
      return;
    }
    const arrival = nested ? emptyArrival() : this.rxArrival;
    arrival.source = header.source;
    arrival.destination = header.destination;
    arrival.hopLimit = header.hopLimit;
    arrival.broadcast = isMulticastIpv6(header.destination);
    arrival.checksumValid = checksumValid;
    arrival.addressSum = packetAddressSum(datagram);
    // RFC 8200 §3: a host does not check the Hop Limit of packets addressed to it.
    this.receiving = true;
    try {
      this.continueChain(arrival, datagram, chainStartOf(datagram), now);
    } finally {
      this.receiving = nested;
    }
  }

  /**
   * Sends one datagram. `packet` starts with IPV6_HEADER_LENGTH bytes of headroom,
   * followed by the upper-layer bytes (checksum already in place, computed with
   * `ipv6PseudoHeaderSum(sourceFor(destination), destination, ...)`). Fragmented to the
   * path MTU unless `send.dontFragment`. The bytes are ours only during the call.
   */
  output(packet: Uint8Array, send: Ipv6Send): void {
    const { stats } = this.host;
    stats.count("ipv6OutRequests");
    const problem = this.disabledBecause ?? whyNotSendTo(send.destination);
    if (problem !== undefined) {
      stats.drop("ipv6OutDiscards", problem);
      return;
    }
    const payloadLength = packet.length - IPV6_HEADER_LENGTH;
    if (payloadLength > IPV6_MAX_PAYLOAD) {
      stats.drop("ipv6OutDiscards", "payload over 65535");
      return;
    }
    const source =
      send.source === UNSPECIFIED_IPV6 ? this.sourceFor(send.destination) : send.source;
    const header = this.txHeader;
    header.trafficClass = send.trafficClass ?? 0;
    header.flowLabel =
      send.flowLabel ?? this.flowLabelFor(packet, send.protocol, source, send.destination);
    header.payloadLength = payloadLength;
    header.nextHeader = send.protocol;
    header.hopLimit = send.hopLimit ?? DEFAULT_HOP_LIMIT;
    header.source = source;
    header.destination = send.destination;
    const mtu = this.pathMtu(send.destination);
    if (packet.length <= mtu || this.deviceSegments(send)) {
      emitIpv6Header(packet, header);
      this.transmit(packet, send.offload);
      return;
    }
    if (send.dontFragment === true) {
      // TCP sizes its segments to the path MTU (RFC 8201 §5.2) and is never fragmented.
      stats.drop("ipv6OutFragFails", `${packet.length} octets over the path MTU ${mtu}`);
      return;
    }
    this.identification ??= new Random(this.host.random.nextUint32());
    // A copy: each fragment's transmit may lead to another output, which reuses txHeader.
    fragmentAndSend(
      packet,
      { ...header },
      { mtu, identification: this.identification.nextUint32() },
      (fragment) => {
        stats.count("ipv6OutFragCreates");
        this.transmit(fragment);
      },
    );
    stats.count("ipv6OutFragOKs");
  }

  /** RFC 6437: the label of the flow `packet` belongs to (`flow_label.ts`), keyed by our secret. */
  private flowLabelFor(
    packet: Uint8Array,
    protocol: number,
    source: Ipv6Address,
    destination: Ipv6Address,
  ): number {
    if (protocol !== NextHeader.TCP && protocol !== NextHeader.UDP) return 0;
    this.flowLabelKey ??= this.host.flowLabelKey ?? this.host.random.nextUint32();
    return packetFlowLabel(packet, { protocol, source, destination }, this.flowLabelKey);
  }

  /** The source address for a packet to `destination` (we have one address). */
  sourceFor(_destination: Ipv6Address): Ipv6Address {
    return this.host.address6;
  }

  /** RFC 8201: the largest packet that reaches `destination` unfragmented (≥ 1280). */
  pathMtu(destination: Ipv6Address, now?: number): number {
    return this.pathMtus.get(destination, now);
  }

  /**
   * A Packet Too Big said `mtu` for `destination` (ICMPv6 calls this). Returns the path
   * MTU now in force (never below 1280 nor raised, RFC 8201 §4).
   */
  lowerPathMtu(destination: Ipv6Address, mtu: number, now: number): number {
    return this.pathMtus.lower(destination, mtu, now);
  }

  /** Reassembly timeouts, with Time Exceeded for them (RFC 8200 §4.5); path MTU aging. */
  poll(now: number): void {
    this.pathMtus.expire(now);
    this.reassembly.expire(now, (expired) => {
      const first = expired.firstFragment;
      const header = parseIpv6Header(first);
      if (isIpv6ParseFailure(header)) return; // Unreachable: it was parsed on arrival.
      const d = new ReceivedIpv6Datagram().fill(
        { ...header, broadcast: expired.broadcast, checksumValid: false, addressSum: 0 },
        first,
        { protocol: NextHeader.FRAGMENT, offset: IPV6_HEADER_LENGTH },
      );
      this.host.icmpv6.sendTimeExceeded(d, REASSEMBLY_TIME_EXCEEDED, now);
    });
  }

  nextDeadline(): number {
    return this.reassembly.nextDeadline();
  }

  private transmit(packet: Uint8Array, offload?: TransmitOffload): void {
    if (this.host.trace.enabled) this.host.trace.packet("out", packet);
    this.host.transmit(packet, offload);
  }

  /** A DF packet over the MTU that the device will cut into MTU-sized pieces (TSO). */
  private deviceSegments(send: Ipv6Send): boolean {
    return (
      send.dontFragment === true &&
      (send.offload?.segmentSize ?? 0) > 0 &&
      this.host.offload?.segmentation === true
    );
  }

  /** Walks the chain from `start` and acts on where it ends. */
  private continueChain(
    arrival: Arrival,
    packet: Uint8Array,
    start: ChainStart,
    now: number,
  ): void {
    const end = walkChain(packet, start);
    switch (end.kind) {
      case "upper":
        this.deliver(arrival, packet, end, now);
        return;
      case "fragment":
        this.inputFragment(arrival, packet, end, start, now);
        return;
      case "noNextHeader":
        // RFC 8200 §4.7: anything after No Next Header "must be ignored".
        this.host.stats.count("ipv6InNoNextHeaders");
        return;
      default:
        this.refuse(arrival, packet, end, now);
    }
  }

  /** A chain that ended in a drop, and maybe a Parameter Problem (RFC 8200 §4, §4.2). */
  private refuse(
    arrival: Arrival,
    packet: Uint8Array,
    end: Extract<ChainEnd, { kind: "drop" | "problem" }>,
    now: number,
  ): void {
    this.host.stats.drop(end.reason, end.detail);
    if (end.kind !== "problem") return;
    if (arrival.broadcast && !end.evenToMulticast) return;
    this.sendParameterProblem(arrival, packet, end, now);
  }

  /** RFC 4443 §3.4 about `packet`, whose upper layer is not known (ICMPv6 skips to it). */
  private sendParameterProblem(
    arrival: Arrival,
    packet: Uint8Array,
    problem: { readonly code: number; readonly pointer: number },
    now: number,
  ): void {
    const unknown = { protocol: 0, offset: packet.length };
    const d = new ReceivedIpv6Datagram().fill(arrival, packet, unknown);
    this.host.icmpv6.sendParameterProblem(d, problem.code, problem.pointer, now);
  }

  /**
   * A packet with a Fragment header at `end.offset` (RFC 8200 §4.5). An atomic fragment
   * (offset 0, M = 0) is processed on its own, never mixed with other fragments that
   * share its identification (RFC 6946 §4); the others go to reassembly.
   */
  private inputFragment(
    arrival: Arrival,
    packet: Uint8Array,
    end: Extract<ChainEnd, { kind: "fragment" }>,
    start: ChainStart,
    now: number,
  ): void {
    const { stats } = this.host;
    const fragment = parseFragmentHeader(packet, end.offset);
    const data = packet.subarray(end.offset + FRAGMENT_HEADER_LENGTH);
    const resume: ChainStart = {
      nextHeader: fragment.nextHeader,
      offset: end.offset + FRAGMENT_HEADER_LENGTH,
      nextHeaderAt: end.offset,
      headersSoFar: start.headersSoFar + 1,
    };
    if (fragment.fragmentOffset === 0 && !fragment.moreFragments) {
      stats.count("ipv6InAtomicFragments");
      this.continueChain(arrival, packet, resume, now);
      return;
    }
    const problem = whyNotQueueFragment(packet, {
      fragmentAt: end.offset,
      ...fragment,
      data,
      resume,
    });
    if (problem !== undefined) {
      stats.drop(problem.reason, problem.detail);
      if (!arrival.broadcast) this.sendParameterProblem(arrival, packet, problem, now);
      return;
    }
    stats.count("ipv6ReasmReqds");
    const result = this.reassembly.add(
      {
        source: arrival.source,
        destination: arrival.destination,
        identification: fragment.identification,
        fragmentOffset: fragment.fragmentOffset,
        moreFragments: fragment.moreFragments,
        nextHeader: fragment.nextHeader,
        unfragmentable: packet.subarray(0, end.offset),
        nextHeaderAt: end.nextHeaderAt,
        data,
        packet,
        broadcast: arrival.broadcast,
      },
      now,
    );
    if (result.kind === "failed") stats.drop("ipv6ReasmFails", result.detail);
    if (result.kind === "duplicate") stats.drop("ipv6InDiscards", "duplicate fragment");
    if (result.kind !== "complete") return;
    stats.count("ipv6ReasmOKs");
    // The reassembled packet goes on from where its Fragment header was (§4.5); a packet
    // of its own, so the checksum is summed again and the addresses are its own.
    const whole = result.packet;
    this.continueChain(
      { ...arrival, checksumValid: false, addressSum: packetAddressSum(whole) },
      whole,
      {
        nextHeader: result.nextHeader,
        offset: result.resumeAt,
        nextHeaderAt: result.nextHeaderAt,
        headersSoFar: resume.headersSoFar,
      },
      now,
    );
  }

  /** Demultiplexes by the upper-layer protocol (RFC 8200 §4) to ICMPv6, UDP or TCP. */
  private deliver(
    arrival: Arrival,
    packet: Uint8Array,
    upper: { readonly protocol: number; readonly offset: number },
    now: number,
  ): void {
    // Our own datagram unless this packet came in while another was being processed.
    const d = (arrival === this.rxArrival ? this.rxDatagram : new ReceivedIpv6Datagram()).fill(
      arrival,
      packet,
      upper,
    );
    const { stats, icmpv6, udp, tcp } = this.host;
    stats.count("ipv6InDelivers");
    if (upper.protocol === NextHeader.TCP) tcp.input(d, now);
    else if (upper.protocol === NextHeader.UDP) udp.input(d, now);
    else icmpv6.input(d, now); // walkChain ends "upper" only for these three.
  }
}
