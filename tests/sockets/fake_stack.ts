/**
 * Small fakes of the TCP layer (the contracts of stack/tcp/connection.ts), so socket
 * semantics (errno, readiness, waiting) can be tested step by step without packets:
 * the test plays the peer by calling `establish()`, `deliver()`, `reset()`, ...
 * UDP uses the real `Udp` class over a fake host that records what it would send.
 */

import { SocketError } from "../../sockets/errors.ts";
import type { SocketStack, TcpLayer } from "../../sockets/layers.ts";
import { SocketApi } from "../../sockets/socket_api.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { ipv4Network } from "../../stack/network.ts";
import { Random } from "../../stack/random.ts";
import { Stats } from "../../stack/stats.ts";
import type {
  TcpConnection,
  TcpConnectionOptions,
  TcpError,
  TcpInfo,
  TcpListener,
  TcpState,
} from "../../stack/tcp/connection.ts";
import { Udp } from "../../stack/udp/udp.ts";

export const FAKE_OPTIONS: TcpConnectionOptions = {
  noDelay: false,
  keepAlive: false,
  receiveBufferBytes: 65536,
  sendBufferBytes: 8192,
};

export class FakeConnection implements TcpConnection {
  state: TcpState;
  error: TcpError | undefined;
  receivedFinFlag = false;
  readonly incoming: number[] = [];
  /** Bytes the program sent and the "peer" has not acknowledged yet. */
  readonly queued: number[] = [];
  /** Everything the program sent, in order. */
  readonly sentBytes: number[] = [];
  closed = false;
  aborted = false;
  readShut = false;
  onChange: (() => void) | undefined;

  constructor(
    readonly localAddress: number,
    readonly localPort: number,
    readonly remoteAddress: number,
    readonly remotePort: number,
    public options: TcpConnectionOptions,
    state: TcpState,
  ) {
    this.state = state;
  }

  get readableBytes(): number {
    return this.incoming.length;
  }
  get receivedFin(): boolean {
    return this.receivedFinFlag && this.incoming.length === 0;
  }
  get writableBytes(): number {
    return this.closed ? 0 : Math.max(0, this.options.sendBufferBytes - this.queued.length);
  }
  get sending(): boolean {
    return this.queued.length > 0;
  }

  send(data: Uint8Array): number {
    const n = Math.min(data.length, this.writableBytes);
    for (let i = 0; i < n; i++) {
      this.queued.push(data[i]!);
      this.sentBytes.push(data[i]!);
    }
    return n;
  }
  receive(into: Uint8Array): number {
    const n = Math.min(into.length, this.incoming.length);
    into.set(this.incoming.splice(0, n));
    return n;
  }
  peek(into: Uint8Array): number {
    const n = Math.min(into.length, this.incoming.length);
    into.set(this.incoming.slice(0, n));
    return n;
  }
  close(): void {
    this.closed = true;
    if (this.state === "ESTABLISHED") this.state = "FIN-WAIT-1";
    else if (this.state === "CLOSE-WAIT") this.state = "LAST-ACK";
    else if (this.state === "SYN-SENT") this.state = "CLOSED";
  }
  shutdownRead(): void {
    this.readShut = true;
  }
  /** Urgent data is not modelled here: the real TCP's tests cover it. */
  readonly atUrgentMark = false;
  readonly urgentPending = false;
  markUrgent(): void {}
  takeUrgent(): "none" {
    return "none";
  }
  abort(): void {
    this.aborted = true;
    this.state = "CLOSED";
  }
  info(): TcpInfo {
    return {
      state: this.state,
      srttMs: 0,
      rttvarMs: 0,
      rtoMs: 1000,
      cwndBytes: 0,
      ssthreshBytes: 0,
      bytesInFlight: this.queued.length,
      retransmits: 0,
      sndMss: 536,
      rcvWnd: 0,
      sndWnd: 0,
    };
  }

  // The peer's side of the story:
  establish(): void {
    this.state = "ESTABLISHED";
    this.onChange?.();
  }
  fail(error: TcpError): void {
    this.error = error;
    this.state = "CLOSED";
    this.onChange?.();
  }
  deliver(bytes: number[]): void {
    this.incoming.push(...bytes);
    this.onChange?.();
  }
  peerFin(): void {
    this.receivedFinFlag = true;
    this.state =
      this.state === "FIN-WAIT-2" || this.state === "FIN-WAIT-1" ? "TIME-WAIT" : "CLOSE-WAIT";
    this.onChange?.();
  }
  acknowledge(count: number): void {
    this.queued.splice(0, count);
    this.onChange?.();
  }
}

