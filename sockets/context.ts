/**
 * What every socket needs from its surroundings: the stack, the clock, the driver's
 * kick, the port tables, and checks on addresses shared by TCP and UDP.
 */
import { formatIpv4 } from "../stack/address.ts";
import type { Clock } from "../stack/clock.ts";
import type { TcpConnectionOptions } from "../stack/tcp/connection.ts";
import { SocketError } from "./errors.ts";
import type { SocketStack } from "./layers.ts";
import type { PortTable } from "./ports.ts";

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
