/**
 * Stream sockets (SOCK_STREAM) over `stack.tcp`: the BSD calls on top of the user calls
 * of RFC 9293 §3.9.1 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS).
 *
 * A socket is in one of these phases (the TCP state itself lives in the connection):
 *   idle ──listen()──▶ listening                      (accept() makes new sockets)
 *   idle ──connect()─▶ connecting ─▶ connected         (SYN-SENT → ESTABLISHED)
 *                                 └─▶ failed           (RST: ECONNREFUSED, ETIMEDOUT, ...)
 * Errors from the peer are reported once, as Linux does: the next call that can report
 * it throws (or SO_ERROR returns it); after that, reads see end of stream and writes EPIPE.
 */
import type { AddressFamily, IpAddress } from "../stack/network.ts";
import type {
  TcpConnection,
  TcpConnectionOptions,
  TcpError,
  TcpListener,
  TcpState,
} from "../stack/tcp/connection.ts";
import { wildcardOf } from "./addresses.ts";
import { claimConnectEndpoint, claimPort, formatEndpoint, type SocketContext } from "./context.ts";
import { peerErrorDetail, SocketError } from "./errors.ts";
import { NO_FLAGS, type ReceiveFlags, type SendFlags } from "./message_flags.ts";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from "./poll_events.ts";
import { Pollable, WOULD_BLOCK } from "./pollable.ts";
import type { Binding } from "./ports.ts";
import { connectedReadiness } from "./tcp_readiness.ts";

type Phase = "idle" | "listening" | "connecting" | "connected" | "failed";

/** RFC 9293 §3.3.2: the states before the three-way handshake completes. */
const HANDSHAKE_STATES: ReadonlySet<TcpState> = new Set(["SYN-SENT", "SYN-RECEIVED"]);
/** Linux's SOMAXCONN: listen() clamps larger backlogs to it. */
export const MAX_BACKLOG = 4096;

/** What recv returns at end of stream (or for 0 bytes asked): one shared empty array. */
const NOTHING = new Uint8Array(0);

export interface Linger {
  onoff: boolean;
  linger: number;
}

export class TcpSocket extends Pollable {
  reuseAddress = false;
  /** IPV6_V6ONLY (RFC 3493 §5.3): an inet6 socket on :: takes no IPv4 peers. Off, as Linux's default. */
  v6Only = false;
  /** SO_BROADCAST: accepted and kept, as on Linux; only datagrams can be broadcast. */
  broadcast = false;
  linger: Linger = { onoff: false, linger: 0 };
  /** IP_TRANSPARENT: listen() takes the connections a gateway forwards (stack/forwarding.ts). */
  transparent = false;
  /** Options set with setsockopt; they override the stack's defaults. */
  explicitOptions: Partial<TcpConnectionOptions> = {};
  private phase: Phase = "idle";
  private binding: Binding | undefined;
  private listener: TcpListener | undefined;
  private connection: TcpConnection | undefined;
  /** The connection's error has been reported to the program (once, like Linux). */
  private errorReported = false;
  /** A non-blocking connect's completion has been reported by a later connect(). */
  private connectReported = true;
  private readShut = false;
  private writeShut = false;

  constructor(
    private readonly context: SocketContext,
    /** The family the program asked for in socket(); its addresses are named in it. */
    readonly family: AddressFamily = "inet",
  ) {
    super();
  }

  /** A socket for a connection taken from `listener`'s accept queue. */
  static accepted(listening: TcpSocket, connection: TcpConnection): TcpSocket {
    const socket = new TcpSocket(listening.context, listening.family);
    socket.reuseAddress = listening.reuseAddress;
    socket.v6Only = listening.v6Only;
    socket.linger = { ...listening.linger };
    socket.explicitOptions = { ...listening.explicitOptions };
    socket.phase = "connected";
    socket.connection = connection;
    socket.binding = {
      address: connection.localAddress,
      port: connection.localPort,
      reuseAddress: listening.reuseAddress,
      listening: false,
    };
    listening.context.tcpPorts.add(socket.binding);
    // Linux: an accepted socket inherits the listener's options (buffers only grow).
    if (Object.keys(socket.explicitOptions).length > 0) {
      connection.options = { ...connection.options, ...socket.explicitOptions };
    }
    connection.onChange = () => socket.changed();
    return socket;
  }

