/**
 * The IPv4 layer of a host (RFC 791, RFC 1122 §3): input checks a packet, reassembles
 * fragments and hands the datagram to ICMP, UDP or TCP; output writes the header into
 * the headroom the transport left, fragments if the link MTU demands it, and transmits.
 *
 * A host does not forward: a datagram for another address is dropped, never answered.
 * There is no routing table either: everything goes out the one link, and the kernel on
 * the other side of the TUN device routes it. Read `header.ts` first, then this file,
 * then `reassembly.ts`.
 */
import { isMulticast, LIMITED_BROADCAST, netmask } from "../address.ts";
import { ADMINISTRATIVELY_PROHIBITED, type Forwarder } from "../forwarding.ts";
import type { Offload, TransmitOffload } from "../offload.ts";
import { Random } from "../random.ts";
import type { Stats } from "../stats.ts";
import type { Trace } from "../trace.ts";
import { IpProtocol, type Ipv4Datagram, type Ipv4Send, ReceivedDatagram } from "./datagram.ts";
import { fragmentAndSend } from "./fragmentation.ts";
import {
  DESTINATION_ADDRESS,
  emitIpv4Header,
  emptyIpv4Header,
  IPV4_MAX_DATAGRAM,
  type Ipv4Header,
  isParseFailure,
  PROTOCOL,
  parseIpv4Header,
  SOURCE_ADDRESS,
  TIME_TO_LIVE,
  viewOf,
} from "./header.ts";
import { IdentificationTable } from "./identification.ts";
import { Reassembly, type ReassemblyLimits } from "./reassembly.ts";

export { IPV4_HEADER_LENGTH } from "./header.ts";

/** RFC 1112 §4: the all-hosts group, which every multicast-capable host is a member of. */
const ALL_HOSTS_GROUP = 0xe0000001;
/** RFC 791 §3.2: "Every internet module must be able to forward a datagram of 68 octets". */
const MINIMUM_MTU = 68;
/** RFC 1122 §3.2.2.4 (ICMP Time Exceeded), code 1: fragment reassembly time exceeded. */
const REASSEMBLY_TIME_EXCEEDED = 1;

/** What the IPv4 layer needs from the stack around it (the `Stack` provides all of it). */
export interface Ipv4Host {
  readonly address: number;
  readonly prefixLength: number;
  readonly mtu: number;
  /** What the device finishes for us; none when absent. */
  readonly offload?: Offload;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly transmit: (packet: Uint8Array, offload?: TransmitOffload) => void;
  readonly icmp: {
    input(d: Ipv4Datagram, now: number): void;
    sendDestinationUnreachable(d: Ipv4Datagram, code: number, now: number): void;
    sendTimeExceeded(d: Ipv4Datagram, code: number, now: number): void;
  };
  readonly udp: { input(d: Ipv4Datagram, now: number): void };
  readonly tcp: { input(d: Ipv4Datagram, now: number): void };
  /** A gateway's forwarder (forwarding.ts): takes in datagrams for the addresses it claims. */
  readonly forwarder?: Pick<Forwarder, "claims">;
}

export class Ipv4 {
  readonly reassembly: Reassembly;
  private readonly identification: IdentificationTable;
  /**
   * The parsed header and the datagram handed up, one of each reused for every packet
   * (valid during delivery, as the packet's bytes are): no objects per packet. A packet
   * that arrives while another is still being delivered (a test harness that loops a
   * reply straight back) gets fresh ones, so the outer one is not overwritten.
   */
  private readonly rxHeader = emptyIpv4Header();
  private readonly rxDatagram = new ReceivedDatagram();
  private delivering = false;
  /** The fields of the header being written, likewise reused (read before transmit). */
  private readonly txHeader = {
    totalLength: 0,
    identification: 0,
    dontFragment: false,
    ttl: undefined as number | undefined,
    protocol: 0,
    source: 0,
    destination: 0,
    options: undefined as Uint8Array | undefined,
  };

  constructor(
    private readonly host: Ipv4Host,
    reassemblyLimits: Partial<ReassemblyLimits> = {},
  ) {
    if (host.mtu < MINIMUM_MTU) throw new Error(`IPv4 MTU ${host.mtu} is below ${MINIMUM_MTU}`);
    this.reassembly = new Reassembly(host.stats, reassemblyLimits);
    // See identification.ts for why a table. Seeded from one draw of the stack's Random,
    // so tests replay and the draws the other layers see (TCP's ISN key) do not shift.
    this.identification = new IdentificationTable(new Random(host.random.nextUint32()));
  }

