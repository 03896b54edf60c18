/**
 * Micro benchmarks (tinybench) of the hot paths, with no device:
 *
 *   Internet checksum over 20 B, 1500 B, 64 KiB      stack/checksum.ts internetChecksum
 *   IPv4 header parse + validate                     stack/ipv4/header.ts parseIpv4Header
 *   TCP segment parse with options (MSS, SACK-permitted, timestamps, window scale)
 *                                                    stack/tcp/header.ts parseSegment
 *   receive path: one in-order data segment arriving on an established connection, read out
 *   send path: one MSS sent, its ACK processed        (two stacks joined in memory)
 *   bytes allocated per segment on both paths         (bun:jsc heap capacity growth)
 *   and the objects made per call, by type            (bun:jsc heap census)
 *
 * Each piece is imported when it runs, so what does not exist yet is "n/a", not a crash.
 * Usage: bun bench/micro.ts [--time-ms 300]
 */
import { Bench } from "tinybench";
import { createMemoryPair, type MemoryPair } from "./memory_pair.ts";
import { median, na, type Row, reasonOf, renderTable, type Value } from "./report.ts";

const SECTION = "Micro (in memory, per operation)";
/** Results land here so the engine cannot drop the work as dead code. */
export const sink = { value: 0 };
const IP = 20;

interface MicroCase {
  name: string;
  /** Bytes handled per operation, to show MB/s beside the time. */
  bytes?: number;
  /** Builds the operation; throws if what it needs does not exist yet. */
  setup: () => Promise<() => void>;
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

async function checksumCase(length: number): Promise<() => void> {
  const { internetChecksum } = await import("../stack/checksum.ts");
  const bytes = randomBytes(length);
  return () => {
    sink.value ^= internetChecksum(bytes);
  };
}

/** A valid IPv4 header (checksum filled in) followed by `payload` bytes. */
async function ipv4Packet(protocol: number, payload: Uint8Array): Promise<Uint8Array> {
  const { emitIpv4Header } = await import("../stack/ipv4/header.ts");
  const packet = new Uint8Array(IP + payload.length);
  packet.set(payload, IP);
  emitIpv4Header(packet, {
    totalLength: packet.length,
    identification: 1,
    dontFragment: true,
    protocol,
    source: 0x0a000001,
    destination: 0x0a000002,
  });
  return packet;
}

/** Parses into one reused header, as `Ipv4.input` does. */
async function ipv4ParseCase(): Promise<() => void> {
  const { emptyIpv4Header, parseIpv4Header } = await import("../stack/ipv4/header.ts");
  const packet = await ipv4Packet(17, randomBytes(100));
  const into = emptyIpv4Header();
  return () => {
    const header = parseIpv4Header(packet, into);
    if ("totalLength" in header) sink.value ^= header.totalLength;
  };
}

/** Parses into one reused segment, as `Tcp.input` does (the payload view is still new). */
async function tcpParseCase(): Promise<() => void> {
  const { buildSegment, finishChecksum, parseSegment, ReceivedSegment } = await import(
    "../stack/tcp/header.ts"
  );
  const fields = {
    sourcePort: 40000,
    destinationPort: 80,
    seq: 1,
    ack: 1,
    flags: 0x12,
    wnd: 65535,
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 1, echo: 0 }, windowScale: 7 },
  };
  const { packet } = buildSegment(fields, 0);
  finishChecksum(packet, 0x0a000001, 0x0a000002);
  const datagram = {
    source: 0x0a000001,
    destination: 0x0a000002,
    protocol: 6,
    ttl: 64,
    header: packet.subarray(0, IP),
    payload: packet.subarray(IP),
    broadcast: false,
  };
  const into = new ReceivedSegment();
  return () => {
    const segment = parseSegment(datagram, into);
    if (typeof segment !== "string") sink.value ^= segment.seq;
  };
}

/**
 * Sets the 32-bit field at `at` to `value` and patches the TCP checksum (RFC 1624), with
 * byte arithmetic only: the harness must not allocate inside the measured loop.
 */
async function fieldPatcher(): Promise<(packet: Uint8Array, at: number, value: number) => void> {
  const { updateChecksum } = await import("../stack/checksum.ts");
  const sumAt = IP + 16;
  return (packet, at, value) => {
    let checksum = word(packet, sumAt);
    checksum = updateChecksum(checksum, word(packet, at), value >>> 16);
    checksum = updateChecksum(checksum, word(packet, at + 2), value & 0xffff);
    setWord(packet, at, value >>> 16);
    setWord(packet, at + 2, value & 0xffff);
    setWord(packet, sumAt, checksum);
  };
}

