/**
 * The BSD socket calls, by descriptor number: the class behind `createSocketApi`
 * (sockets/api.ts). Each method checks its arguments and the kind of descriptor, then
 * hands over to the socket (`tcp_socket.ts`, `udp_socket.ts`) or to epoll/poll.
 *
 * Both concurrency models work: one async task per client awaiting blocking calls, or
 * one event loop over non-blocking sockets with `poll`/`epollWait`.
 *
 * Where this differs from Linux, on purpose:
 *  - blocking calls return promises; "blocking" means the promise waits;
 *  - `poll` returns only the descriptors with something to report, not the whole array;
 *  - `send` on a stream socket that never connected is ENOTCONN (POSIX; Linux says EPIPE);
 *  - SO_LINGER with a positive time closes gracefully without waiting (close() cannot block);
 *  - buffer sizes are taken as given (Linux doubles SO_RCVBUF/SO_SNDBUF for bookkeeping);
 *  - TCP_CONGESTION takes and gives a string ("cubic", "newreno"; "reno" means newreno).
 */
import { isMulticast, LIMITED_BROADCAST, subnetBroadcast } from "../stack/address.ts";
import type { Clock } from "../stack/clock.ts";
import { isMulticastIpv6 } from "../stack/ipv6/address.ts";
import { formatAddress, type IpAddress, isAnyAddress } from "../stack/network.ts";
import type { TcpConnectionOptions } from "../stack/tcp/connection.ts";
import { invalidOpenAddress } from "../stack/tcp/remote_address.ts";
import { formatSocketAddress, parseSocketAddress } from "./addresses.ts";
import type { SocketContext } from "./context.ts";
import { DescriptorTable } from "./descriptors.ts";
import { EpollInstance } from "./epoll.ts";
import { SocketError } from "./errors.ts";
import type { SocketStack } from "./layers.ts";
import type { ReceiveFlags, SendFlags } from "./message_flags.ts";
import { getOption, type SocketOption, type SocketOptionValue, setOption } from "./options.ts";
import { type PollResult, pollDescriptors } from "./poll.ts";
import type { Pollable } from "./pollable.ts";
import { PortTable } from "./ports.ts";
import { type SelectSets, selectDescriptors } from "./select.ts";
import { TcpSocket } from "./tcp_socket.ts";
import { UdpSocket } from "./udp_socket.ts";
import { getUnixOption, setUnixOption } from "./unix/options.ts";
import { UnixSocket, type UnixSocketType } from "./unix/unix_socket.ts";

/** listen()'s default backlog (Linux's SOMAXCONN was 128 for decades). */
export const DEFAULT_BACKLOG = 128;

type Shutdown = "read" | "write" | "both";

export class SocketApi {
  private readonly table = new DescriptorTable<Pollable>();
  private readonly context: SocketContext;

  constructor(
    stack: SocketStack,
    clock: Clock,
    kick: () => void,
    tcpDefaults: () => TcpConnectionOptions,
  ) {
    this.context = {
      stack,
      clock,
      kick,
      tcpDefaults,
      tcpPorts: new PortTable("tcp", (address, port, v6Only) =>
        stack.tcp.portInUse(address, port, v6Only),
      ),
      udpPorts: new PortTable("udp", (address, port) => stack.udp.portInUse(address, port)),
    };
  }

