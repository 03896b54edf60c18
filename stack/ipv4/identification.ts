/**
 * The Identification field of outgoing datagrams (RFC 791 §3.2: "The identification
 * field is used to distinguish the fragments of one datagram from those of another").
 *
 * RFC 791 asks only that it be unique per (source, destination, protocol) while the
 * datagram may live. One global counter would do, but it leaks: anyone can watch it
 * advance and learn how much this host sends to others (the "idle scan" of nmap -sI),
 * and predict values to inject fake fragments. RFC 7739 §5.3 suggests a table of
 * counters indexed by a keyed hash of the flow, each starting at a random value. That
 * is what this is (Linux's ip_idents works the same way).
 */
import type { Random } from "../random.ts";

/** Buckets in the table (a power of two); more buckets, fewer flows sharing one. */
const BUCKETS = 2048;

export class IdentificationTable {
  private readonly counters = new Uint16Array(BUCKETS);
  private readonly key: number;

  constructor(random: Random) {
    for (let i = 0; i < BUCKETS; i++) this.counters[i] = random.nextUint32() & 0xffff;
    this.key = random.nextUint32();
  }

  /** The next identification for a datagram from `source` to `destination`. */
  next(source: number, destination: number, protocol: number): number {
    const bucket = this.bucketOf(source, destination, protocol);
    const id = this.counters[bucket]!;
    this.counters[bucket] = (id + 1) & 0xffff;
    return id;
  }

  private bucketOf(source: number, destination: number, protocol: number): number {
    // A keyed mix (murmur3's finalizer over the xor of the inputs and a secret key):
    // without the key, an observer cannot tell which flows share a counter.
    let h = (source ^ Math.imul(destination, 0x9e3779b1) ^ (protocol << 24) ^ this.key) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & (BUCKETS - 1);
  }
}
