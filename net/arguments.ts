/**
 * The many call shapes of `connect` and `listen`, reduced to one options object, as
 * Node's `normalizeArgs` does, with Node's argument errors (ERR_SOCKET_BAD_PORT, ...).
 *
 *   connect(options[, cb])            listen(options[, cb])
 *   connect(port[, host][, cb])       listen([port[, host[, backlog]]][, cb])
 *   connect(path[, cb])  (a Unix socket: not on this stack)
 */
import { argumentError } from "./errors.ts";

// biome-ignore lint/suspicious/noExplicitAny: a listener of any event
type Callback = (...args: any[]) => void;

export interface ConnectOptions {
  port?: number | string;
  host?: string;
  /** A Unix socket path: not a TCP connection, refused by this stack. */
  path?: string;
  localAddress?: string;
  localPort?: number;
  /** Resolves `host` when it is a name (default: `dns.lookup` with family 4). */
  lookup?: (
    hostname: string,
    options: { family: number },
    callback: (error: Error | null, address: string, family: number) => void,
  ) => void;
  /** Calls `setTimeout(timeout)` on the socket before connecting. */
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  [other: string]: unknown;
}

export interface ListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  path?: string;
  exclusive?: boolean;
  ipv6Only?: boolean;
  signal?: AbortSignal;
}

/** Node's validatePort: a whole number (or numeric string) from 0 to 65535. */
export function checkPort(port: unknown, name: string, allowZero = true): number {
  const number = typeof port === "string" && port.trim() !== "" ? Number(port) : port;
  if (
    typeof number !== "number" ||
    !Number.isInteger(number) ||
    number < 0 ||
    number > 65535 ||
    (number === 0 && !allowZero)
  ) {
    throw argumentError(
      "RangeError",
      "ERR_SOCKET_BAD_PORT",
      `${name} should be >= ${allowZero ? 0 : 1} and < 65536. Received ${String(port)}.`,
    );
  }
  return number;
}

export function normalizeConnectArgs(args: readonly unknown[]): [ConnectOptions, Callback?] {
  const last = args[args.length - 1];
  const callback = typeof last === "function" ? (last as Callback) : undefined;
  const first = args[0];
  if (first !== null && typeof first === "object")
    return [{ ...first } as ConnectOptions, callback];
  if (typeof first === "string" && !/^[0-9]+$/.test(first)) return [{ path: first }, callback];
  const options: ConnectOptions = { port: first as number | string };
  if (typeof args[1] === "string") options.host = args[1];
  return [options, callback];
}

export function normalizeListenArgs(args: readonly unknown[]): [ListenOptions, Callback?] {
  const last = args[args.length - 1];
  const callback = typeof last === "function" ? (last as Callback) : undefined;
  const values = callback === undefined ? args : args.slice(0, -1);
  const first = values[0];
  if (first !== null && typeof first === "object") return [{ ...first } as ListenOptions, callback];
  if (typeof first === "string" && !/^[0-9]+$/.test(first)) return [{ path: first }, callback];
  const options: ListenOptions = {};
  if (first !== undefined && first !== null) options.port = first as number | string;
  if (typeof values[1] === "string") options.host = values[1];
  const backlog = typeof values[1] === "number" ? values[1] : values[2];
  if (typeof backlog === "number") options.backlog = backlog;
  return [options, callback];
}