function word(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function setWord(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value & 0xff;
}

/** Data bytes of the TCP segment in `packet`, which is `length` bytes long. */
function payloadLength(packet: Uint8Array, length = packet.length): number {
  return length - IP - (packet[IP + 12]! >>> 4) * 4;
}

function seqOf(packet: Uint8Array): number {
  return ((word(packet, IP + 4) << 16) | word(packet, IP + 6)) >>> 0;
}

let pairPromise: Promise<MemoryPair> | undefined;
let now = 1000;

/** One in-order data segment arrives at the server, which then reads it out. */
async function receiveCase(): Promise<() => void> {
  pairPromise ??= createMemoryPair();
  const pair = await pairPromise;
  const patch = await fieldPatcher();
  const data = randomBytes(1448);
  pair.clientConnection.send(data, now);
  pair.client.poll(now);
  const template = pair.toServer.shift();
  if (template === undefined || payloadLength(template) === 0) {
    throw new Error("the client sent no data segment");
  }
  pair.toServer.length = 0;
  const length = payloadLength(template);
  let seq = seqOf(template);
  const into = new Uint8Array(65536);
  pair.queueing = false;
  return () => {
    pair.server.receive(template, now);
    pair.serverConnection.receive(into, now);
    seq = (seq + length) >>> 0;
    patch(template, IP + 4, seq);
  };
}

/** The client sends one MSS and processes the server's ACK for it. */
async function sendCase(): Promise<() => void> {
  const pair = await createMemoryPair();
  const patch = await fieldPatcher();
  const data = randomBytes(1448);
  // One real exchange gives an ACK from the server to reuse, its ack field patched.
  pair.clientConnection.send(data, now);
  pair.client.poll(now);
  pair.exchange(now);
  pair.server.poll(now + 500);
  const ack = pair.toClient.pop();
  pair.exchange(now + 500);
  if (ack === undefined) throw new Error("the server sent no ACK");
  now += 500;
  pair.queueing = false;
  const segment = pair.lastToServer;
  return () => {
    pair.lastToServerLength = 0;
    pair.clientConnection.send(data, now);
    pair.client.poll(now);
    if (pair.lastToServerLength === 0) return;
    const end = seqOf(segment) + payloadLength(segment, pair.lastToServerLength);
    patch(ack, IP + 8, end >>> 0);
    pair.client.receive(ack, now);
  };
}

const CASES: MicroCase[] = [
  { name: "Internet checksum, 20 B", bytes: 20, setup: () => checksumCase(20) },
  { name: "Internet checksum, 1500 B", bytes: 1500, setup: () => checksumCase(1500) },
  { name: "Internet checksum, 64 KiB", bytes: 65536, setup: () => checksumCase(65536) },
  { name: "IPv4 header parse + validate", setup: ipv4ParseCase },
  { name: "TCP segment parse with options", setup: tcpParseCase },
  { name: "Receive path: one in-order segment", bytes: 1448, setup: receiveCase },
  { name: "Send path: one MSS + its ACK", bytes: 1448, setup: sendCase },
];

/**
 * Bytes allocated per call of `operation`, approximately: JSC exposes no allocation
 * counter and its object counts only change at a collection, but after a full GC the
 * heap's capacity grows with what is allocated (16 KiB blocks, so ± 8 B at 2,000 calls);
 * an eden collection in between would hide some of it, hence the median of three.
 */
async function bytesAllocatedPerCall(operation: () => void): Promise<number> {
  const { heapStats } = await import("bun:jsc");
  const calls = 2000;
  const estimates: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    Bun.gc(true);
    const before = heapStats().heapCapacity;
    for (let i = 0; i < calls; i++) operation();
    estimates.push((heapStats().heapCapacity - before) / calls);
  }
  return median(estimates);
}

/**
 * Objects made per call of `operation`, by JSC type ("Uint8Array 2, Object 1"): the heap
 * census counts cells not yet collected too, so after a full GC and with fewer calls
 * than fit in one collection's budget, the growth is what the calls allocated.
 */
async function objectsPerCall(operation: () => void): Promise<string> {
  const { heapStats } = await import("bun:jsc");
  const calls = 1000;
  Bun.gc(true);
  const before = heapStats().objectTypeCounts;
  for (let i = 0; i < calls; i++) operation();
  const after = heapStats().objectTypeCounts;
  const perCall = Object.entries(after)
    .map(([type, count]) => [type, (count - (before[type] ?? 0)) / calls] as const)
    .filter(([, count]) => count >= 0.05)
    .sort((a, b) => b[1] - a[1]);
  return perCall.length === 0
    ? "no objects"
    : perCall.map(([type, count]) => `${type} ${+count.toFixed(1)}`).join(", ");
}

export async function runMicro(options: { timeMs: number }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const micro of CASES) {
    let operation: () => void;
    try {
      operation = await micro.setup();
      operation();
    } catch (error) {
      rows.push({ section: SECTION, name: micro.name, unit: "ns", ours: na(reasonOf(error)) });
      continue;
    }
    const bench = new Bench({ time: options.timeMs, warmupTime: options.timeMs / 3 });
    bench.add(micro.name, operation);
    await bench.run();
    const result = bench.tasks[0]?.result;
    const ours: Value =
      result !== undefined && "latency" in result
        ? { value: result.latency.p50 * 1e6, samples: [result.latency.p50 * 1e6] }
        : na(result !== undefined && "error" in result ? reasonOf(result.error) : "no result");
    const nsPerOp = "value" in ours ? ours.value : Number.NaN;
    const throughput =
      micro.bytes !== undefined && Number.isFinite(nsPerOp)
        ? `${((micro.bytes / nsPerOp) * 1000).toFixed(0)} MB/s; `
        : "";
    let allocation = "";
    if (micro.name.includes("path") || micro.name.includes("parse")) {
      const bytes = await bytesAllocatedPerCall(operation);
      const objects = await objectsPerCall(operation);
      allocation = `≈ ${bytes.toFixed(0)} B allocated per call (JSC heap growth; ${objects}); `;
    }
    const note = `${throughput}${allocation}${Number.isFinite(nsPerOp) ? `${Math.round(1e9 / nsPerOp).toLocaleString("en-US")} ops/s` : ""}`;
    rows.push({ section: SECTION, name: micro.name, unit: "ns", ours, note });
  }
  return rows;
}

if (import.meta.main) {
  const at = process.argv.indexOf("--time-ms");
  const timeMs = at >= 0 ? Number(process.argv[at + 1]) : 300;
  console.log(renderTable(await runMicro({ timeMs })));
}