  bind(address: IpAddress, port: number): void {
    if (this.binding !== undefined) {
      throw new SocketError("EINVAL", "bind", "the socket is already bound");
    }
    this.binding = claimPort(this.context, this.context.tcpPorts, {
      address,
      port,
      reuseAddress: this.reuseAddress,
      syscall: "bind",
      v6Only: this.v6Only,
    });
  }

  listen(backlog: number): void {
    const clamped = Math.max(0, Math.min(MAX_BACKLOG, Math.floor(backlog)));
    if (this.phase === "listening") {
      this.listener!.backlog = clamped; // Linux: listen() again only changes the backlog
      return;
    }
    if (this.phase === "failed" && this.errorReported) this.resetForReconnect(); // Linux allows it
    if (this.phase !== "idle") {
      throw new SocketError("EINVAL", "listen", "the socket is connected or connecting");
    }
    if (this.binding === undefined) this.bind(wildcardOf(this.family), 0); // Linux binds on listen()
    const binding = this.binding!;
    if (this.context.tcpPorts.listenerConflicts(binding)) {
      throw new SocketError(
        "EADDRINUSE",
        "listen",
        `another socket already listens on TCP ${formatEndpoint(binding.address, binding.port)}`,
      );
    }
    const tcp = this.context.stack.tcp;
    if (this.transparent && tcp.listenTransparent === undefined) {
      throw new SocketError("EOPNOTSUPP", "listen", "this stack cannot listen transparently");
    }
    const v6Only = binding.v6Only === true;
    this.listener = this.transparent
      ? tcp.listenTransparent!(clamped)
      : tcp.listen(binding.address, binding.port, clamped, undefined, v6Only);
    this.listener.onChange = () => this.changed();
    binding.listening = true;
    this.phase = "listening";
    this.changed();
  }

  /** accept(): the oldest established connection; the listener keeps listening. */
  accept(): Promise<TcpSocket> {
    if (this.phase !== "listening") {
      return Promise.reject(new SocketError("EINVAL", "accept", "the socket is not listening"));
    }
    return this.retryUntilDone("accept", () => {
      if (this.phase !== "listening") {
        throw new SocketError("EINVAL", "accept", "the socket stopped listening");
      }
      const connection = this.listener!.accept();
      if (connection === undefined) return WOULD_BLOCK;
      this.context.kick();
      return TcpSocket.accepted(this, connection);
    });
  }

  /** connect(): resolves when ESTABLISHED (RFC 9293 §3.5 three-way handshake). */
  async connect(address: IpAddress, port: number): Promise<void> {
    this.settlePhase();
    switch (this.phase) {
      case "listening":
        throw new SocketError("EISCONN", "connect", "the socket is listening");
      case "connected":
        // Linux: the first connect() after a non-blocking connect completed returns 0.
        if (!this.connectReported) {
          this.connectReported = true;
          return;
        }
        throw new SocketError("EISCONN", "connect");
      case "connecting":
        if (this.nonBlocking) throw new SocketError("EALREADY", "connect");
        return this.waitForHandshake();
      case "failed":
        if (!this.errorReported) this.throwPeerError("connect");
        this.resetForReconnect();
        break;
      case "idle":
        break;
    }
    if (port === 0) throw new SocketError("EINVAL", "connect", "port 0 is not a destination");
    this.openConnection(address, port);
    if (this.nonBlocking) {
      this.connectReported = false;
      throw new SocketError(
        "EINPROGRESS",
        "connect",
        `connecting to ${formatEndpoint(address, port)}; poll for POLLOUT, then read SO_ERROR`,
      );
    }
    return this.waitForHandshake();
  }