  /**
   * A packet from the link. Never throws: whatever is wrong is dropped and counted.
   * `checksumValid`: the device vouches for the transport checksum (`Ipv4Datagram`).
   */
  input(packet: Uint8Array, now: number, checksumValid = false): void {
    const { stats, trace } = this.host;
    stats.count("ipInReceives");
    if (trace.enabled) trace.packet("in", packet);
    const nested = this.delivering;
    const header = parseIpv4Header(packet, nested ? emptyIpv4Header() : this.rxHeader);
    if (isParseFailure(header)) {
      stats.drop(header.reason, header.detail);
      return;
    }
    // Bytes past Total Length are link padding (RFC 791 §3.1: Total Length is authoritative).
    const datagram =
      packet.length === header.totalLength ? packet : packet.subarray(0, header.totalLength);
    const sourceProblem = this.checkSource(header.source);
    if (sourceProblem !== undefined) {
      stats.drop("ipInAddrErrors", sourceProblem);
      return;
    }
    const broadcast = this.isBroadcastFor(header.destination);
    if (
      !broadcast &&
      header.destination !== this.host.address &&
      this.host.forwarder?.claims(header.destination) !== true
    ) {
      // RFC 1122 §3.2.1.3: "A host MUST silently discard an incoming datagram that is
      // not destined for the host." (A host does not forward; nor does it answer.)
      stats.drop("ipInAddrErrors", "not addressed to this host");
      return;
    }
    // RFC 1122 §3.2.1.7: "A host MUST NOT discard a datagram just because it was received
    // with TTL less than 2", so TTL is not checked here.
    if (header.moreFragments || header.fragmentOffset !== 0) {
      this.inputFragment(header, datagram, broadcast, now);
      return;
    }
    const d = nested ? new ReceivedDatagram() : this.rxDatagram;
    d.fill(header, datagram, broadcast, checksumValid);
    this.delivering = true;
    try {
      this.deliver(d, now);
    } finally {
      this.delivering = nested;
    }
  }

  /**
   * Sends one datagram. `packet` starts with IPV4_HEADER_LENGTH bytes of headroom for
   * the header, followed by the transport bytes. The bytes are ours only during the call.
   */
  output(packet: Uint8Array, send: Ipv4Send): void {
    const { stats } = this.host;
    if (send.options !== undefined && packet.length > this.host.mtu) {
      // Record Route and Timestamp are not copied into fragments (RFC 791 §3.1, copied
      // flag 0); rather than carry them in the first fragment only, the reply leaves
      // without them.
      packet = packet.subarray(send.options.length);
      send = { ...send, options: undefined };
    }
    stats.count("ipOutRequests");
    if (packet.length > IPV4_MAX_DATAGRAM) {
      stats.drop("ipOutDiscards", "datagram over 65535");
      return;
    }
    const source = send.source === 0 ? this.host.address : send.source;
    const fields = this.txHeader;
    fields.totalLength = packet.length;
    fields.identification = this.identification.next(source, send.destination, send.protocol);
    fields.dontFragment = send.dontFragment ?? false;
    fields.ttl = send.ttl;
    fields.protocol = send.protocol;
    fields.source = source;
    fields.destination = send.destination;
    fields.options = send.options;
    if (packet.length <= this.host.mtu || this.deviceSegments(send)) {
      emitIpv4Header(packet, fields);
      this.transmit(packet, send.offload);
      return;
    }
    if (fields.dontFragment) {
      // RFC 791 §3.2: a datagram marked Don't Fragment is discarded rather than fragmented.
      stats.drop("ipOutFragFails", "DF set and larger than the MTU");
      return;
    }
    // A copy: each fragment's transmit may lead to another output, which reuses txHeader.
    fragmentAndSend(packet, { ...fields }, this.host.mtu, (fragment) => {
      stats.count("ipFragCreates");
      this.transmit(fragment);
    });
    stats.count("ipFragOKs");
  }

  /** Reassembly timeouts: discard and, if the first fragment came, report (RFC 792). */
  poll(now: number): void {
    this.reassembly.expire(now, (expired) => {
      const view = viewOf(expired.header);
      const d: Ipv4Datagram = {
        source: view.getUint32(SOURCE_ADDRESS),
        destination: view.getUint32(DESTINATION_ADDRESS),
        protocol: view.getUint8(PROTOCOL),
        ttl: view.getUint8(TIME_TO_LIVE),
        header: expired.header,
        payload: expired.firstData,
        broadcast: expired.broadcast,
      };
      this.host.icmp.sendTimeExceeded(d, REASSEMBLY_TIME_EXCEEDED, now);
    });
  }

  nextDeadline(): number {
    return this.reassembly.nextDeadline();
  }