export class FakeListener implements TcpListener {
  readonly queue: FakeConnection[] = [];
  closed = false;
  onChange: (() => void) | undefined;
  constructor(
    readonly localAddress: number,
    readonly localPort: number,
    public backlog: number,
  ) {}
  get acceptQueueLength(): number {
    return this.queue.length;
  }
  accept(): TcpConnection | undefined {
    return this.queue.shift();
  }
  close(): void {
    this.closed = true;
    for (const c of this.queue) c.abort();
    this.queue.length = 0;
  }
  /** A handshake completed: a new connection waits for accept(). */
  arrive(remoteAddress: number, remotePort: number): FakeConnection {
    const address = this.localAddress === 0 ? LOCAL : this.localAddress;
    const c = new FakeConnection(
      address,
      this.localPort,
      remoteAddress,
      remotePort,
      { ...FAKE_OPTIONS },
      "ESTABLISHED",
    );
    this.queue.push(c);
    this.onChange?.();
    return c;
  }
}

export class FakeTcp implements TcpLayer {
  readonly listeners: FakeListener[] = [];
  readonly connections: FakeConnection[] = [];
  /** Ports the "stack" still holds without a socket (TIME-WAIT). */
  readonly heldPorts = new Set<number>();

  listen(localAddress: number, localPort: number, backlog: number): FakeListener {
    const l = new FakeListener(localAddress, localPort, backlog);
    this.listeners.push(l);
    return l;
  }
  connect(
    local: { address: number; port: number },
    remote: { address: number; port: number },
    options: TcpConnectionOptions,
  ): FakeConnection {
    const c = new FakeConnection(
      local.address,
      local.port,
      remote.address,
      remote.port,
      options,
      "SYN-SENT",
    );
    this.connections.push(c);
    return c;
  }
  portInUse(_address: number, port: number): boolean {
    return this.heldPorts.has(port);
  }
  fourTupleInUse(la: number, lp: number, ra: number, rp: number): boolean {
    return this.connections.some(
      (c) =>
        c.state !== "CLOSED" &&
        c.localAddress === la &&
        c.localPort === lp &&
        c.remoteAddress === ra &&
        c.remotePort === rp,
    );
  }
  get last(): FakeConnection {
    return this.connections[this.connections.length - 1]!;
  }
}

/** 10.0.0.2, the fake stack's own address. */
export const LOCAL = 0x0a000002;
/** 10.0.0.1, the peer. */
export const PEER = 0x0a000001;

export interface FakeStack extends SocketStack {
  readonly tcp: FakeTcp;
  readonly udp: Udp;
  /** UDP datagrams "sent": destination and data. */
  readonly sentPackets: Uint8Array[];
}

export function fakeStack(seed = 1): FakeStack {
  const sentPackets: Uint8Array[] = [];
  const inet = ipv4Network(
    { output: (packet: Uint8Array) => sentPackets.push(packet.slice()) },
    { address: LOCAL, mtu: 1500 },
  );
  const host = {
    address: LOCAL,
    stats: new Stats(),
    networkFor: () => inet,
    icmp: { sendDestinationUnreachable: () => {} },
    icmpv6: { sendDestinationUnreachable: () => {} },
  };
  return {
    address: LOCAL,
    random: new Random(seed),
    tcp: new FakeTcp(),
    udp: new Udp(host),
    sentPackets,
  };
}

export interface FakeSocketEnv {
  readonly sockets: SocketApi;
  readonly stack: FakeStack;
  readonly clock: VirtualClock;
  /** How many times the API kicked the (absent) driver. */
  kicks(): number;
}

/** The socket API over a fresh fake stack, on a VirtualClock, with FAKE_OPTIONS. */
export function fakeSocketApi(): FakeSocketEnv {
  const stack = fakeStack();
  const clock = new VirtualClock();
  let kicks = 0;
  const sockets = new SocketApi(
    stack,
    clock,
    () => kicks++,
    () => ({ ...FAKE_OPTIONS }),
  );
  return { sockets, stack, clock, kicks: () => kicks };
}

/** The errno of the SocketError `call` throws; undefined if it returns. Other errors propagate. */
export function errnoOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    if (error instanceof SocketError) return error.code;
    throw error;
  }
  return undefined;
}