  /**
   * send(): queues all of `data`, waiting while the send buffer is full; non-blocking
   * (or MSG_DONTWAIT), queues what fits and returns the count (EAGAIN if nothing fits).
   */
  send(data: Uint8Array, flags: SendFlags = NO_FLAGS): Promise<number> {
    let sent = 0;
    const nonBlocking = this.nonBlocking || flags.dontWait === true;
    return this.retryUntilDone(
      "send",
      () => {
        this.settlePhase();
        const connection = this.connection;
        if (this.phase === "connecting") return WOULD_BLOCK; // Linux waits for the handshake
        if (this.phase === "failed" || connection?.error !== undefined) {
          if (sent > 0) return sent;
          if (!this.errorReported) this.throwPeerError("send");
          throw new SocketError("EPIPE", "send", "the connection was reset or failed earlier");
        }
        if (this.phase !== "connected" || connection === undefined) {
          throw new SocketError("ENOTCONN", "send");
        }
        if (this.writeShut || connection.state === "CLOSED") {
          if (sent > 0) return sent;
          throw new SocketError("EPIPE", "send", "the sending side is shut down");
        }
        if (data.length === sent) return sent;
        const taken = connection.send(data.subarray(sent), this.context.clock.now());
        // MSG_OOB: the urgent pointer follows what is queued so far (Linux tcp_mark_urg).
        if (taken > 0 && flags.oob === true) connection.markUrgent();
        if (taken > 0) this.context.kick();
        sent += taken;
        if (sent === data.length && flags.eof === true) this.shutdown(false, true);
        if (sent === data.length || (nonBlocking && sent > 0)) return sent;
        return WOULD_BLOCK;
      },
      flags.dontWait,
    );
  }

  /**
   * recv(): up to `maxBytes` bytes; an empty array means end of stream. With
   * `flags.peek` the bytes stay queued; with `flags.waitAll` (blocking calls only) it
   * waits for all `maxBytes`, returning fewer only at end of stream or on an error.
   */
  receive(maxBytes: number, flags: ReceiveFlags = NO_FLAGS): Promise<Uint8Array> {
    if (flags.oob === true)
      return Promise.resolve(this.receiveOutOfBand(maxBytes, flags, undefined));
    return this.receiveCore(maxBytes, flags, undefined);
  }

  /** recv() into the caller's buffer, as the C call does: the count (0: end of stream). */
  async receiveInto(into: Uint8Array, flags: ReceiveFlags = NO_FLAGS): Promise<number> {
    if (flags.oob === true) return this.receiveOutOfBand(into.length, flags, into).length;
    return (await this.receiveCore(into.length, flags, into)).length;
  }

  /**
   * recv(MSG_OOB): the out-of-band byte, with Linux's answers (tcp_recv_urg): EINVAL
   * with SO_OOBINLINE, with no urgent data or once it was read; EAGAIN while it has not
   * arrived; never waits, blocking socket or not (stack/tcp/urgent.ts).
   */
  private receiveOutOfBand(
    maxBytes: number,
    flags: ReceiveFlags,
    target: Uint8Array | undefined,
  ): Uint8Array {
    this.settlePhase();
    const connection = this.connection;
    if (this.phase === "idle" || this.phase === "listening" || connection === undefined)
      throw new SocketError("EINVAL", "recv", "no urgent data: the socket is not connected");
    const byte = connection.takeUrgent(flags.peek === true);
    if (byte === "none") {
      const why = connection.options.oobInline
        ? "SO_OOBINLINE is set: urgent data is read in line"
        : "there is no urgent data to read (none came, or it was read already)";
      throw new SocketError("EINVAL", "recv", why);
    }
    if (byte === "not-yet") {
      if (connection.receivedFin || connection.state === "CLOSED" || this.readShut) return NOTHING;
      throw new SocketError("EAGAIN", "recv", "the urgent byte has not arrived yet");
    }
    if (maxBytes === 0) return NOTHING;
    const into = target?.subarray(0, 1) ?? new Uint8Array(1);
    into[0] = byte;
    return into;
  }

  /** SIOCATMARK: the next byte to read is the urgent one. */
  atMark(): boolean {
    this.settlePhase();
    return this.connection?.atUrgentMark === true;
  }

