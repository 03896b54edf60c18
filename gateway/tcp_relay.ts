/**
 * One forwarded TCP connection: the inner client's connection, terminated by our stack
 * and read through the socket API, joined to a host socket (Bun.connect) that the
 * gateway opened to the same destination. Read gateway.ts first.
 *
 *   inner client ──TCP──▶ our stack ──recv──▶ TcpFlow ──write──▶ host socket ──▶ server
 *                ◀──TCP── our stack ◀──send── TcpFlow ◀──data─── host socket ◀──
 *
 * Connect first: the host connect starts when the inner SYN arrives and the SYN is
 * answered only when it ends (forwarding.ts verdicts): connected → SYN,ACK; refused →
 * RST; unreachable or timed out → ICMP host unreachable. So the inner client sees what
 * it would see talking to the destination directly.
 *
 * Flow control holds end to end, with at most `flowBufferBytes` held here each way:
 *  - inner → host: we recv only after the host socket took the last chunk (Bun's write
 *    returns less than asked when the kernel's buffer is full; we wait for drain). While
 *    we wait, our receive buffer fills and our advertised window closes (RFC 9293 §3.8.6).
 *  - host → inner: chunks queue for our send(); past `flowBufferBytes` the host socket
 *    is paused, so the kernel's receive window toward the server closes in turn.
 * Half-close maps both ways (FIN ↔ shutdown(SHUT_WR)); a reset or error on one side
 * aborts the other (RST).
 */
import type { Socket, SocketHandler } from "bun";
import type { SocketApi } from "../sockets/api.ts";
import type { ForwardedFlow, SynRequest } from "../stack/forwarding.ts";
import type { Stats } from "../stack/stats.ts";
import type { GatewayLimits } from "./config.ts";
import type { NatEntry, NatTable } from "./nat_table.ts";

export interface TcpRelayContext {
  readonly api: SocketApi;
  readonly stats: Stats;
  readonly table: NatTable;
  readonly limits: GatewayLimits;
  now(): number;
  /** Hands a SYN the stack was told to hold back to `Stack.receive` again. */
  redeliver(syn: SynRequest): void;
  /** The flow is finished (or never started): drop it from the gateway's map. */
  forget(flow: TcpFlow): void;
  trace(line: string): void;
}

export type TcpFlowPhase =
  | "connecting"
  | "connected"
  | "refused"
  | "unreachable"
  | "relaying"
  | "closed";

const READ_CHUNK_BYTES = 64 * 1024;

/** Bun calls these with the flow as `socket.data`: one handler object for every flow. */
export const HOST_HANDLERS: SocketHandler<TcpFlow> = {
  open: (socket) => socket.data.hostOpened(socket),
  connectError: (socket, error) => socket.data.hostFailed(error),
  data: (socket, data) => socket.data.fromHost(data),
  drain: (socket) => socket.data.hostDrained(),
  end: (socket) => socket.data.hostEnded(),
  close: (socket, error) => socket.data.hostClosed(error),
  error: (socket, error) => socket.data.hostClosed(error),
};

export class TcpFlow {
  phase: TcpFlowPhase = "connecting";
  readonly entry: NatEntry;
  private host: Socket<TcpFlow> | undefined;
  private fd = -1;
  private readonly toInner: Uint8Array[] = [];
  private toInnerBytes = 0;
  private pumping = false;
  private paused = false;
  private hostFin = false;
  private innerFin = false;
  private innerShut = false;
  private hostGone = false;
  private drained: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `flow`: the inner endpoint and the one it addressed (for an inbound forward: the
   * inner server and the host client). `syn`: the SYN held back while connecting first.
   */
  constructor(
    private readonly context: TcpRelayContext,
    readonly key: string,
    flow: ForwardedFlow,
    private readonly target: { hostname: string; port: number },
    private readonly syn?: SynRequest,
  ) {
    this.entry = {
      protocol: "tcp",
      innerAddress: flow.source,
      innerPort: flow.sourcePort,
      destination: flow.destination,
      destinationPort: flow.destinationPort,
      hostSocket: "",
      bytesOut: 0,
      bytesIn: 0,
      createdAt: context.now(),
      state: "connecting",
    };
  }

  /** Starts the host connect; the SYN stays unanswered until it ends. */
  start(): void {
    this.context.table.add(this.entry);
    this.context.trace(`gateway: tcp ${this.describe()} connecting`);
    this.timer = setTimeout(() => this.connectTimedOut(), this.context.limits.connectTimeoutMs);
    Bun.connect({ ...this.target, allowHalfOpen: true, data: this, socket: HOST_HANDLERS }).then(
      (socket) => {
        if (this.phase !== "connecting" && this.phase !== "connected") socket.terminate();
      },
      () => {}, // reported through connectError
    );
  }

  /** Inbound forward: a host client connected (Bun.listen); our connect inward follows. */
  adoptHost(socket: Socket<TcpFlow>): void {
    this.host = socket;
    this.phase = "connected";
    this.entry.state = "connecting inward";
    this.entry.hostSocket = `${socket.remoteAddress}:${socket.remotePort}`;
    this.context.table.add(this.entry);
  }

  hostOpened(socket: Socket<TcpFlow>): void {
    if (this.phase !== "connecting") {
      socket.terminate();
      return;
    }
    clearTimeout(this.timer);
    this.host = socket;
    this.phase = "connected";
    this.entry.state = "connected";
    this.entry.hostSocket = `${socket.localAddress}:${socket.localPort}`;
    // Our handshake must complete within acceptTimeoutMs or the host socket is dropped.
    this.timer = setTimeout(
      () => this.abort("inner handshake timed out"),
      this.context.limits.acceptTimeoutMs,
    );
    if (this.syn !== undefined) this.context.redeliver(this.syn);
  }

