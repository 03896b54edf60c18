/**
 * The network layer as TCP and UDP see it: one interface, two families. Keep one TCP
 * and one UDP: the IP below them is a parameter of each connection and endpoint, not a
 * second copy of them (gVisor's `stack.Route`, smoltcp's `IpRepr`).
 *
 * An address is an `IpAddress`: a u32 number for IPv4 (address.ts) or the canonical
 * RFC 5952 text of an IPv6 address (ipv6/address.ts). `typeof address === "number"`
 * is the family test: no object, no allocation on the IPv4 path.
 *
 * What differs between the families, and nothing else, is behind `NetworkLayer`:
 *  - the header the transport leaves room for (20 octets, RFC 791; 40, RFC 8200 §3);
 *  - the pseudo-header summed into the transport checksum (RFC 9293 §3.1; RFC 8200 §8.1);
 *  - the MTU toward a destination: the link MTU for IPv4, the path MTU for IPv6
 *    (RFC 8201: Packet Too Big lowers it per destination), from which TCP's MSS follows;
 *  - output: IPv4 with DF for TCP (RFC 1191); IPv6, where only the source fragments.
 */
import { formatIpv4 } from "./address.ts";
import { pseudoHeaderSum } from "./checksum.ts";
import type { IcmpErrorReport, Ipv4Send } from "./ipv4/datagram.ts";
import { IPV4_HEADER_LENGTH } from "./ipv4/header.ts";
import { type Ipv6Address, ipv6Bytes, UNSPECIFIED_IPV6 } from "./ipv6/address.ts";
import { ipv6AddressSum, ipv6PseudoHeaderSum } from "./ipv6/checksum.ts";
import type { Icmpv6ErrorReport, Ipv6Send } from "./ipv6/datagram.ts";
import { IPV6_HEADER_LENGTH } from "./ipv6/header.ts";
import type { TransmitOffload } from "./offload.ts";

export type { Ipv6Address } from "./ipv6/address.ts";

/** An IPv4 address as a u32, or an IPv6 address as its canonical RFC 5952 text. */
export type IpAddress = number | Ipv6Address;

export type AddressFamily = "inet" | "inet6";

/** What a transport tells the network layer about one packet it sends. */
export interface NetworkSend {
  readonly source: IpAddress;
  readonly destination: IpAddress;
  /** IPv4 Protocol / IPv6 Next Header of the transport (IANA numbers, same in both). */
  readonly protocol: number;
  /** IPv4: the DF bit (TCP sets it for RFC 1191). IPv6 routers never fragment anyway. */
  readonly dontFragment?: boolean;
  /** IPv6: the flow's label (RFC 6437), when the transport keeps one per connection. */
  readonly flowLabel?: number;
  /** IPv4: Time to Live (IP_TTL); 64 when absent. */
  readonly ttl?: number;
  /** IPv4: the Type of Service (DSCP/ECN) octet (IP_TOS); 0 when absent. */
  readonly typeOfService?: number;
  readonly offload?: TransmitOffload;
}

/** One family's network layer, as a transport uses it. */
export interface NetworkLayer {
  readonly family: AddressFamily;
  /** Octets of headroom a transport leaves in front of its header for this layer's. */
  readonly headerLength: number;
  /** This host's address in the family (the source of an unbound socket's packets). */
  readonly address: IpAddress;
  /** The wildcard of the family: 0.0.0.0 or ::. */
  readonly any: IpAddress;
  /** Sends `packet`, which starts with `headerLength` octets of headroom. */
  output(packet: Uint8Array, send: NetworkSend): void;
  /** The unfolded pseudo-header sum for the transport checksum. */
  pseudoHeaderSum(
    source: IpAddress,
    destination: IpAddress,
    protocol: number,
    length: number,
  ): number;
  /** The largest packet toward `destination`: link MTU (IPv4), path MTU (IPv6, RFC 8201). */
  mtuTo(destination: IpAddress): number;
}

/** TCP's MSS toward a destination: the MTU less the IP and TCP fixed headers (RFC 9293 §3.7.1). */
export function mssTo(net: NetworkLayer, destination: IpAddress): number {
  return net.mtuTo(destination) - net.headerLength - 20;
}

export function isIpv6(address: IpAddress): address is Ipv6Address {
  return typeof address === "string";
}

/** A wildcard of either family ("any local address" in bind()). */
export function isAnyAddress(address: IpAddress): boolean {
  return address === 0 || address === "::";
}

/** Addresses for people: dotted quad or RFC 5952 text (already canonical). */
export function formatAddress(address: IpAddress): string {
  return typeof address === "number" ? formatIpv4(address) : address;
}

/** "10.0.0.1:80" or "[fd00::1]:80" (RFC 5952 §6: brackets around an IPv6 address with a port). */
export function formatEndpoint(address: IpAddress, port: number): string {
  return typeof address === "number" ? `${formatIpv4(address)}:${port}` : `[${address}]:${port}`;
}

