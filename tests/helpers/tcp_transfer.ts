/**
 * A two-way transfer between two stacks on a memory link, driven step by step on the
 * VirtualClock: both sides write their stream in chunks, read in chunks, close when done
 * writing, and keep reading until the peer's FIN. Used by the lossy property, the
 * congestion-control goodput tests and bench/netsim.
 */

import type { AddressFamily } from "../../stack/network.ts";
import { Random } from "../../stack/random.ts";
import type { TcpConnection, TcpConnectionOptions } from "../../stack/tcp/connection.ts";
import { defaultTcpConnectionOptions } from "../../stack/tcp/tcp.ts";
import { addressesOf, type TwoHosts } from "./two_hosts.ts";

export interface TransferPlan {
  /** Bytes A sends to B, and B to A. */
  aToB: Uint8Array;
  bToA: Uint8Array;
  /** Largest write / read per step on each side. */
  writeChunkA: number;
  writeChunkB: number;
  readChunkA: number;
  readChunkB: number;
  /** Virtual ms between steps. */
  stepMs: number;
  /** Give up after this much virtual time. */
  limitMs: number;
  optionsA?: Partial<TcpConnectionOptions>;
  optionsB?: Partial<TcpConnectionOptions>;
  /** The network layer under the connection (both hosts are dual-stack). Default IPv4. */
  family?: AddressFamily;
}

export interface TransferResult {
  /** What each side read, in order. */
  receivedByA: Uint8Array;
  receivedByB: Uint8Array;
  client: TcpConnection;
  server: TcpConnection | undefined;
  /** Virtual ms from connect until both sides had read everything and the FIN. */
  elapsedMs: number;
  finished: boolean;
}

export function randomBytes(seed: number, length: number): Uint8Array {
  const random = new Random(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = random.nextUint32() & 0xff;
  return bytes;
}

class Side {
  written = 0;
  closed = false;
  readonly received: Uint8Array;
  receivedLength = 0;
  private readonly scratch: Uint8Array;

  constructor(
    readonly out: Uint8Array,
    expected: number,
    readonly writeChunk: number,
    readChunk: number,
  ) {
    this.received = new Uint8Array(expected + 1);
    this.scratch = new Uint8Array(Math.max(1, readChunk));
  }

  step(conn: TcpConnection, now: number): void {
    if (this.written < this.out.length) {
      const end = Math.min(this.out.length, this.written + this.writeChunk);
      this.written += conn.send(this.out.subarray(this.written, end), now);
    }
    // CLOSE in SYN-SENT would delete the TCB (RFC 9293 §3.10.4), so wait for the handshake.
    if (this.written === this.out.length && !this.closed && conn.state !== "SYN-SENT") {
      this.closed = true;
      conn.close(now);
    }
    for (let guard = 0; guard < 1000; guard++) {
      const n = conn.receive(this.scratch, now);
      if (n === 0) break;
      const room = this.received.length - this.receivedLength;
      this.received.set(this.scratch.subarray(0, Math.min(n, room)), this.receivedLength);
      this.receivedLength += Math.min(n, room);
    }
  }

  get done(): boolean {
    return this.closed && this.receivedLength >= this.received.length - 1;
  }
}

export function runTransfer(hosts: TwoHosts, plan: TransferPlan): TransferResult {
  const { clock, a, b } = hosts;
  const start = clock.now();
  const addresses = addressesOf(plan.family ?? "inet");
  const listener = b.stack.tcp.listen(addresses.b, 80, 8, {
    ...defaultTcpConnectionOptions(),
    ...plan.optionsB,
  });
  const client = a.stack.tcp.connect(
    { address: addresses.a, port: 40000 },
    { address: addresses.b, port: 80 },
    { ...defaultTcpConnectionOptions(), ...plan.optionsA },
    clock.now(),
  );
  a.service();
  let server: TcpConnection | undefined;
  const sideA = new Side(plan.aToB, plan.bToA.length, plan.writeChunkA, plan.readChunkA);
  const sideB = new Side(plan.bToA, plan.aToB.length, plan.writeChunkB, plan.readChunkB);
  let elapsedMs = Number.NaN;
  while (clock.now() - start < plan.limitMs) {
    if (server === undefined) {
      server = listener.accept();
      if (server !== undefined && plan.optionsB !== undefined)
        server.options = { ...server.options, ...plan.optionsB };
    }
    sideA.step(client, clock.now());
    a.service();
    if (server !== undefined) {
      sideB.step(server, clock.now());
      b.service();
    }
    const bothRead = sideA.done && sideB.done && client.receivedFin && server?.receivedFin === true;
    if (bothRead && Number.isNaN(elapsedMs)) elapsedMs = clock.now() - start;
    if (bothRead && settled(client) && settled(server!)) break;
    if (client.state === "CLOSED" && client.error !== undefined) break;
    clock.advance(plan.stepMs);
  }
  listener.close(clock.now());
  return {
    receivedByA: sideA.received.subarray(0, sideA.receivedLength),
    receivedByB: sideB.received.subarray(0, sideB.receivedLength),
    client,
    server,
    elapsedMs,
    finished: !Number.isNaN(elapsedMs),
  };
}

/** Final states of a connection both of whose directions have closed (RFC 9293 §3.6). */
function settled(conn: TcpConnection): boolean {
  return conn.state === "CLOSED" || conn.state === "TIME-WAIT";
}

/**
 * A one-way transfer: A writes `data` in chunks of `chunk` bytes, B reads in chunks of
 * the same size; both buffers sized `bufferBytes` when given.
 */
export function runOneWay(
  hosts: TwoHosts,
  data: Uint8Array,
  how: { chunk: number; stepMs: number; limitMs: number; bufferBytes?: number },
): TransferResult {
  const options =
    how.bufferBytes === undefined
      ? undefined
      : { receiveBufferBytes: how.bufferBytes, sendBufferBytes: how.bufferBytes };
  return runTransfer(hosts, {
    aToB: data,
    bToA: new Uint8Array(0),
    writeChunkA: how.chunk,
    writeChunkB: 1,
    readChunkA: 1,
    readChunkB: how.chunk,
    stepMs: how.stepMs,
    limitMs: how.limitMs,
    ...(options === undefined ? {} : { optionsA: options, optionsB: options }),
  });
}
