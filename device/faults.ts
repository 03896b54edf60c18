/**
 * What can go wrong on a wire, as seeded decisions: the simulated link
 * (`memory_link.ts`) asks a `FaultPlan` what happens to each packet it carries.
 *
 * TCP exists because IP does not promise delivery (RFC 9293 §2.6: "TCP must recover from
 * data that is damaged, lost, duplicated, or delivered out of order"). These are exactly
 * those four, plus delay and a bandwidth limit, so tests can show each recovery.
 *
 * Every decision comes from one seeded `Random`, drawn in a fixed order per packet, so a
 * seed names one exact fault sequence and a failing test replays.
 */
import type { Random } from "../stack/random.ts";

export interface FaultOptions {
  /** Probability that a packet is lost (0..1). */
  loss?: number;
  /** Probability that a packet is delivered twice. */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelayMs`, letting later ones pass. */
  reorder?: number;
  /** Probability that one random bit of the packet is flipped. */
  corrupt?: number;
  /** Fixed one-way propagation delay (ms). Default 0. */
  delayMs?: number;
  /** Extra delay, uniform in [0, jitterMs] per packet (ms); can itself reorder. */
  jitterMs?: number;
  /** Extra hold-back for a reordered packet (ms). Default 10. */
  reorderDelayMs?: number;
  /** Link bandwidth: each packet takes size / rate seconds to serialize, queued FIFO. */
  rateBytesPerSecond?: number;
}

/** How often each fault happened in one direction; the tests read these. */
export interface FaultCounters {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Larger than the link MTU: dropped, as a real NIC would. */
  oversize: number;
  /** Tail-dropped because the serialization queue was full (`queueBytes`). */
  queueDrops: number;
}

export function emptyFaultCounters(): FaultCounters {
  return {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    oversize: 0,
    queueDrops: 0,
  };
}

/** The fate of one packet: dropped, or delivered after `delaysMs` (two entries: duplicated). */
export interface Fate {
  lost: boolean;
  /** Index of the bit to flip, or -1. */
  corruptBit: number;
  /** One delay per copy delivered, measured from the moment serialization ends. */
  delaysMs: number[];
}

export class FaultPlan {
  private readonly options: Required<FaultOptions>;

  constructor(
    private readonly random: Random,
    options: FaultOptions = {},
  ) {
    this.options = {
      loss: options.loss ?? 0,
      duplicate: options.duplicate ?? 0,
      reorder: options.reorder ?? 0,
      corrupt: options.corrupt ?? 0,
      delayMs: options.delayMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      reorderDelayMs: options.reorderDelayMs ?? 10,
      rateBytesPerSecond: options.rateBytesPerSecond ?? 0,
    };
    for (const name of ["loss", "duplicate", "reorder", "corrupt"] as const) {
      const p = this.options[name];
      if (!(p >= 0 && p <= 1))
        throw new RangeError(`fault probability ${name} must be in [0, 1], got ${p}`);
    }
  }

  /** Milliseconds the link is busy sending `bytes` (0 when there is no rate limit). */
  serializationMs(bytes: number): number {
    const rate = this.options.rateBytesPerSecond;
    return rate > 0 ? (bytes * 1000) / rate : 0;
  }

  /** Bytes the link serializes in `ms` (0 when there is no rate limit). */
  bytesSentIn(ms: number): number {
    return (ms * this.options.rateBytesPerSecond) / 1000;
  }

  /**
   * Decides what happens to a packet of `bytes` bytes, counting into `counters`. Draws
   * the same number of random values for every packet, so one packet's fate does not
   * shift the decisions for the packets after it.
   */
  decide(bytes: number, counters: FaultCounters): Fate {
    const o = this.options;
    const r = this.random;
    const lost = r.chance(o.loss);
    const corrupt = r.chance(o.corrupt);
    const bit = r.nextInt(0, bytes * 8 - 1);
    const duplicate = r.chance(o.duplicate);
    const reorder = r.chance(o.reorder);
    const jitter = [r.nextFloat() * o.jitterMs, r.nextFloat() * o.jitterMs];
    if (lost) {
      counters.lost++;
      return { lost: true, corruptBit: -1, delaysMs: [] };
    }
    if (corrupt) counters.corrupted++;
    if (duplicate) counters.duplicated++;
    if (reorder) counters.reordered++;
    const base = o.delayMs + (reorder ? o.reorderDelayMs : 0);
    const delaysMs = [base + jitter[0]!];
    if (duplicate) delaysMs.push(base + jitter[1]!);
    return { lost: false, corruptBit: corrupt && bytes > 0 ? bit : -1, delaysMs };
  }
}

/** A copy of `packet` with bit `bitIndex` flipped (bit 0 = most significant of byte 0). */
export function flipBit(packet: Uint8Array, bitIndex: number): Uint8Array {
  const copy = packet.slice();
  const byte = bitIndex >>> 3;
  copy[byte] = copy[byte]! ^ (0x80 >>> (bitIndex & 7));
  return copy;
}