  /**
   * socket(AF_INET | AF_INET6 | AF_UNIX, SOCK_STREAM | SOCK_DGRAM, 0): the lowest free
   * descriptor, from 3. An inet6 socket speaks IPv6, and IPv4 too through IPv4-mapped
   * addresses (RFC 3493 §3.7) unless IPV6_V6ONLY is set; "datagram" is a synonym of
   * "dgram". "unix" sockets are the kernel's (sockets/unix/): other processes reach them.
   */
  socket(domain: "inet" | "inet6" | "unix", type: "stream" | "dgram" | "datagram"): number {
    if (domain === "unix") {
      return this.table.allocate(UnixSocket.open(type === "datagram" ? "dgram" : type), "socket");
    }
    if (domain !== "inet" && domain !== "inet6")
      throw new SocketError("EAFNOSUPPORT", "socket", `unknown domain ${String(domain)}`);
    if (type === "stream") {
      return this.table.allocate(new TcpSocket(this.context, domain), "socket");
    }
    if (type === "dgram" || type === "datagram") {
      return this.table.allocate(new UdpSocket(this.context, domain), "socket");
    }
    throw new SocketError("EINVAL", "socket", `unknown socket type ${String(type)}`);
  }

  /**
   * socketpair(AF_UNIX, type, 0): two descriptors connected to each other (unix(7)).
   * Only the "unix" domain has pairs, as on Linux (EOPNOTSUPP for "inet").
   */
  socketpair(domain: "unix", type: UnixSocketType): [number, number] {
    if (domain !== "unix") {
      const detail = `socketpair needs the "unix" domain, not ${JSON.stringify(domain)}`;
      throw new SocketError("EOPNOTSUPP", "socketpair", detail);
    }
    const [a, b] = UnixSocket.pair(type);
    return [this.table.allocate(a, "socketpair"), this.table.allocate(b, "socketpair")];
  }

  /**
   * "0.0.0.0" (inet) or "::" (inet6) binds every local address; port 0 picks an
   * ephemeral port (RFC 6056).
   * A Unix-domain socket binds a path (or "@abstract", or "" to autobind); no port.
   */
  bind(fd: number, address: string, port?: number): void {
    const unix = this.unixSocket(fd, "bind");
    if (unix !== undefined) {
      unix.bind(address);
      return;
    }
    const socket = this.anySocket(fd, "bind");
    socket.bind(addressFor(socket, address, "bind"), checkPort(port, "bind"));
  }

  listen(fd: number, backlog: number = DEFAULT_BACKLOG): void {
    const unix = this.unixSocket(fd, "listen");
    if (unix !== undefined) {
      unix.listen(backlog);
      return;
    }
    this.streamSocket(fd, "listen").listen(backlog);
  }

  async accept(fd: number): Promise<number> {
    const unix = this.unixSocket(fd, "accept");
    const socket = await (unix ?? this.streamSocket(fd, "accept")).accept();
    return this.table.allocate(socket, "accept");
  }

  /** Stream: resolves when ESTABLISHED. Datagram: sets the default peer and filter. */
  async connect(fd: number, address: string, port?: number): Promise<void> {
    const unix = this.unixSocket(fd, "connect");
    if (unix !== undefined) return unix.connect(address);
    const socket = this.anySocket(fd, "connect");
    const remote = addressFor(socket, address, "connect");
    const remotePort = checkPort(port, "connect");
    if (socket instanceof UdpSocket) {
      if (isAnyAddress(remote) && remotePort !== 0) throw unreachable(remote);
      socket.connect(remote, remotePort);
    } else {
      // TCP talks to one host: not to nobody (0.0.0.0, ::), a broadcast or a group (RFC 9293
      // MUST-46, stack/tcp/remote_address.ts; Linux: ENETUNREACH).
      if (isAnyAddress(remote) || isGroup(remote)) throw unreachable(remote);
      if (typeof remote === "number") {
        const { address: ours, prefixLength = 32 } = this.context.stack;
        const directed =
          prefixLength < 31 && typeof ours === "number"
            ? subnetBroadcast({ address: ours, prefixLength })
            : undefined;
        if (invalidOpenAddress(remote, directed) !== undefined) throw unreachable(remote);
      }
      await socket.connect(remote, remotePort);
    }
  }

