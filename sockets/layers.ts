/**
 * The parts of the stack the socket layer uses, as narrow structural types.
 *
 * `Stack` (stack/stack.ts) satisfies `SocketStack`; tests can pass small fakes of just
 * these methods. The layer methods themselves are the contracts in
 * `stack/tcp/connection.ts` and `stack/udp/endpoint.ts`.
 */
import type { Random } from "../stack/random.ts";
import type { TcpConnection, TcpConnectionOptions, TcpListener } from "../stack/tcp/connection.ts";
import type { UdpEndpoint } from "../stack/udp/endpoint.ts";

/** A bound UDP endpoint as `stack.udp.bind` returns it (the class in stack/udp/). */
export interface BoundUdpEndpoint extends UdpEndpoint {
  connect(remoteAddress: number, remotePort: number): void;
  sendTo(
    data: Uint8Array,
    address: number,
    port: number,
    now: number,
  ): "EMSGSIZE" | "EHOSTUNREACH" | undefined;
  close(): void;
}

export interface UdpLayer {
  bind(address: number, port: number, options?: { receiveQueueBytes?: number }): BoundUdpEndpoint;
  portInUse(address: number, port: number): boolean;
}

export interface TcpLayer {
  /** The stack's TCP configuration, where the per-connection defaults come from. */
  readonly config?: { receiveBufferBytes: number; sendBufferBytes: number; congestion: string };
  listen(localAddress: number, localPort: number, backlog: number): TcpListener;
  /** IP_TRANSPARENT listen: every connection a forwarder accepts (stack/forwarding.ts). */
  listenTransparent?(backlog: number): TcpListener;
  connect(
    local: { address: number; port: number },
    remote: { address: number; port: number },
    options: TcpConnectionOptions,
    now: number,
  ): TcpConnection;
  portInUse(address: number, port: number): boolean;
  fourTupleInUse(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
  ): boolean;
}

/** What `createSocketApi` needs from a `Stack`. */
export interface SocketStack {
  readonly address: number;
  /** The stack's prefix length, for its subnet's broadcast address (absent: /32). */
  readonly prefixLength?: number;
  readonly random: Random;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
}