  /**
   * Both forms of recv. Bytes go into `target` if given (a view of it is returned), else
   * into a new array of exactly the size read.
   */
  private receiveCore(
    maxBytes: number,
    flags: ReceiveFlags,
    target: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    const waitAll =
      flags.waitAll === true && flags.peek !== true && !this.nonBlocking && !flags.dontWait;
    /** MSG_WAITALL: what has been read so far. */
    let gathered: Uint8Array | undefined;
    let got = 0;
    return this.retryUntilDone(
      "recv",
      () => {
        this.settlePhase();
        if (this.phase === "idle" || this.phase === "listening") {
          throw new SocketError("ENOTCONN", "recv");
        }
        if (this.phase === "connecting") return WOULD_BLOCK;
        const connection = this.connection!;
        if (this.readShut || maxBytes === 0) return gathered?.subarray(0, got) ?? NOTHING;
        // Data that arrived before a reset is still delivered first (as Linux does).
        if (connection.readableBytes > 0) {
          const now = this.context.clock.now();
          if (waitAll) {
            gathered ??= target ?? new Uint8Array(maxBytes);
            got += connection.receive(gathered.subarray(got), now);
            this.context.kick(); // each read may open the window for the rest
            if (got === maxBytes) return gathered;
          } else {
            const count = Math.min(maxBytes, connection.readableBytes);
            const into = target?.subarray(0, count) ?? new Uint8Array(count);
            if (flags.peek === true) return into.subarray(0, connection.peek(into));
            const read = connection.receive(into, now);
            this.context.kick(); // reading may open the window (RFC 9293 §3.8.6.2.2)
            return into.subarray(0, read);
          }
        }
        // MSG_WAITALL cut short: what came is returned; an error waits for the next call.
        const ended = connection.receivedFin || connection.state === "CLOSED";
        if (got > 0 && (ended || connection.error !== undefined || this.phase === "failed"))
          return gathered!.subarray(0, got);
        if (connection.error !== undefined || this.phase === "failed") {
          if (!this.errorReported) this.throwPeerError("recv");
          return NOTHING;
        }
        if (ended) return NOTHING;
        return WOULD_BLOCK;
      },
      flags.dontWait,
    );
  }

  shutdown(read: boolean, write: boolean): void {
    this.settlePhase();
    if (this.phase === "listening" && read) {
      this.stopListening(); // Linux: shutdown(SHUT_RD) on a listener stops it
      return;
    }
    const connection = this.connection;
    if (this.phase !== "connected" || connection === undefined) {
      throw new SocketError("ENOTCONN", "shutdown");
    }
    const now = this.context.clock.now();
    if (write && !this.writeShut) {
      this.writeShut = true;
      connection.close(now); // RFC 9293 §3.10.4: CLOSE means "I have no more to send"
    }
    if (read && !this.readShut) {
      this.readShut = true;
      connection.shutdownRead();
    }
    this.context.kick();
    this.changed();
  }

  localName(): { address: IpAddress; port: number } {
    if (this.connection !== undefined) {
      return { address: this.connection.localAddress, port: this.connection.localPort };
    }
    if (this.binding === undefined) return { address: wildcardOf(this.family), port: 0 };
    return { address: this.binding.address, port: this.binding.port };
  }

  peerName(): { address: IpAddress; port: number } {
    this.settlePhase();
    const connection = this.connection;
    if (this.phase !== "connected" || connection === undefined || connection.state === "CLOSED") {
      throw new SocketError("ENOTCONN", "getpeername");
    }
    return { address: connection.remoteAddress, port: connection.remotePort };
  }

  /** The peer, or 0.0.0.0:0 (:::0) when there is none (recvfrom on a stream). */
  peerNameOrNone(): { address: IpAddress; port: number } {
    const connection = this.connection;
    if (connection === undefined) return { address: wildcardOf(this.family), port: 0 };
    return { address: connection.remoteAddress, port: connection.remotePort };
  }

  /** SO_ERROR: the pending error, cleared by reading it. */
  takeError(): TcpError | undefined {
    const error = this.connection?.error;
    if (error === undefined || this.errorReported) return undefined;
    this.errorReported = true;
    return error;
  }

  /** The connection's options as they are now (stack defaults, then setsockopt). */
  effectiveOptions(): TcpConnectionOptions {
    return this.connection?.options ?? { ...this.context.tcpDefaults(), ...this.explicitOptions };
  }

  /** setsockopt on an open connection takes effect at once. */
  applyOption(options: Partial<TcpConnectionOptions>): void {
    this.explicitOptions = { ...this.explicitOptions, ...options };
    if (this.connection !== undefined) {
      this.connection.options = { ...this.connection.options, ...options };
      this.context.kick();
    }
  }

  /** TCP_CONGESTION: the controller the connection uses, or will use. */
  congestionName(): string {
    const live = this.connection?.info(this.context.clock.now()).congestion;
    if (typeof live === "string") return live;
    return this.explicitOptions.congestion ?? this.context.stack.tcp.config?.congestion ?? "cubic";
  }