  /**
   * `flags` (message_flags.ts): `dontWait` (MSG_DONTWAIT); `eof` (TCP; FreeBSD's
   * MSG_EOF): shut the write side once all of `data` is queued, in the same step, so
   * the FIN can ride on the last data segment. A datagram send never waits.
   */
  async send(fd: number, data: Uint8Array, flags?: SendFlags): Promise<number> {
    const unix = this.unixSocket(fd, "send");
    if (unix !== undefined) return unix.send(noOutOfBand(data, flags, "send"), flags);
    const socket = this.anySocket(fd, "send");
    if (socket instanceof UdpSocket) return socket.send(noOutOfBand(data, flags, "send"));
    return socket.send(data, flags);
  }

  /**
   * Stream: `maxBytes` or fewer; an empty array is end of stream. `flags`
   * (message_flags.ts): `peek` (MSG_PEEK), `waitAll` (MSG_WAITALL), `dontWait` (MSG_DONTWAIT).
   */
  async recv(fd: number, maxBytes: number, flags?: ReceiveFlags): Promise<Uint8Array> {
    const socket = this.anyFamily(fd, "recv");
    const max = checkLength(maxBytes, "recv");
    if (socket instanceof UnixSocket) return socket.receive(max, noOutOfBand(flags, flags, "recv"));
    if (socket instanceof UdpSocket) {
      noOutOfBand(undefined, flags, "recv");
      return (await socket.receiveFrom(max, "recv", flags)).data;
    }
    return socket.receive(max, flags);
  }

  /** ioctl(fd, SIOCATMARK): true when the next byte to read is the urgent one (TCP). */
  atMark(fd: number): boolean {
    if (this.unixSocket(fd, "ioctl") !== undefined) return false; // no urgent data there
    return this.streamSocket(fd, "ioctl").atMark();
  }

  /**
   * recv as in C: into the caller's `into` (up to its length), returning the count; 0 is
   * end of stream. A program that reads in a loop reuses one buffer and allocates
   * nothing per call. A datagram longer than `into` is cut (the rest is discarded).
   */
  async recvInto(fd: number, into: Uint8Array, flags?: ReceiveFlags): Promise<number> {
    const socket = this.anyFamily(fd, "recv");
    if (!(into instanceof Uint8Array)) {
      throw new SocketError("EFAULT", "recv", "the buffer must be a Uint8Array");
    }
    if (socket instanceof TcpSocket) return socket.receiveInto(into, flags);
    noOutOfBand(undefined, flags, "recv");
    if (!(socket instanceof UdpSocket)) return socket.receiveInto(into, flags);
    const { data } = await socket.receiveFrom(into.length, "recv", flags);
    into.set(data);
    return data.length;
  }

  /**
   * Datagram: sends to `address`; TCP (already connected): the address is ignored, as
   * Linux does. Unix: `address` is the path and there is no port.
   */
  async sendto(fd: number, data: Uint8Array, address: string, port?: number): Promise<number> {
    const unix = this.unixSocket(fd, "sendto");
    if (unix !== undefined) return unix.sendTo(data, address);
    const socket = this.anySocket(fd, "sendto");
    if (socket instanceof TcpSocket) return socket.send(data);
    return socket.sendTo(data, addressFor(socket, address, "sendto"), checkPort(port, "sendto"));
  }

  /** As `recv`, with the sender's address (for a stream, its one peer). */
  async recvfrom(
    fd: number,
    maxBytes: number,
    flags?: ReceiveFlags,
  ): Promise<{ data: Uint8Array; address: string; port: number }> {
    const socket = this.anyFamily(fd, "recvfrom");
    const max = checkLength(maxBytes, "recvfrom");
    if (socket instanceof UnixSocket) return { ...(await socket.receiveFrom(max, flags)), port: 0 };
    if (socket instanceof TcpSocket) {
      // A stream has one peer; after a reset there is none left to name (0.0.0.0:0).
      const data = await socket.receive(max, flags);
      const peer = socket.peerNameOrNone();
      return { data, address: formatSocketAddress(peer.address, socket.family), port: peer.port };
    }
    const datagram = await socket.receiveFrom(max, "recvfrom", flags);
    const address = formatSocketAddress(datagram.address, socket.family);
    return { data: datagram.data, address, port: datagram.port };
  }

