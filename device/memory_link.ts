/**
 * A simulated point-to-point link: two `Device` ends joined by two one-way wires, each
 * with its own seeded faults (`faults.ts`). Two stacks on a memory link talk exactly as
 * over a TUN device, but every packet's fate and timing is reproducible, and on a
 * `VirtualClock` a whole lossy transfer runs in milliseconds of real time.
 *
 *   stack A ── send ──▶ [wire A→B: rate, loss, corrupt, duplicate, reorder, delay] ──▶ B
 *   stack A ◀────────── [wire B→A: the same, its own random sequence] ◀── send ── B
 *
 * Packets are copied on send (the sender reuses its buffer), then scheduled on the clock
 * with `clock.at`; nothing is delivered synchronously inside `send`. Packets due at the
 * same moment are delivered as one batch, followed by one `flush`, like a TUN read burst.
 *
 * @example
 * const clock = new VirtualClock();
 * const [a, b] = createMemoryLink(clock, { seed: 1, faults: { loss: 0.1, delayMs: 5 } });
 * b.onReceive((packet) => console.log("b got", packet.length));
 * a.send(packet);
 * clock.runUntilIdle();
 */
import type { Clock, Timer } from "../stack/clock.ts";
import { Random } from "../stack/random.ts";
import type { Device } from "./device.ts";
import {
  emptyFaultCounters,
  type FaultCounters,
  type FaultOptions,
  FaultPlan,
  flipBit,
} from "./faults.ts";

export interface MemoryLinkOptions {
  /** Largest packet carried (bytes); larger ones are dropped and counted. Default 1500. */
  mtu?: number;
  /** Seeds both directions' faults (each direction derives its own sequence from it). */
  seed: number;
  /** Faults on both directions (or only A→B when `reverseFaults` is given). */
  faults?: FaultOptions;
  /** Faults on the B→A direction, when it should differ. */
  reverseFaults?: FaultOptions;
  /**
   * With a rate limit: bytes that may be queued or being serialized before new packets
   * are tail-dropped (a router's queue). Default: unbounded.
   */
  queueBytes?: number;
}

/** Mixes the seed for the reverse direction so the two wires draw different sequences. */
const REVERSE_SEED_MIX = 0xa5a5a5a5;

/** Creates the link and returns its two ends, A and B. */
export function createMemoryLink(
  clock: Clock,
  options: MemoryLinkOptions,
): [MemoryLinkEnd, MemoryLinkEnd] {
  const mtu = options.mtu ?? 1500;
  const forward = new Wire(
    clock,
    new FaultPlan(new Random(options.seed), options.faults),
    options.queueBytes,
  );
  const reverseRandom = new Random((options.seed ^ REVERSE_SEED_MIX) >>> 0);
  const reverse = new Wire(
    clock,
    new FaultPlan(reverseRandom, options.reverseFaults ?? options.faults),
    options.queueBytes,
  );
  const a = new MemoryLinkEnd("A", mtu, forward, reverse);
  const b = new MemoryLinkEnd("B", mtu, reverse, forward);
  forward.receiver = b;
  reverse.receiver = a;
  return [a, b];
}

/** One end of a memory link. */
export class MemoryLinkEnd implements Device {
  private handler: ((packet: Uint8Array) => void) | undefined;
  private flush: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly label: "A" | "B",
    readonly mtu: number,
    private readonly outgoing: Wire,
    private readonly incoming: Wire,
  ) {}

  /** What happened to the packets this end sent. */
  get faults(): FaultCounters {
    return this.outgoing.counters;
  }

  /** What happened to the packets sent towards this end. */
  get incomingFaults(): FaultCounters {
    return this.incoming.counters;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(packet: Uint8Array): void {
    if (this.closed) return;
    this.outgoing.carry(packet, this.mtu);
  }

  onReceive(handler: (packet: Uint8Array) => void, flush?: () => void): void {
    this.handler = handler;
    this.flush = flush;
  }

  /** Closes this end: nothing more is sent from it or delivered to it. */
  close(): Promise<void> {
    this.closed = true;
    this.outgoing.clear();
    this.incoming.clear();
    return Promise.resolve();
  }

  /** Called by the wire with every packet due now, in order. */
  deliverBatch(packets: Uint8Array[]): number {
    if (this.closed || this.handler === undefined) return 0;
    let delivered = 0;
    for (const packet of packets) {
      if (this.closed) break;
      this.handler(packet);
      delivered++;
    }
    this.flush?.();
    return delivered;
  }
}

interface InFlight {
  atMs: number;
  order: number;
  packet: Uint8Array;
}

/** One direction: the fault plan, the serialization queue and the packets in flight. */
class Wire {
  readonly counters = emptyFaultCounters();
  receiver: MemoryLinkEnd | undefined;
  /** Sorted by (atMs, order): delivery order. */
  private inFlight: InFlight[] = [];
  private nextOrder = 0;
  private busyUntilMs = 0;
  private timer: Timer | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly plan: FaultPlan,
    private readonly queueBytes: number | undefined,
  ) {}

  carry(packet: Uint8Array, mtu: number): void {
    this.counters.sent++;
    if (packet.byteLength > mtu) {
      this.counters.oversize++;
      return;
    }
    const now = this.clock.now();
    const serializationMs = this.plan.serializationMs(packet.byteLength);
    if (this.queueFull(now, packet.byteLength)) {
      this.counters.queueDrops++;
      return;
    }
    const fate = this.plan.decide(packet.byteLength, this.counters);
    // The packet occupies the wire whether or not it survives it.
    const sentAt = Math.max(now, this.busyUntilMs) + serializationMs;
    this.busyUntilMs = sentAt;
    if (fate.lost) return;
    const copy = fate.corruptBit >= 0 ? flipBit(packet, fate.corruptBit) : packet.slice();
    fate.delaysMs.forEach((delayMs, i) => {
      this.schedule(sentAt + delayMs, i === 0 ? copy : copy.slice());
    });
  }

  /** Drops everything in flight (an end closed). */
  clear(): void {
    this.inFlight = [];
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
  }

  /** With a queue limit: would this packet overflow the bytes still waiting to be sent? */
  private queueFull(now: number, bytes: number): boolean {
    if (this.queueBytes === undefined) return false;
    const backlogMs = Math.max(0, this.busyUntilMs - now);
    return backlogMs > 0 && this.plan.bytesSentIn(backlogMs) + bytes > this.queueBytes;
  }

  private schedule(atMs: number, packet: Uint8Array): void {
    const entry: InFlight = { atMs, order: this.nextOrder++, packet };
    // Insert after every entry due no later (stable: equal times keep sending order).
    let i = this.inFlight.length;
    while (i > 0 && this.inFlight[i - 1]!.atMs > atMs) i--;
    this.inFlight.splice(i, 0, entry);
    this.arm();
  }

  private arm(): void {
    const head = this.inFlight[0];
    if (head === undefined || head.atMs >= this.timerAtMs) return;
    this.timer?.cancel();
    this.timerAtMs = head.atMs;
    this.timer = this.clock.at(head.atMs, () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let due = 0;
    while (due < this.inFlight.length && this.inFlight[due]!.atMs <= now) due++;
    const batch = this.inFlight.splice(0, due).map((entry) => entry.packet);
    if (batch.length > 0 && this.receiver !== undefined) {
      this.counters.delivered += this.receiver.deliverBatch(batch);
    }
    this.arm();
  }
}
