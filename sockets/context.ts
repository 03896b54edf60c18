/**
 * What every socket needs from its surroundings (the stack, the clock, the driver's
 * kick, the port tables), and the claiming of a local address and port, shared by TCP
 * and UDP: `claimPort` for bind(), `claimConnectEndpoint` for connect().
 */
import { ANY_ADDRESS, formatIpv4 } from "../stack/address.ts";
import type { Clock } from "../stack/clock.ts";
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

/** An address and port as people write them, for messages: "10.0.0.1:9". */
export function formatEndpoint(address: number, port: number): string {
  return `${formatIpv4(address)}:${port}`;
}

/** bind() accepts 0.0.0.0 (any) or the stack's own address; anything else is not ours. */
export function checkLocalAddress(context: SocketContext, address: number, syscall: string): void {
  if (address !== 0 && address !== context.stack.address) {
    throw new SocketError(
      "EADDRNOTAVAIL",
      syscall,
      `${formatIpv4(address)} is not an address of this stack (${formatIpv4(context.stack.address)})`,
    );
  }
}

/**
 * bind(): checks that the address is ours, picks an ephemeral port for port 0, refuses
 * a clash (EADDRINUSE), and records the binding in `table`.
 */
export function claimPort(
  context: SocketContext,
  table: PortTable,
  request: { address: number; port: number; reuseAddress: boolean; syscall: string },
): Binding {
  const { address, port, reuseAddress, syscall } = request;
  checkLocalAddress(context, address, syscall);
  const name = table.protocol.toUpperCase();
  const chosen = port === 0 ? table.chooseEphemeral(address, context.stack.random) : port;
  if (chosen === undefined) {
    throw new SocketError("EADDRINUSE", syscall, `no ephemeral ${name} port is free`);
  }
  if (table.conflicts(address, chosen, reuseAddress)) {
    const detail = `${name} ${formatEndpoint(address, chosen)} is already in use`;
    throw new SocketError("EADDRINUSE", syscall, detail);
  }
  const binding = { address, port: chosen, reuseAddress, listening: false };
  table.add(binding);
  return binding;
}

/**
 * connect(): the local side of a new TCP connection: the bound port, or (like Linux's
 * autobind) an ephemeral one, claimed here; the address is the stack's own when the
 * socket is bound to 0.0.0.0. The four-tuple must be new (RFC 9293 §3.4: it names the
 * connection).
 */
export function claimConnectEndpoint(
  context: SocketContext,
  bound: Binding | undefined,
  request: { remote: { address: number; port: number }; reuseAddress: boolean },
): { local: { address: number; port: number }; binding: Binding } {
  const { stack, tcpPorts } = context;
  const { address, port } = request.remote;
  const bindAddress = bound?.address ?? ANY_ADDRESS;
  const localAddress = bindAddress === ANY_ADDRESS ? stack.address : bindAddress;
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
  // TIME-WAIT may serve a new one, as in Linux.
  const suitable = (p: number) => !tcpPorts.socketConflicts(localAddress, p, false) && fresh(p);
  const chosen = ephemeralPort(stack.random, suitable);
  if (chosen === undefined) {
    throw new SocketError("EADDRNOTAVAIL", "connect", "no ephemeral TCP port is free");
  }
  const binding = {
    address: ANY_ADDRESS,
    port: chosen,
    reuseAddress: request.reuseAddress,
    listening: false,
  };
  tcpPorts.add(binding);
  return { local: { address: localAddress, port: chosen }, binding };
}