  shutdown(fd: number, how: Shutdown): void {
    if (how !== "read" && how !== "write" && how !== "both") {
      throw new SocketError("EINVAL", "shutdown", `how must be "read", "write" or "both"`);
    }
    this.anyFamily(fd, "shutdown").shutdown(how !== "write", how !== "read");
  }

  /** Frees the descriptor; pending calls on it fail with EBADF; TCP closes gracefully. */
  close(fd: number): void {
    const target = this.table.remove(fd, "close");
    target.closed(); // first, so waiting calls see EBADF rather than the teardown
    target.release();
  }

  /** A Unix-domain socket's name is its path ("@name" abstract, "" unnamed), port 0. */
  getsockname(fd: number): { address: string; port: number } {
    const unix = this.unixSocket(fd, "getsockname");
    if (unix !== undefined) return { address: unix.localName(), port: 0 };
    const socket = this.anySocket(fd, "getsockname");
    const { address, port } = socket.localName();
    return { address: formatSocketAddress(address, socket.family), port };
  }

  getpeername(fd: number): { address: string; port: number } {
    const unix = this.unixSocket(fd, "getpeername");
    if (unix !== undefined) return { address: unix.peerName(), port: 0 };
    const socket = this.anySocket(fd, "getpeername");
    const { address, port } = socket.peerName();
    return { address: formatSocketAddress(address, socket.family), port };
  }

  /** The family a descriptor's socket was made with ("inet" or "inet6"). */
  family(fd: number): "inet" | "inet6" {
    return this.anySocket(fd, "getsockname").family;
  }

  setsockopt(fd: number, option: SocketOption, value: SocketOptionValue): void {
    const unix = this.unixSocket(fd, "setsockopt");
    if (unix !== undefined) {
      setUnixOption(unix, option, value);
      return;
    }
    setOption(this.anySocket(fd, "setsockopt"), option, value);
  }

  /** "SO_PEERCRED" (Unix-domain): the peer's { pid, uid, gid }. */
  getsockopt(fd: number, option: SocketOption | "TCP_INFO" | "SO_ERROR" | "SO_PEERCRED"): unknown {
    const unix = this.unixSocket(fd, "getsockopt");
    if (unix !== undefined) return getUnixOption(unix, option);
    return getOption(this.anySocket(fd, "getsockopt"), option);
  }

  /** fcntl(fd, F_SETFL, O_NONBLOCK): calls answer EAGAIN instead of waiting. */
  setNonBlocking(fd: number, on: boolean): void {
    this.table.get(fd, "fcntl").nonBlocking = on;
  }

  poll(fds: { fd: number; events: number }[], timeoutMs: number): Promise<PollResult[]> {
    const lookup = (fd: number) => (this.table.has(fd) ? this.table.get(fd, "poll") : undefined);
    return pollDescriptors(fds, timeoutMs, lookup, this.context.clock);
  }

  /**
   * select(2) over any descriptors (sockets/select.ts): the ready subset of each set.
   * `timeoutMs` 0 returns at once, null waits forever.
   */
  select(
    readFds: number[],
    writeFds: number[],
    exceptFds: number[],
    timeoutMs: number | null,
  ): Promise<SelectSets> {
    const lookup = (fd: number) => (this.table.has(fd) ? this.table.get(fd, "select") : undefined);
    const sets = { read: readFds, write: writeFds, except: exceptFds };
    return selectDescriptors(sets, timeoutMs, lookup, this.context.clock);
  }

  epollCreate(): number {
    return this.table.allocate(new EpollInstance(), "epoll_create");
  }

