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
 *   SO_OOBINLINE   the urgent byte stays in the data stream, not out of band
 *                  (stack/tcp/urgent.ts)
 *   IP_TTL         Time to Live of the connection's segments, 1–255 (-1: back to 64);
 *                  RFC 9293 MUST-49
 *   IP_TOS         the DSCP/ECN octet of its segments, 0–255, passed to IP unchanged and
 *                  changeable at any time (RFC 9293 MUST-48, SHLD-21, SHLD-22)
 *   TCP_USER_TIMEOUT ms that data may stay unacknowledged before the connection fails
 *                  with ETIMEDOUT (0: the stack's retry count); RFC 9293 MUST-21
 *   TCP_NODELAY    disable Nagle's algorithm (RFC 1122 §4.2.3.4)
 *   TCP_CONGESTION "cubic" (RFC 9438) or "newreno" (RFC 5681, RFC 6582; "reno" too),
 *                  chosen when the connection is created (set it before connect/listen)
 *   IP_TRANSPARENT listen() takes the connections a gateway forwards to any address
 *                  (Linux's IP_TRANSPARENT; stack/forwarding.ts); set it before listen()
 *   SO_ERROR       read-only: the pending error, cleared by reading it (0 if none)
 *   TCP_INFO       read-only: RFC 9293 §3.10.6 STATUS as an object
 *   IPV6_V6ONLY    inet6 only (RFC 3493 §5.3): on ::, IPv6 peers only, no IPv4-mapped
 *                  ones; set it before bind (Linux: EINVAL after). Off by default, as
 *                  Linux's net.ipv6.bindv6only=0
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
  | "SO_OOBINLINE"
  | "IP_TTL"
  | "IP_TOS"
  | "TCP_USER_TIMEOUT"
  | "TCP_NODELAY"
  | "TCP_CONGESTION"
  | "IP_TRANSPARENT"
  | "IPV6_V6ONLY";

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
    case "IPV6_V6ONLY":
      inet6Only(socket, option).v6Only = flag(option, value);
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
    case "SO_OOBINLINE":
      tcpOnly(socket, option).applyOption({ oobInline: flag(option, value) });
      return;
    case "IP_TTL": {
      const ttl = integerIn(option, value, -1, 255);
      if (ttl === 0) throw new SocketError("EINVAL", "setsockopt", "IP_TTL takes 1–255, or -1");
      tcpOnly(socket, option).applyOption({ ttl: ttl === -1 ? undefined : ttl });
      return;
    }
    case "IP_TOS":
      tcpOnly(socket, option).applyOption({ typeOfService: integerIn(option, value, 0, 255) });
      return;
    case "TCP_USER_TIMEOUT":
      tcpOnly(socket, option).applyOption({
        userTimeoutMs: integerIn(option, value, 0, 0x7fffffff),
      });
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
    case "IPV6_V6ONLY":
      if (socket.family !== "inet6") {
        throw new SocketError("ENOPROTOOPT", "getsockopt", `${option} is for inet6 sockets`);
      }
      return socket.v6Only;
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
    case "SO_OOBINLINE":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().oobInline === true;
    case "IP_TTL":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().ttl ?? 64;
    case "IP_TOS":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().typeOfService ?? 0;
    case "TCP_USER_TIMEOUT":
      return tcpOnly(socket, option, "getsockopt").effectiveOptions().userTimeoutMs ?? 0;
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

/** An IPv6-level option: ENOPROTOOPT on an inet socket; EINVAL once bound (Linux). */
function inet6Only(socket: TcpSocket | UdpSocket, option: string): TcpSocket | UdpSocket {
  if (socket.family !== "inet6") {
    throw new SocketError("ENOPROTOOPT", "setsockopt", `${option} is for inet6 sockets`);
  }
  if (socket.localName().port !== 0) {
    throw new SocketError("EINVAL", "setsockopt", `${option} must be set before bind`);
  }
  return socket;
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

function integerIn(option: string, value: SocketOptionValue, min: number, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
    return value;
  throw new SocketError("EINVAL", "setsockopt", `${option} takes a whole number in ${min}–${max}`);
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
