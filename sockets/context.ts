/**
 * What every socket needs from its surroundings (the stack, the clock, the driver's
 * kick, the port tables), and the claiming of a local address and port, shared by TCP
 * and UDP: `claimPort` for bind(), `claimConnectEndpoint` for connect().
 */
import type { Clock } from "../stack/clock.ts";
import { UNSPECIFIED_IPV6 } from "../stack/ipv6/address.ts";
import { formatAddress, formatEndpoint, type IpAddress, isAnyAddress } from "../stack/network.ts";
import type { TcpConnectionOptions } from "../stack/tcp/connection.ts";
import { SocketError } from "./errors.ts";
import type { SocketStack } from "./layers.ts";
import { type Binding, ephemeralPort, type PortTable } from "./ports.ts";

export interface SocketContext {
  readonly stack: SocketStack;
  readonly clock: Clock;
  /** Makes the driver poll the stack soon (coalesced) and re-arm its timer. */
  readonly kick: () => void;
  readonly tcpPorts: PortTable;
  readonly udpPorts: PortTable;
  /** The stack's per-connection defaults (buffer sizes, Nagle, keep-alive). */
  readonly tcpDefaults: () => TcpConnectionOptions;
}

/** An address and port as people write them, for messages: "10.0.0.1:9", "[fd00::1]:9". */
export { formatEndpoint } from "../stack/network.ts";

/**
 * bind() accepts the family's wildcard (0.0.0.0, ::) or one of the stack's own
 * addresses; anything else is not ours (EADDRNOTAVAIL, as Linux).
 */
export function checkLocalAddress(
  context: SocketContext,
  address: IpAddress,
  syscall: string,
): void {
  if (isAnyAddress(address)) return;
  const { stack } = context;
  const ours = typeof address === "number" ? stack.address : stack.address6;
  if (address === ours && ours !== UNSPECIFIED_IPV6) return;
  const have = ours === undefined || ours === UNSPECIFIED_IPV6 ? "none" : formatAddress(ours);
  throw new SocketError(
    "EADDRNOTAVAIL",
    syscall,
    `${formatAddress(address)} is not an address of this stack (${have})`,
  );
}

/**
 * bind(): checks that the address is ours, picks an ephemeral port for port 0, refuses
 * a clash (EADDRINUSE), and records the binding in `table`.
 */
export function claimPort(
  context: SocketContext,
  table: PortTable,
  request: {
    address: IpAddress;
    port: number;
    reuseAddress: boolean;
    syscall: string;
    v6Only?: boolean;
  },
): Binding {
  const { address, port, reuseAddress, syscall } = request;
  const v6Only = request.v6Only === true && address === UNSPECIFIED_IPV6;
  checkLocalAddress(context, address, syscall);
  const name = table.protocol.toUpperCase();
  const chosen = port === 0 ? table.chooseEphemeral(address, context.stack.random, v6Only) : port;
  if (chosen === undefined) {
    throw new SocketError("EADDRINUSE", syscall, `no ephemeral ${name} port is free`);
  }
  if (table.conflicts(address, chosen, reuseAddress, v6Only)) {
    const detail = `${name} ${formatEndpoint(address, chosen)} is already in use`;
    throw new SocketError("EADDRINUSE", syscall, detail);
  }
  const binding = { address, port: chosen, reuseAddress, listening: false, v6Only };
  table.add(binding);
  return binding;
}

/**
 * connect(): the local side of a new TCP connection: the bound port, or (like Linux's
 * autobind) an ephemeral one, claimed here; the address is the stack's own in the
 * peer's family when the socket is bound to a wildcard. The four-tuple must be new
 * (RFC 9293 §3.4: it names the connection).
 */
export function claimConnectEndpoint(
  context: SocketContext,
  bound: Binding | undefined,
  request: {
    remote: { address: IpAddress; port: number };
    reuseAddress: boolean;
    /** The socket's family wildcard, for the autobound port. */
    any: IpAddress;
  },
): { local: { address: IpAddress; port: number }; binding: Binding } {
  const { stack, tcpPorts } = context;
  const { address, port } = request.remote;
  const bindAddress = bound?.address ?? request.any;
  const localAddress = isAnyAddress(bindAddress) ? localAddressFor(context, address) : bindAddress;
  if (typeof localAddress !== typeof address) {
    const detail = `bound to ${formatAddress(localAddress)}, which cannot reach ${formatAddress(address)}`;
    throw new SocketError("ENETUNREACH", "connect", detail);
  }
  const fresh = (p: number) => !stack.tcp.fourTupleInUse(localAddress, p, address, port);
  if (bound !== undefined) {
    if (!fresh(bound.port)) {
      const tuple = `${formatEndpoint(localAddress, bound.port)} → ${formatEndpoint(address, port)}`;
      throw new SocketError("EADDRNOTAVAIL", "connect", `a connection ${tuple} already exists`);
    }
    return { local: { address: localAddress, port: bound.port }, binding: bound };
  }
  // RFC 6056 §2.3: what must be unused on this system is the connection's instance-id
  // (the four-tuple), so a port whose old connection with another peer waits in
  // TIME-WAIT may serve a new one, as in Linux. The same over IPv6 (RFC 6056 §1).
  const suitable = (p: number) => !tcpPorts.socketConflicts(localAddress, p, false) && fresh(p);
  const chosen = ephemeralPort(stack.random, suitable);
  if (chosen === undefined) {
    throw new SocketError("EADDRNOTAVAIL", "connect", "no ephemeral TCP port is free");
  }
  const binding = {
    address: request.any,
    port: chosen,
    reuseAddress: request.reuseAddress,
    listening: false,
  };
  tcpPorts.add(binding);
  return { local: { address: localAddress, port: chosen }, binding };
}

/**
 * The stack's own address in the family of `remote` (the source a wildcard-bound socket
 * uses); EADDRNOTAVAIL for an IPv6 peer when the stack has IPv6 off.
 */
export function localAddressFor(context: SocketContext, remote: IpAddress): IpAddress {
  const { stack } = context;
  if (typeof remote === "number") return stack.address;
  if (stack.address6 === undefined || stack.address6 === UNSPECIFIED_IPV6) {
    throw new SocketError(
      "ENETUNREACH",
      "connect",
      `IPv6 is off in this stack: ${remote} cannot be reached`,
    );
  }
  return stack.address6;
}
