/**
 * The kernel's errno for a Unix-domain call, as the `SocketError` every socket of the API
 * throws: the same code Linux gives (the kernel chose it), and a sentence that names the
 * path and says what to do.
 */
import { SocketError, type SocketErrorCode } from "../errors.ts";

/** errno numbers (asm-generic/errno-base.h, asm-generic/errno.h) → names. */
const NAMES: Record<number, SocketErrorCode> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  17: "EEXIST",
  20: "ENOTDIR",
  22: "EINVAL",
  24: "EMFILE",
  30: "EROFS",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  114: "EALREADY",
  115: "EINPROGRESS",
};

export const EINTR = 4;
export const EAGAIN = 11;

/** The name of `errno` ("EIO" for one this file does not know; the number is kept in the message). */
export function errnoCode(errno: number): SocketErrorCode {
  return NAMES[errno] ?? "EIO";
}

/**
 * The error for a failed call on a Unix-domain socket. `path` is the address the call
 * named, if any, for sentences such as "nothing listens at /run/app.sock".
 */
export function unixError(errno: number, syscall: string, path?: string): SocketError {
  const code = errnoCode(errno);
  const unknown = NAMES[errno] === undefined ? `the kernel answered errno ${errno}` : undefined;
  return new SocketError(code, syscall, detail(code, syscall, path) ?? unknown);
}

function detail(code: SocketErrorCode, syscall: string, path?: string): string | undefined {
  const where = path === undefined ? "" : ` ${JSON.stringify(path)}`;
  switch (code) {
    case "EADDRINUSE":
      return syscall === "bind"
        ? `${where.trim() || "the name"} already exists (maybe left by a server that stopped without unlinking it): remove it first`
        : undefined;
    case "ENOENT":
      return syscall === "bind"
        ? `cannot create${where}: a directory on its path does not exist`
        : `no socket at${where}`;
    case "ECONNREFUSED":
      return syscall === "connect"
        ? `nothing listens at${where} (a socket file left behind, or not a socket)`
        : "the peer socket is closed";
    case "EPROTOTYPE":
      return `the socket at${where} is of the other type (stream and datagram do not mix)`;
    case "EACCES":
      return `no permission to reach${where}`;
    case "EPIPE":
      return "the peer has closed, or the sending side is shut down";
    case "EMSGSIZE":
      return "the datagram is larger than the socket's send buffer allows (SO_SNDBUF minus 32 bytes)";
    default:
      return undefined;
  }
}