/**
 * An endpoint (address, port) as one Map key: a 48-bit number for IPv4 (exact in a
 * double, nothing allocated), a string for IPv6 ("fd00::1]80", unambiguous: ']' is not
 * in the text of an address).
 */
export function endpointKey(address: IpAddress, port: number): number | string {
  return typeof address === "number" ? address * 65536 + port : `${address}]${port}`;
}

/**
 * The address as 32-bit words, most significant first: one for IPv4, four for IPv6
 * (RFC 6528's F hashes the whole 128-bit address).
 */
export function addressWords(address: IpAddress): number[] {
  if (typeof address === "number") return [address >>> 0];
  const b = ipv6Bytes(address);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 4) {
    words.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  }
  return words;
}

/**
 * The pseudo-header sum for either family (both addresses are of one family): RFC 9293
 * §3.1 / RFC 768 for IPv4, RFC 8200 §8.1 for IPv6. Unfolded; pass it as `initial`.
 */
export function pseudoHeaderSumOf(
  source: IpAddress,
  destination: IpAddress,
  protocol: number,
  length: number,
): number {
  if (typeof source === "number" && typeof destination === "number") {
    return pseudoHeaderSum(source, destination, protocol, length);
  }
  // A connection sums the same two addresses for every segment: the last pair's sum is
  // kept (the strings are the same objects, so the test is cheap).
  if (source !== lastSource || destination !== lastDestination) {
    lastSource = source as Ipv6Address;
    lastDestination = destination as Ipv6Address;
    lastAddressSum = ipv6AddressSum(lastSource, lastDestination);
  }
  return lastAddressSum + (length >>> 16) + (length & 0xffff) + protocol;
}

let lastSource: Ipv6Address | undefined;
let lastDestination: Ipv6Address | undefined;
let lastAddressSum = 0;

/** An ICMP (IPv4) or ICMPv6 error about a packet we sent, as the transports receive it. */
export type IpErrorReport = IcmpErrorReport | Icmpv6ErrorReport;

/**
 * What a network layer hands up to a transport (IPv4's `Ipv4Datagram` is one): the
 * addresses, the transport protocol, the hop limit, the header bytes ICMP errors quote,
 * and the transport bytes, valid only during input.
 */
export interface IpDatagram {
  readonly source: IpAddress;
  readonly destination: IpAddress;
  /** IPv4 Protocol / the IPv6 Next Header of the upper layer. */
  readonly protocol: number;
  /** IPv4 TTL / IPv6 Hop Limit. */
  readonly ttl: number;
  readonly header: Uint8Array;
  readonly payload: Uint8Array;
  /** IPv4 broadcast or multicast / IPv6 multicast destination: not ours alone. */
  readonly broadcast: boolean;
  /** The device vouches for the transport checksum (see `Ipv4Datagram`). */
  readonly checksumValid?: boolean;
  /** IPv6: the two addresses' 16-bit words summed, for the pseudo-header (`Ipv6Datagram`). */
  readonly addressSum?: number;
}

// ---- The two network layers behind the interface ----

/** What `ipv4Network` needs of the IPv4 layer (ipv4/ipv4.ts). */
interface Ipv4Output {
  output(packet: Uint8Array, send: Ipv4Send): void;
}

/** IPv4 (RFC 791) as a transport's network layer: the link MTU toward everyone. */
export function ipv4Network(
  ipv4: Ipv4Output,
  host: { address: number; mtu: number },
): NetworkLayer {
  return {
    family: "inet",
    headerLength: IPV4_HEADER_LENGTH,
    address: host.address,
    any: 0,
    output: (packet, send) => ipv4.output(packet, send as Ipv4Send),
    pseudoHeaderSum: (source, destination, protocol, length) =>
      pseudoHeaderSum(source as number, destination as number, protocol, length),
    // No path MTU cache for IPv4: TCP lowers its MSS on "fragmentation needed" itself.
    mtuTo: () => host.mtu,
  };
}

/** What `ipv6Network` needs of the IPv6 layer (ipv6/ipv6.ts). */
interface Ipv6Output {
  output(packet: Uint8Array, send: Ipv6Send): void;
  pathMtu(destination: Ipv6Address): number;
}

/** IPv6 (RFC 8200) as a transport's network layer: the path MTU per destination (RFC 8201). */
export function ipv6Network(ipv6: Ipv6Output, host: { address6: Ipv6Address }): NetworkLayer {
  return {
    family: "inet6",
    headerLength: IPV6_HEADER_LENGTH,
    get address() {
      return host.address6;
    },
    any: UNSPECIFIED_IPV6,
    output: (packet, send) => ipv6.output(packet, send as Ipv6Send),
    pseudoHeaderSum: (source, destination, protocol, length) =>
      ipv6PseudoHeaderSum(source as Ipv6Address, destination as Ipv6Address, protocol, length),
    mtuTo: (destination) => ipv6.pathMtu(destination as Ipv6Address),
  };
}