  private transmit(packet: Uint8Array, offload?: TransmitOffload): void {
    if (this.host.trace.enabled) this.host.trace.packet("out", packet);
    this.host.transmit(packet, offload);
  }

  /**
   * A DF packet over the MTU that the device will cut into MTU-sized pieces (TSO,
   * `stack/offload.ts`): what reaches the wire still fits the MTU, so it may pass.
   */
  private deviceSegments(send: Ipv4Send): boolean {
    return (
      send.dontFragment === true &&
      (send.offload?.segmentSize ?? 0) > 0 &&
      this.host.offload?.segmentation === true
    );
  }

  /**
   * RFC 1122 §3.2.1.3: a host MUST silently discard a datagram whose source is a
   * broadcast or multicast address, and one from the loopback net arriving on a link
   * ("martians"). Our own address arriving from outside is a spoof or a loop. The zero
   * address stays allowed: a host that does not know its address yet (DHCP) sends it.
   */
  private checkSource(source: number): string | undefined {
    if (source === LIMITED_BROADCAST || isMulticast(source)) return "broadcast/multicast source";
    if (source >>> 24 === 127) return "loopback source on a link";
    if (source === this.host.address) return "our own address as source";
    if (this.isSubnetBroadcast(source)) return "subnet broadcast source";
    return undefined;
  }

  /**
   * Destinations that are for every host here (RFC 1122 §3.3.6): the limited broadcast,
   * our subnet's directed broadcast (and its obsolete all-zeros-host form), and the
   * all-hosts multicast group. Other multicast groups are not joined.
   */
  private isBroadcastFor(destination: number): boolean {
    return (
      destination === LIMITED_BROADCAST ||
      destination === ALL_HOSTS_GROUP ||
      this.isSubnetBroadcast(destination)
    );
  }

  private isSubnetBroadcast(address: number): boolean {
    const { prefixLength } = this.host;
    if (prefixLength >= 31) return false; // RFC 3021: a /31 or /32 has no broadcast.
    const mask = netmask(prefixLength);
    if ((address & mask) >>> 0 !== (this.host.address & mask) >>> 0) return false;
    const hostPart = (address & ~mask) >>> 0;
    return hostPart === ~mask >>> 0 || hostPart === 0;
  }

  private inputFragment(
    header: Ipv4Header,
    datagram: Uint8Array,
    broadcast: boolean,
    now: number,
  ): void {
    const { stats } = this.host;
    stats.count("ipReasmReqds");
    const result = this.reassembly.add(
      {
        source: header.source,
        destination: header.destination,
        protocol: header.protocol,
        identification: header.identification,
        fragmentOffset: header.fragmentOffset,
        moreFragments: header.moreFragments,
        broadcast,
        header: datagram.subarray(0, header.headerLength),
        payload: datagram.subarray(header.headerLength),
      },
      now,
    );
    if (result.kind === "failed") stats.drop("ipReasmFails", result.detail);
    if (result.kind !== "complete") return;
    stats.count("ipReasmOKs");
    const whole = parseIpv4Header(result.packet);
    if (isParseFailure(whole)) {
      stats.drop("ipReasmFails", whole.detail); // Unreachable: assemble() emits a valid header.
      return;
    }
    // A datagram of its own: reassembly is off the steady-state path.
    this.deliver(new ReceivedDatagram().fill(whole, result.packet, broadcast, false), now);
  }

  /** Demultiplexes by the Protocol field (RFC 791 §3.1) to the transport. */
  private deliver(d: Ipv4Datagram, now: number): void {
    const { stats, icmp, udp, tcp } = this.host;
    switch (d.protocol) {
      case IpProtocol.ICMP:
        if (!d.broadcast && d.destination !== this.host.address) {
          // A forwarded ICMP message (forwarding.ts): not relayed; refused as a filter would.
          stats.drop("ipForwardProhibited", "ICMP to a forwarded address");
          icmp.sendDestinationUnreachable(d, ADMINISTRATIVELY_PROHIBITED, now);
          return;
        }
        stats.count("ipInDelivers");
        icmp.input(d, now);
        return;
      case IpProtocol.UDP:
        stats.count("ipInDelivers");
        udp.input(d, now);
        return;
      case IpProtocol.TCP:
        stats.count("ipInDelivers");
        tcp.input(d, now);
        return;
      default:
        // RFC 1122 §3.2.2.1: a host SHOULD answer with Protocol Unreachable (code 2).
        stats.drop("ipInUnknownProtos", `protocol ${d.protocol}`);
        icmp.sendDestinationUnreachable(d, 2, now);
    }
  }
}
