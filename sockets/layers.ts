/**
 * The parts of the stack the socket layer uses, as narrow structural types.
 *
 * `Stack` (stack/stack.ts) satisfies `SocketStack`; tests can pass small fakes of just
 * these methods. The layer methods themselves are the contracts in
 * `stack/tcp/connection.ts` and `stack/udp/endpoint.ts`.
 */
import type { Ipv6Address } from "../stack/ipv6/address.ts";
import type { IpAddress } from "../stack/network.ts";
import type { Random } from "../stack/random.ts";
import type { TcpConnection, TcpConnectionOptions, TcpListener } from "../stack/tcp/connection.ts";
import type { UdpEndpoint } from "../stack/udp/endpoint.ts";

/** A bound UDP endpoint as `stack.udp.bind` returns it (the class in stack/udp/). */
export interface BoundUdpEndpoint extends UdpEndpoint {
  connect(remoteAddress: IpAddress, remotePort: number): void;
  sendTo(
    data: Uint8Array,
    address: IpAddress,
    port: number,
    now: number,
  ): "EMSGSIZE" | "EHOSTUNREACH" | undefined;
  close(): void;
}

export interface UdpLayer {
  bind(
    address: IpAddress,
    port: number,
    options?: { receiveQueueBytes?: number; v6Only?: boolean },
  ): BoundUdpEndpoint;
  portInUse(address: IpAddress, port: number): boolean;
}

export interface TcpLayer {
  /** The stack's TCP configuration, where the per-connection defaults come from. */
  readonly config?: { receiveBufferBytes: number; sendBufferBytes: number; congestion: string };
  /** `v6Only`: a listener on :: that takes no IPv4 connections (IPV6_V6ONLY). */
  listen(
    localAddress: IpAddress,
    localPort: number,
    backlog: number,
    options?: TcpConnectionOptions,
    v6Only?: boolean,
  ): TcpListener;
  /** IP_TRANSPARENT listen: every connection a forwarder accepts (stack/forwarding.ts). */
  listenTransparent?(backlog: number): TcpListener;
  connect(
    local: { address: IpAddress; port: number },
    remote: { address: IpAddress; port: number },
    options: TcpConnectionOptions,
    now: number,
  ): TcpConnection;
  portInUse(address: IpAddress, port: number, v6Only?: boolean): boolean;
  fourTupleInUse(
    localAddress: IpAddress,
    localPort: number,
    remoteAddress: IpAddress,
    remotePort: number,
  ): boolean;
}

/** What `createSocketApi` needs from a `Stack`. */
export interface SocketStack {
  readonly address: number;
  /** The stack's IPv6 address; absent or :: when IPv6 is off (inet6 sockets still open). */
  readonly address6?: Ipv6Address;
  /** The stack's prefix length, for its subnet's broadcast address (absent: /32). */
  readonly prefixLength?: number;
  readonly random: Random;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
}