  /** TCP_INFO (RFC 9293 §3.10.6 STATUS). */
  info(): Record<string, number | string> {
    if (this.connection !== undefined) return this.connection.info(this.context.clock.now());
    return { state: this.phase === "listening" ? "LISTEN" : "CLOSED" };
  }

  readiness(): number {
    this.settlePhase();
    switch (this.phase) {
      case "idle":
        return POLLOUT | POLLHUP; // Linux: a fresh socket is "closed" in both directions
      case "listening":
        return this.listener!.acceptQueueLength > 0 ? POLLIN : 0;
      case "connecting":
        return 0;
      case "failed":
        return POLLIN | POLLOUT | POLLHUP | POLLRDHUP | (this.errorReported ? 0 : POLLERR);
      case "connected":
        return connectedReadiness(this.connection!, {
          readShut: this.readShut,
          writeShut: this.writeShut,
          errorReported: this.errorReported,
        });
    }
  }

  /** close(): graceful FIN, or RST with SO_LINGER {on, 0}; a listener resets its queue. */
  release(): void {
    const now = this.context.clock.now();
    if (this.phase === "listening") this.stopListening();
    const connection = this.connection;
    if (connection !== undefined) {
      connection.onChange = undefined;
      if (connection.state !== "CLOSED") {
        // RFC 1122 §4.2.2.13: closing with unread data SHOULD send a RST to show data
        // was lost; SO_LINGER {on, 0} asks for the abort explicitly (RFC 9293 §3.10.5).
        const abort =
          (this.linger.onoff && this.linger.linger === 0) || connection.readableBytes > 0;
        if (abort) connection.abort(now);
        else {
          if (!this.writeShut) connection.close(now);
          // Nobody reads any more: what arrives is discarded, and an orphan in FIN-WAIT-2
          // is bounded by the FIN-WAIT-2 timeout (stack/tcp/timers.ts).
          if (!this.readShut) connection.shutdownRead();
        }
      }
    }
    if (this.binding !== undefined) this.context.tcpPorts.remove(this.binding);
    this.binding = undefined;
    this.context.kick();
  }

  private openConnection(address: IpAddress, port: number): void {
    const { stack, clock } = this.context;
    const remote = { address, port };
    const { local, binding } = claimConnectEndpoint(this.context, this.binding, {
      remote,
      reuseAddress: this.reuseAddress,
      any: wildcardOf(this.family),
    });
    this.binding = binding;
    const options = { ...this.context.tcpDefaults(), ...this.explicitOptions };
    this.connection = stack.tcp.connect(local, remote, options, clock.now());
    this.connection.onChange = () => this.changed();
    this.phase = "connecting";
    this.context.kick();
  }

  private waitForHandshake(): Promise<void> {
    return this.retryUntilDone("connect", () => {
      this.settlePhase();
      if (this.phase === "connecting") return WOULD_BLOCK;
      if (this.phase === "failed") this.throwPeerError("connect");
      this.connectReported = true;
    });
  }

  /** Moves a connecting socket on once the handshake has finished or failed. */
  private settlePhase(): void {
    const connection = this.connection;
    if (this.phase !== "connecting" || connection === undefined) return;
    if (connection.error !== undefined || connection.state === "CLOSED") this.phase = "failed";
    else if (!HANDSHAKE_STATES.has(connection.state)) this.phase = "connected";
  }

  private resetForReconnect(): void {
    if (this.connection !== undefined) this.connection.onChange = undefined;
    this.connection = undefined;
    this.errorReported = false;
    this.readShut = false;
    this.writeShut = false;
    this.phase = "idle";
  }

  private stopListening(): void {
    const listener = this.listener!;
    listener.onChange = undefined;
    listener.close(this.context.clock.now()); // resets connections not yet accepted
    if (this.binding !== undefined) this.binding.listening = false;
    this.listener = undefined;
    this.phase = "idle";
    this.context.kick();
    this.changed();
  }

  /** Reports the connection's error, once; the message names the peer. */
  private throwPeerError(syscall: string): never {
    const connection = this.connection!;
    const error = connection.error ?? "ECONNREFUSED";
    this.errorReported = true;
    const peer = formatEndpoint(connection.remoteAddress, connection.remotePort);
    throw new SocketError(error, syscall, peerErrorDetail(error, peer));
  }
}