  hostFailed(error: Error): void {
    if (this.phase !== "connecting") return;
    clearTimeout(this.timer);
    const code = (error as { code?: string }).code;
    this.phase = code === "ECONNREFUSED" ? "refused" : "unreachable";
    this.context.stats.count(code === "ECONNREFUSED" ? "gwTcpRefused" : "gwTcpUnreachable");
    this.context.trace(`gateway: tcp ${this.describe()} ${code ?? error.message}`);
    this.context.table.remove(this.entry);
    if (this.syn !== undefined) this.context.redeliver(this.syn);
  }

  private connectTimedOut(): void {
    if (this.phase !== "connecting") return;
    this.phase = "unreachable";
    this.context.stats.count("gwTcpConnectTimeouts");
    this.context.table.remove(this.entry);
    if (this.syn !== undefined) this.context.redeliver(this.syn);
  }

  /** The inner handshake completed: `fd` is the accepted socket. Both pumps start. */
  attach(fd: number): void {
    if (this.phase === "closed") {
      this.context.api.close(fd); // the host side went away meanwhile
      return;
    }
    clearTimeout(this.timer);
    this.fd = fd;
    this.phase = "relaying";
    this.entry.state = "established";
    this.context.stats.count("gwTcpFlows");
    void this.pumpToInner();
    void this.pumpToHost();
  }

  fromHost(data: Uint8Array): void {
    this.entry.bytesIn += data.length;
    this.toInner.push(data);
    this.toInnerBytes += data.length;
    if (this.toInnerBytes >= this.context.limits.flowBufferBytes && !this.paused) {
      this.paused = true;
      this.host?.pause(); // the kernel's window toward the server closes in turn
    }
    void this.pumpToInner();
  }

  hostDrained(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  hostEnded(): void {
    this.hostFin = true;
    void this.pumpToInner();
  }

  hostClosed(error?: Error): void {
    if (this.hostGone) return;
    this.hostGone = true;
    this.hostDrained();
    if (error !== undefined && this.phase !== "connecting") {
      this.abort(`host socket: ${error.message}`);
      return;
    }
    if (this.phase === "connecting") return; // connectError reports it
    this.hostFin = true;
    void this.pumpToInner();
  }

  /** host → inner: our send() waits while our send buffer is full. */
  private async pumpToInner(): Promise<void> {
    if (this.pumping || this.fd < 0) return;
    this.pumping = true;
    const { api, limits } = this.context;
    try {
      while (this.toInner.length > 0) {
        const chunk = this.toInner[0]!;
        await api.send(this.fd, chunk);
        this.toInner.shift();
        this.toInnerBytes -= chunk.length;
        if (this.paused && this.toInnerBytes <= limits.flowBufferBytes / 2) {
          this.paused = false;
          this.host?.resume();
        }
      }
      if (this.hostFin && this.phase === "relaying" && !this.innerShut) {
        this.innerShut = true;
        api.shutdown(this.fd, "write"); // the server's FIN, passed on (RFC 9293 §3.10.4)
        this.maybeFinish();
      }
    } catch (error) {
      this.abort(`inner send: ${(error as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  /** inner → host: the next recv waits until the host socket took the last chunk. */
  private async pumpToHost(): Promise<void> {
    const { api } = this.context;
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    try {
      for (;;) {
        const n = await api.recvInto(this.fd, buffer);
        if (n === 0) break;
        this.entry.bytesOut += n;
        if (!(await this.writeHost(buffer.subarray(0, n)))) return;
      }
      this.innerFin = true; // the client's FIN: half-close toward the server
      if (!this.hostGone) this.host?.shutdown(); // shutdown(2) SHUT_WR: our FIN to the server
      this.maybeFinish();
    } catch (error) {
      if (this.phase !== "closed") this.abort(`inner recv: ${(error as Error).message}`);
    }
  }

  /** Writes all of `data`, waiting for drain when the kernel takes only part. */
  private async writeHost(data: Uint8Array): Promise<boolean> {
    let rest = data;
    for (;;) {
      if (this.hostGone || this.host === undefined) {
        this.abort("host socket closed while the client was sending");
        return false;
      }
      const written = this.host.write(rest);
      if (written >= rest.length) return true;
      // The rest waits (copied: the caller reuses its buffer) until the kernel drains.
      rest = rest.slice(Math.max(0, written));
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
  }

  private maybeFinish(): void {
    if (!(this.innerFin && this.innerShut) || this.phase === "closed") return;
    this.finish("closed");
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) this.context.api.close(fd);
    if (!this.hostGone) this.host?.end();
  }

  /** Resets both sides: RST to the inner client (SO_LINGER 0), close the host socket. */
  abort(reason: string): void {
    if (this.phase === "closed") return;
    this.context.stats.count("gwTcpAborts");
    this.context.trace(`gateway: tcp ${this.describe()} aborted: ${reason}`);
    const fd = this.fd;
    this.fd = -1;
    this.finish("aborted");
    if (fd >= 0) {
      try {
        this.context.api.setsockopt(fd, "SO_LINGER", { onoff: true, linger: 0 });
        this.context.api.close(fd);
      } catch {
        // already closed
      }
    }
    if (!this.hostGone) this.host?.terminate();
  }

  private finish(how: string): void {
    clearTimeout(this.timer);
    this.phase = "closed";
    this.entry.state = how;
    this.context.table.remove(this.entry);
    this.context.forget(this);
    this.context.trace(
      `gateway: tcp ${this.describe()} ${how} (${this.entry.bytesOut} out, ${this.entry.bytesIn} in)`,
    );
  }

  private describe(): string {
    return `${this.key} via ${this.target.hostname}:${this.target.port}`;
  }
}