  epollCtl(epfd: number, op: "add" | "mod" | "del", fd: number, events: number): void {
    const epoll = this.epoll(epfd);
    if (op === "del") epoll.remove(fd);
    else if (op === "mod") epoll.modify(fd, events);
    else if (op === "add") epoll.add(fd, this.table.get(fd, "epoll_ctl"), events);
    else throw new SocketError("EINVAL", "epoll_ctl", `op must be "add", "mod" or "del"`);
  }

  epollWait(
    epfd: number,
    maxEvents: number,
    timeoutMs: number,
  ): Promise<{ fd: number; events: number }[]> {
    return this.epoll(epfd).wait(maxEvents, timeoutMs, this.context.clock);
  }

  /** Whether the stack has an IPv6 address (inet6 sockets open either way, as on Linux). */
  get hasIpv6(): boolean {
    const address6 = this.context.stack.address6;
    return address6 !== undefined && address6 !== "::";
  }

  /** Open descriptors (sockets and epoll instances). */
  get openDescriptors(): number {
    return this.table.size;
  }

  private anySocket(fd: number, syscall: string): TcpSocket | UdpSocket {
    const target = this.table.get(fd, syscall);
    if (target instanceof TcpSocket || target instanceof UdpSocket) return target;
    throw new SocketError("ENOTSOCK", syscall, `${fd} is an epoll descriptor, not a socket`);
  }

  /** The Unix-domain socket behind `fd`, or undefined if it is something else. */
  private unixSocket(fd: number, syscall: string): UnixSocket | undefined {
    const target = this.table.get(fd, syscall);
    return target instanceof UnixSocket ? target : undefined;
  }

  /** A socket of any family: the calls all three answer alike. */
  private anyFamily(fd: number, syscall: string): TcpSocket | UdpSocket | UnixSocket {
    return this.unixSocket(fd, syscall) ?? this.anySocket(fd, syscall);
  }

  private streamSocket(fd: number, syscall: string): TcpSocket {
    const socket = this.anySocket(fd, syscall);
    if (socket instanceof TcpSocket) return socket;
    throw new SocketError("EOPNOTSUPP", syscall, `${syscall} needs a stream (TCP) socket`);
  }

  private epoll(epfd: number): EpollInstance {
    const target = this.table.get(epfd, "epoll");
    if (target instanceof EpollInstance) return target;
    throw new SocketError("EINVAL", "epoll", `${epfd} is not an epoll descriptor`);
  }
}

/**
 * MSG_OOB is TCP's: EOPNOTSUPP for datagrams, as Linux's udp_sendmsg answers, and for
 * Unix-domain sockets, which have no urgent data here (Linux before 5.15 alike).
 */
function noOutOfBand<T>(data: T, flags: { oob?: boolean } | undefined, syscall: string): T {
  if (flags?.oob === true)
    throw new SocketError("EOPNOTSUPP", syscall, "MSG_OOB needs a TCP stream socket");
  return data;
}

/** The address text for this socket's family (sockets/addresses.ts). */
function addressFor(socket: TcpSocket | UdpSocket, text: string, syscall: string): IpAddress {
  return parseSocketAddress(text, socket.family, syscall, socket.v6Only);
}

/** A broadcast or multicast address: not one host. */
function isGroup(address: IpAddress): boolean {
  if (typeof address !== "number") return isMulticastIpv6(address);
  return address === LIMITED_BROADCAST || isMulticast(address);
}

function checkPort(port: number | undefined, syscall: string): number {
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SocketError("EINVAL", syscall, `port ${port} is not in 0–65535`);
  }
  return port;
}

function checkLength(maxBytes: number, syscall: string): number {
  if (!Number.isInteger(maxBytes) || maxBytes < 0) {
    throw new SocketError("EINVAL", syscall, `maxBytes ${maxBytes} is not a whole number ≥ 0`);
  }
  return maxBytes;
}

function unreachable(address: IpAddress): SocketError {
  return new SocketError(
    "ENETUNREACH",
    "connect",
    `${formatAddress(address)} is not a host one can connect to`,
  );
}
