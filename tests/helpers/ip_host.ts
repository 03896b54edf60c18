/**
 * A host made of the real IPv4, ICMP and UDP layers with a recording stand-in for TCP,
 * for testing those layers without the whole `Stack` (and without TCP). Whatever the
 * host transmits is kept (copied) in `sent`.
 */
import { Icmp } from "../../stack/icmp/icmp.ts";
import type { TokenBucketConfig } from "../../stack/icmp/rate_limit.ts";
import type { IcmpErrorReport, Ipv4Datagram } from "../../stack/ipv4/datagram.ts";
import { Ipv4 } from "../../stack/ipv4/ipv4.ts";
import type { ReassemblyLimits } from "../../stack/ipv4/reassembly.ts";
import { ipv4Network } from "../../stack/network.ts";
import { Random } from "../../stack/random.ts";
import { Stats } from "../../stack/stats.ts";
import { NO_TRACE, type Trace } from "../../stack/trace.ts";
import { Udp, type UdpHost } from "../../stack/udp/udp.ts";
import { HOST, PREFIX_LENGTH } from "./packets.ts";

export interface TcpStandIn {
  /** Datagrams IPv4 delivered to TCP (payload copied). */
  readonly inputs: { source: number; destination: number; payload: Uint8Array }[];
  readonly icmpErrors: IcmpErrorReport[];
  input(d: Ipv4Datagram, now: number): void;
  icmpError(report: IcmpErrorReport, now: number): void;
}

export interface IpHost {
  readonly address: number;
  readonly prefixLength: number;
  readonly mtu: number;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly ipv4: Ipv4;
  readonly icmp: Icmp;
  readonly udp: Udp;
  readonly tcp: TcpStandIn;
  readonly sent: Uint8Array[];
  transmit: (packet: Uint8Array) => void;
  receive(packet: Uint8Array, now: number): void;
}

export interface IpHostOptions {
  address?: number;
  prefixLength?: number;
  mtu?: number;
  seed?: number;
  trace?: Trace;
  reassembly?: Partial<ReassemblyLimits>;
  icmpRateLimit?: TokenBucketConfig;
}

export function ipHost(options: IpHostOptions = {}): IpHost {
  const trace = options.trace ?? NO_TRACE;
  const sent: Uint8Array[] = [];
  const tcp: TcpStandIn = {
    inputs: [],
    icmpErrors: [],
    input(d) {
      this.inputs.push({
        source: d.source,
        destination: d.destination,
        payload: d.payload.slice(),
      });
    },
    icmpError(report) {
      this.icmpErrors.push(report);
    },
  };
  const host = {
    address: options.address ?? HOST,
    prefixLength: options.prefixLength ?? PREFIX_LENGTH,
    mtu: options.mtu ?? 1500,
    random: new Random(options.seed ?? 1),
    trace,
    stats: new Stats(trace),
    tcp,
    sent,
    transmit: (packet: Uint8Array) => {
      sent.push(packet.slice());
    },
    receive(packet: Uint8Array, now: number) {
      host.ipv4.input(packet, now);
    },
  } as unknown as IpHost & { ipv4: Ipv4; icmp: Icmp; udp: Udp };
  const ipv4 = new Ipv4(host, options.reassembly);
  const inet = ipv4Network(ipv4, host);
  Object.assign(host, {
    ipv4,
    networkFor: () => inet,
    icmpv6: { sendDestinationUnreachable: () => {} },
    icmp: new Icmp(host, options.icmpRateLimit),
    udp: new Udp(host as unknown as UdpHost),
  });
  return host;
}
