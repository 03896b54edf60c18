/**
 * Errors of the socket API, in the errno vocabulary of POSIX and Linux.
 *
 * The stack never throws at a peer's say-so (a bad packet is dropped and counted);
 * the socket API throws `SocketError` when the *caller* asks for something that cannot
 * be done, or to report what happened to a connection (refused, reset, timed out).
 * The `code` is the errno a C programmer would test; the message is a sentence a person
 * understands: "connect: connection refused by 10.0.0.1:9 (ECONNREFUSED)".
 */

/** The errno codes the socket API reports. */
export type SocketErrorCode =
  | "EBADF"
  | "EAGAIN"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "EAFNOSUPPORT"
  | "EPROTONOSUPPORT"
  | "EINVAL"
  | "EOPNOTSUPP"
  | "ENOTSOCK"
  | "ENOTCONN"
  | "EISCONN"
  | "EALREADY"
  | "EINPROGRESS"
  | "EDESTADDRREQ"
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EPIPE"
  | "EMSGSIZE"
  | "ENOPROTOOPT"
  | "ENOENT"
  | "EEXIST"
  | "ELOOP"
  | "EMFILE"
  | "EFAULT"
  | "EACCES"
  | "ENAMETOOLONG"
  | "EPROTOTYPE"
  | "ENOTDIR"
  | "EPERM"
  | "EROFS"
  | "ENOBUFS"
  | "ENOMEM"
  | "EIO";

/** What each code means, in the words of strerror(3), lower-cased. */
const DESCRIPTIONS: Record<SocketErrorCode, string> = {
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable: the call would block",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EAFNOSUPPORT: "address family not supported",
  EPROTONOSUPPORT: "protocol not supported",
  EINVAL: "invalid argument",
  EOPNOTSUPP: "operation not supported on this socket",
  ENOTSOCK: "not a socket",
  ENOTCONN: "socket is not connected",
  EISCONN: "socket is already connected",
  EALREADY: "a connection attempt is already in progress",
  EINPROGRESS: "connection in progress",
  EDESTADDRREQ: "destination address required",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ECONNABORTED: "connection aborted",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EPIPE: "broken pipe: the sending side is shut down",
  EMSGSIZE: "message too long",
  ENOPROTOOPT: "protocol not available: unknown socket option",
  ENOENT: "no such entry",
  EEXIST: "already registered",
  ELOOP: "too many levels of nesting (a loop)",
  EMFILE: "too many open descriptors",
  EFAULT: "bad address: the buffer is not a byte array",
  EACCES: "permission denied",
  ENAMETOOLONG: "file name too long",
  EPROTOTYPE: "protocol wrong type for socket",
  ENOTDIR: "not a directory",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOBUFS: "no buffer space available",
  ENOMEM: "out of memory",
  EIO: "input/output error",
};

/**
 * An API call failed. `code` is the errno, `syscall` the call that failed.
 *
 * @example
 * try { await api.connect(fd, "10.0.0.1", 9); }
 * catch (e) { if (e instanceof SocketError && e.code === "ECONNREFUSED") ... }
 */
export class SocketError extends Error {
  readonly code: SocketErrorCode;
  readonly syscall: string;

  /** `detail` replaces the generic description: "connection refused by 10.0.0.1:9". */
  constructor(code: SocketErrorCode, syscall: string, detail?: string) {
    super(`${syscall}: ${detail ?? DESCRIPTIONS[code]} (${code})`);
    this.name = "SocketError";
    this.code = code;
    this.syscall = syscall;
  }
}

/** The generic description of a code, for building a detail sentence. */
export function describeErrno(code: SocketErrorCode): string {
  return DESCRIPTIONS[code];
}

/** What a connection's failure means, naming the peer: "connection refused by 10.0.0.1:9". */
export function peerErrorDetail(
  code: "ECONNREFUSED" | "ECONNRESET" | "ETIMEDOUT" | "EHOSTUNREACH" | "ECONNABORTED",
  peer: string,
): string {
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused by ${peer}`;
    case "ECONNRESET":
      return `connection reset by ${peer}`;
    case "ETIMEDOUT":
      return `connection to ${peer} timed out`;
    case "EHOSTUNREACH":
      return `no route to ${peer} (ICMP host unreachable)`;
    case "ECONNABORTED":
      return `connection to ${peer} aborted`;
  }
}
