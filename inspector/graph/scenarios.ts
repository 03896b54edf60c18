/**
 * Real captures of our stack, made deterministic: two stacks on the simulated link
 * (`device/memory_link.ts`) on a virtual clock, the sender's packets recorded by the pcap
 * writer (`device/pcap.ts`) where tcpdump on the sender would see them, and chosen
 * segments lost on the wire after that point. The same seed gives the same bytes, so the
 * pictures in docs/ and the fixtures in tests/fixtures/ can be made again at will:
 *
 *   bun inspector/graph/make_pictures.ts
 *
 *   handshake    a three-way handshake, 2 KB each way, a close from each side
 *   sack-repair  60 KB with the 8th data segment lost: three duplicate ACKs carrying SACK
 *                blocks, one fast retransmit (RFC 6675), no timeout
 *   tail-loss    10 segments with the last one lost: no ACK will come to start recovery,
 *                so the RACK-TLP probe (RFC 8985 §7), 2·SRTT later, retransmits it: no RTO
 *   zero-window  a receiver that stops reading: its window closes, the sender persists
 *                (RFC 9293 §3.8.6.1) until the reader drains it
 */

import type { Device } from "../../device/device.ts";
import { attachDriver } from "../../device/driver.ts";
import { createMemoryLink } from "../../device/memory_link.ts";
import { PcapWriter, withPcap } from "../../device/pcap.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { type Clock, VirtualClock } from "../../stack/clock.ts";
import { Random } from "../../stack/random.ts";
import { Stack } from "../../stack/stack.ts";
import type { TcpConnection } from "../../stack/tcp/connection.ts";
import { defaultTcpConnectionOptions } from "../../stack/tcp/tcp.ts";
import type { Trace } from "../../stack/trace.ts";
import { decodeTcpPacket } from "../tcp_segment.ts";

export const SCENARIOS = ["handshake", "sack-repair", "tail-loss", "zero-window"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

interface Plan {
  /** Bytes the client (10.0.0.1) sends, and the server (10.0.0.2) answers. */
  clientBytes: number;
  serverBytes: number;
  /** 1-based numbers of the client's data segments lost after capture. */
  lose: readonly number[];
  /** The server's receive buffer, and how long it waits before reading at all. */
  receiveBufferBytes?: number;
  readAfterMs?: number;
  readChunk?: number;
}

const PLANS: Record<ScenarioName, Plan> = {
  handshake: { clientBytes: 2000, serverBytes: 2000, lose: [] },
  "sack-repair": { clientBytes: 60_000, serverBytes: 0, lose: [8] },
  "tail-loss": { clientBytes: 14_480, serverBytes: 0, lose: [10] },
  "zero-window": {
    clientBytes: 40_000,
    serverBytes: 0,
    lose: [],
    receiveBufferBytes: 8192,
    readAfterMs: 1500,
    readChunk: 4096,
  },
};

const CLIENT = parseIpv4("10.0.0.1")!;
const SERVER = parseIpv4("10.0.0.2")!;

/** Loses the client's chosen data segments on the wire. */
function losing(device: Device, lose: readonly number[]): Device {
  let dataSegments = 0;
  return {
    get mtu() {
      return device.mtu;
    },
    get capabilities() {
      return device.capabilities;
    },
    send(packet, offload) {
      const s = decodeTcpPacket(packet, 0);
      if (s !== undefined && s.dataBytes > 0 && lose.includes(++dataSegments)) return;
      device.send(packet, offload);
    },
    onReceive: (handler, flush) => device.onReceive(handler, flush),
    close: () => device.close(),
  };
}

export interface ScenarioOptions {
  /** A trace on the client's stack, given the scenario's clock (the live recorder, in tests). */
  trace?: (clock: Clock) => Trace;
}

/** Runs one scenario to the end and returns its capture (classic pcap, raw IP). */
export async function captureScenario(
  name: ScenarioName,
  options: ScenarioOptions = {},
): Promise<Uint8Array> {
  const plan = PLANS[name];
  const clock = new VirtualClock(1_700_000_000_000);
  const [endA, endB] = createMemoryLink(clock, {
    seed: 17,
    faults: { delayMs: 10, rateBytesPerSecond: 2_000_000 },
  });
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter({ write: (b) => void chunks.push(b.slice()), close: () => {} });
  const client = new Stack({
    address: CLIENT,
    prefixLength: 24,
    mtu: 1500,
    random: new Random(35),
    ...(options.trace === undefined ? {} : { trace: options.trace(clock) }),
  });
  const server = new Stack({
    address: SERVER,
    prefixLength: 24,
    mtu: 1500,
    random: new Random(36),
  });
  const a = attachDriver(client, withPcap(losing(endA, plan.lose), writer, clock), clock);
  const b = attachDriver(server, endB, clock);
  const serverOptions = {
    ...defaultTcpConnectionOptions(),
    ...(plan.receiveBufferBytes === undefined
      ? {}
      : { receiveBufferBytes: plan.receiveBufferBytes }),
  };
  const listener = server.tcp.listen(SERVER, 80, 4, serverOptions);
  const conn = client.tcp.connect(
    { address: CLIENT, port: 40000 },
    { address: SERVER, port: 80 },
    defaultTcpConnectionOptions(),
    clock.now(),
  );
  a.service();
  const start = clock.now();
  const sides = {
    client: new Side(plan.clientBytes, false),
    server: new Side(plan.serverBytes, true),
  };
  let peer: TcpConnection | undefined;
  for (let step = 0; step < 60_000; step++) {
    peer ??= listener.accept();
    sides.client.step(conn, clock.now(), true);
    a.service();
    if (peer !== undefined) {
      const reading = clock.now() - start >= (plan.readAfterMs ?? 0);
      sides.server.step(peer, clock.now(), reading, plan.readChunk);
      b.service();
    }
    if (done(conn) && peer !== undefined && done(peer)) break;
    clock.advance(1);
  }
  // Let TIME-WAIT and the last ACKs go by.
  clock.advance(5000);
  await a.close();
  await b.close();
  writer.close();
  return concat(chunks);
}

function done(c: TcpConnection): boolean {
  return c.state === "CLOSED" || c.state === "TIME-WAIT";
}

/** One end's application: write everything, close, read until the peer's FIN. */
class Side {
  private written = 0;
  private closed = false;
  private readonly scratch = new Uint8Array(65536);

  constructor(
    private readonly total: number,
    private readonly closeAfterPeer: boolean,
  ) {}

  step(c: TcpConnection, now: number, reading: boolean, readChunk = 65536): void {
    if (c.state === "SYN-SENT") return;
    if (this.written < this.total) {
      const data = new Uint8Array(Math.min(16384, this.total - this.written)).fill(0x61);
      this.written += c.send(data, now);
    }
    // The server closes once the client has (a one-way transfer's usual order).
    const peerDone = this.closeAfterPeer ? c.receivedFin : true;
    if (this.written >= this.total && !this.closed && peerDone) {
      this.closed = true;
      c.close(now);
    }
    if (reading) c.receive(this.scratch.subarray(0, readChunk), now);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
