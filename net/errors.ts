/**
 * Errors as `node:net` reports them, made from our SocketError (sockets/errors.ts).
 *
 * Libraries written for Node test `err.code` ("ECONNREFUSED") and sometimes `err.errno`
 * (negative, as libuv gives it: -111) and `err.syscall` ("connect", "read", "write",
 * "listen"); the message has Node's shape, "connect ECONNREFUSED 10.0.0.1:5432", so a log
 * line reads the same whichever stack carried the connection.
 */
import { constants } from "node:os";
import { SocketError } from "../sockets/errors.ts";

/** An Error with the fields Node's `net` errors carry (libuv's UVException). */
export interface NetError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** Node's name for each of our calls: recv is a "read", send a "write". */
const NODE_SYSCALL: Record<string, string> = {
  recv: "read",
  send: "write",
  accept: "accept",
  bind: "listen",
  listen: "listen",
  connect: "connect",
  shutdown: "shutdown",
};

/**
 * Converts what a socket call threw into Node's form; `where` names the peer or the
 * listening address for the message. Anything that is not a SocketError (a bug) passes
 * through unchanged.
 */
export function toNetError(
  error: unknown,
  syscall: string,
  where?: { address: string; port: number },
): unknown {
  if (!(error instanceof SocketError)) return error;
  const nodeSyscall = NODE_SYSCALL[error.syscall] ?? NODE_SYSCALL[syscall] ?? syscall;
  return netError(error.code, nodeSyscall, where, error.message);
}

/** A Node-style error for `code`; `detail` (our own sentence) is kept as `cause`. */
export function netError(
  code: string,
  syscall: string,
  where?: { address: string; port: number },
  detail?: string,
): NetError {
  const at = where === undefined ? "" : ` ${where.address}:${where.port}`;
  const error = new Error(`${syscall} ${code}${at}`) as NetError;
  error.code = code;
  error.errno = -(constants.errno[code as keyof typeof constants.errno] ?? 0);
  error.syscall = syscall;
  if (where !== undefined) {
    error.address = where.address;
    error.port = where.port;
  }
  if (detail !== undefined) error.cause = detail;
  return error;
}

/** Node's ERR_* errors for bad arguments (a TypeError or RangeError with a code). */
export function argumentError(
  kind: "Error" | "TypeError" | "RangeError",
  code: string,
  message: string,
): Error & { code: string } {
  const make = { Error, TypeError, RangeError }[kind];
  const error = new make(message) as Error & { code: string };
  error.code = code;
  return error;
}

/** Node's AbortError, for a socket destroyed by its `signal` option. */
export function abortError(reason: unknown): Error {
  const error = new Error("The operation was aborted", { cause: reason }) as Error & {
    code: string;
  };
  error.name = "AbortError";
  error.code = "ABORT_ERR";
  return error;
}
