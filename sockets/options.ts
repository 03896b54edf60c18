/**
 * setsockopt / getsockopt: the options a program may set, and how each maps onto the
 * stack (TcpConnectionOptions) or onto the socket layer's own state.
 *
 *   SO_REUSEADDR   bind over TIME-WAIT / share a port (sockets/ports.ts)
 *   SO_BROADCAST   a datagram socket may send to (or connect to) a broadcast address;
 *                  without it that is EACCES, as on Linux (accepted and kept on TCP)
 *   SO_RCVBUF      TCP receive buffer (advertised window) / UDP receive queue, bytes
 *   SO_SNDBUF      TCP send buffer, bytes
 *   SO_KEEPALIVE   RFC 1122 §4.2.3.6 keep-alive probes
 *   SO_LINGER      {onoff: true, linger: 0}: close() aborts with RST (RFC 9293 §3.10.5)
 *   TCP_NODELAY    disable Nagle's algorithm (RFC 1122 §4.2.3.4)
 *   TCP_CONGESTION "cubic" (RFC 9438) or "newreno" (RFC 5681, RFC 6582; "reno" too),
 *                  chosen when the connection is created (set it before connect/listen)
 *   IP_TRANSPARENT listen() takes the connections a gateway forwards to any address
 *                  (Linux's IP_TRANSPARENT; stack/forwarding.ts); set it before listen()
 *   SO_ERROR       read-only: the pending error, cleared by reading it (0 if none)
 *   TCP_INFO       read-only: RFC 9293 §3.10.6 STATUS as an object
 */
import { DEFAULT_RECEIVE_QUEUE_BYTES } from "../stack/udp/binding.ts";
import { SocketError } from "./errors.ts";
import { type Linger, TcpSocket } from "./tcp_socket.ts";
import type { UdpSocket } from "./udp_socket.ts";

export type SocketOption =
  | "SO_REUSEADDR"
  | "SO_BROADCAST"
  | "SO_RCVBUF"
  | "SO_SNDBUF"
  | "SO_KEEPALIVE"
  | "SO_LINGER"
  | "TCP_NODELAY"
  | "TCP_CONGESTION"
  | "IP_TRANSPARENT";

export type SocketOptionValue = number | boolean | Linger | string;

/** The congestion control algorithms the stack implements, by the names Linux uses. */
export const CONGESTION_ALGORITHMS = {
  cubic: "cubic",
  newreno: "newreno",
  reno: "newreno",
} as const;

/** Linux's smallest buffer sizes (SOCK_MIN_RCVBUF/SNDBUF are about this). */
const MIN_BUFFER_BYTES = 2048;

export function setOption(
  socket: TcpSocket | UdpSocket,
  option: SocketOption,
  value: SocketOptionValue,
): void {
  switch (option) {
    case "SO_REUSEADDR":
      socket.reuseAddress = flag(option, value);
      return;
    case "SO_BROADCAST":
      socket.broadcast = flag(option, value);
      return;
    case "SO_RCVBUF":
    case "SO_SNDBUF":
      setBuffer(socket, option, bytes(option, value));
      return;
    case "SO_LINGER":
      tcpOnly(socket, option).linger = linger(value);
      return;
    case "SO_KEEPALIVE":
      tcpOnly(socket, option).applyOption({ keepAlive: flag(option, value) });
      return;
    case "TCP_NODELAY":
      tcpOnly(socket, option).applyOption({ noDelay: flag(option, value) });
      return;
    case "TCP_CONGESTION":
      tcpOnly(socket, option).applyOption({ congestion: congestion(value) });
      return;
    case "IP_TRANSPARENT":
      tcpOnly(socket, option).transparent = flag(option, value);
      return;
    default:
      throw unknownOption(option, "setsockopt");
  }
}

export function getOption(socket: TcpSocket | UdpSocket, option: string): unknown {
  switch (option) {
    case "SO_ERROR":
      return socket.takeError() ?? 0;
    case "SO_REUSEADDR":
      return socket.reuseAddress;
    case "SO_BROADCAST":
      return socket.broadcast;
    case "SO_RCVBUF":
      if (socket instanceof TcpSocket) return socket.effectiveOptions().receiveBufferBytes;
      return socket.receiveBufferBytes ?? DEFAULT_RECEIVE_QUEUE_BYTES;
    case "SO_SNDBUF":
      if (socket instanceof TcpSocket) return socket.effectiveOptions().sendBufferBytes;
      return socket.sendBufferBytes;
    case "SO_LINGER":
      return { ...tcpOnly(socket, option, "getsockopt").linger };
    case "SO_KEEPALIVE":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().keepAlive;
    case "TCP_NODELAY":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().noDelay;
    case "TCP_CONGESTION":
      return tcpOnly(socket, option, "getsockopt").congestionName();
    case "IP_TRANSPARENT":
      return tcpOnly(socket, option, "getsockopt").transparent;
    case "TCP_INFO":
      return tcpOnly(socket, option, "getsockopt").info();
    default:
      throw unknownOption(option, "getsockopt");
  }
}

function setBuffer(
  socket: TcpSocket | UdpSocket,
  option: "SO_RCVBUF" | "SO_SNDBUF",
  size: number,
): void {
  const clamped = Math.max(MIN_BUFFER_BYTES, size);
  if (socket instanceof TcpSocket) {
    socket.applyOption(
      option === "SO_RCVBUF" ? { receiveBufferBytes: clamped } : { sendBufferBytes: clamped },
    );
  } else if (option === "SO_RCVBUF") {
    socket.receiveBufferBytes = clamped; // takes effect at bind
  } else {
    socket.sendBufferBytes = clamped;
  }
}

function tcpOnly(socket: TcpSocket | UdpSocket, option: string, syscall = "setsockopt"): TcpSocket {
  if (socket instanceof TcpSocket) return socket;
  throw new SocketError("ENOPROTOOPT", syscall, `${option} applies to stream (TCP) sockets only`);
}

function flag(option: string, value: SocketOptionValue): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  throw new SocketError("EINVAL", "setsockopt", `${option} takes a boolean`);
}

function bytes(option: string, value: SocketOptionValue): number {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  throw new SocketError("EINVAL", "setsockopt", `${option} takes a positive whole number of bytes`);
}

function linger(value: SocketOptionValue): Linger {
  if (
    typeof value === "object" &&
    typeof value.onoff === "boolean" &&
    Number.isInteger(value.linger) &&
    value.linger >= 0
  ) {
    return { onoff: value.onoff, linger: value.linger };
  }
  throw new SocketError(
    "EINVAL",
    "setsockopt",
    "SO_LINGER takes { onoff: boolean, linger: seconds }",
  );
}

function congestion(value: SocketOptionValue): "cubic" | "newreno" {
  if (typeof value === "string" && Object.hasOwn(CONGESTION_ALGORITHMS, value)) {
    return CONGESTION_ALGORITHMS[value as keyof typeof CONGESTION_ALGORITHMS];
  }
  const names = Object.keys(CONGESTION_ALGORITHMS).join(", ");
  throw new SocketError(
    "ENOENT",
    "setsockopt",
    `no congestion control ${JSON.stringify(value)} (there is ${names})`,
  );
}

function unknownOption(option: string, syscall: string): SocketError {
  return new SocketError("ENOPROTOOPT", syscall, `unknown socket option ${JSON.stringify(option)}`);
}
