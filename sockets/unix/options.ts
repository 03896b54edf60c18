/**
 * setsockopt / getsockopt on Unix-domain sockets: the socket-level options go to the
 * kernel as they are (so getsockopt reports what Linux reports, e.g. SO_SNDBUF doubled),
 * and SO_PEERCRED says who is at the other end.
 *
 *   SO_PEERCRED    read-only: { pid, uid, gid } of the process that connected (for a
 *                  listener's accepted socket) or listened (for the connecting side),
 *                  taken when the connection was made; socketpair: the creator. With no
 *                  peer, Linux gives { pid: 0, uid: -1, gid: -1 }
 *   SO_ERROR       read-only: the pending error ("ECONNRESET", ...) or 0
 *   SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE, SO_LINGER: kept by
 *                  the kernel; only the buffer sizes matter for a Unix socket
 *   TCP_*          EOPNOTSUPP, as Linux answers a TCP-level option on an AF_UNIX socket
 */
import { SocketError } from "../errors.ts";
import type { SocketOptionValue } from "../options.ts";
import { errnoCode, unixError } from "./kernel_errors.ts";
import * as libc from "./libc.ts";
import type { UnixSocket } from "./unix_socket.ts";

/** SOL_SOCKET option numbers (asm-generic/socket.h) and how each value is carried. */
const SOCKET_LEVEL: Record<string, { name: number; kind: "flag" | "bytes" | "linger" }> = {
  SO_REUSEADDR: { name: 2, kind: "flag" },
  SO_BROADCAST: { name: 6, kind: "flag" },
  SO_SNDBUF: { name: libc.SO_SNDBUF, kind: "bytes" },
  SO_RCVBUF: { name: libc.SO_RCVBUF, kind: "bytes" },
  SO_KEEPALIVE: { name: 9, kind: "flag" },
  SO_LINGER: { name: 13, kind: "linger" },
};

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export function setUnixOption(socket: UnixSocket, option: string, value: SocketOptionValue): void {
  const spec = SOCKET_LEVEL[option];
  if (spec === undefined) throw notForUnix(option, "setsockopt");
  const bytes = new Uint8Array(spec.kind === "linger" ? 8 : 4);
  const view = new DataView(bytes.buffer);
  if (spec.kind === "linger") {
    const linger = value as { onoff?: unknown; linger?: unknown };
    if (typeof linger !== "object" || typeof linger.onoff !== "boolean") {
      throw new SocketError("EINVAL", "setsockopt", "SO_LINGER takes { onoff, linger }");
    }
    view.setInt32(0, linger.onoff ? 1 : 0, true);
    view.setInt32(4, Number(linger.linger) || 0, true);
  } else if (spec.kind === "bytes") {
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new SocketError("EINVAL", "setsockopt", `${option} takes a positive whole number`);
    }
    view.setInt32(0, value, true);
  } else {
    view.setInt32(0, value === true || (typeof value === "number" && value !== 0) ? 1 : 0, true);
  }
  if (libc.setOption(socket.kernelFd, libc.SOL_SOCKET, spec.name, bytes) < 0) {
    throw unixError(libc.errno(), "setsockopt");
  }
}

export function getUnixOption(socket: UnixSocket, option: string): unknown {
  if (option === "SO_PEERCRED") {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; }; "nobody" reads as -1.
    const view = new DataView(kernelOption(socket, libc.SO_PEERCRED, 12).buffer);
    return {
      pid: view.getInt32(0, true),
      uid: view.getInt32(4, true),
      gid: view.getInt32(8, true),
    } satisfies PeerCredentials;
  }
  if (option === "SO_ERROR") {
    const errno = new DataView(kernelOption(socket, libc.SO_ERROR, 4).buffer).getInt32(0, true);
    return errno === 0 ? 0 : errnoCode(errno);
  }
  const spec = SOCKET_LEVEL[option];
  if (spec === undefined) throw notForUnix(option, "getsockopt");
  const view = new DataView(kernelOption(socket, spec.name, spec.kind === "linger" ? 8 : 4).buffer);
  if (spec.kind === "linger")
    return { onoff: view.getInt32(0, true) !== 0, linger: view.getInt32(4, true) };
  const value = view.getInt32(0, true);
  return spec.kind === "flag" ? value !== 0 : value;
}

function kernelOption(socket: UnixSocket, name: number, size: number): Uint8Array {
  const value = new Uint8Array(size);
  if (libc.getOption(socket.kernelFd, libc.SOL_SOCKET, name, value) < 0) {
    throw unixError(libc.errno(), "getsockopt");
  }
  return value;
}

function notForUnix(option: string, syscall: string): SocketError {
  if (typeof option === "string" && option.startsWith("TCP_")) {
    return new SocketError(
      "EOPNOTSUPP",
      syscall,
      `${option} is a TCP option; this is a Unix-domain socket`,
    );
  }
  return new SocketError("ENOPROTOOPT", syscall, `unknown socket option ${JSON.stringify(option)}`);
}
