/**
 * Reassembly of fragmented datagrams (RFC 791 §3.2 "Reassembly", RFC 1122 §3.3.2).
 *
 * Fragments of one datagram share (source, destination, protocol, identification). Each
 * datagram in progress keeps the data it has as a sorted list of disjoint intervals (the
 * dual of RFC 815's hole list: the holes are the gaps between intervals). A fragment may
 * arrive in any order and more than once; only the octets not yet held are copied in.
 * Octets that overlap what is held must be identical, otherwise the whole datagram is
 * discarded (overlapping rewrites are an attack on firewalls, RFC 1858 / RFC 3128).
 *
 * Resources are bounded: each datagram has a deadline (timeout), and all datagrams
 * together stay under a byte and count budget; when full the oldest is evicted. Since
 * every datagram starts its timer on arrival and `now` never decreases, Map insertion
 * order is both age order and deadline order, so "oldest" and "next deadline" are O(1).
 */
import type { Stats } from "../stats.ts";
import {
  FLAG_MF,
  FLAGS_FRAGMENT_OFFSET,
  FRAGMENT_OFFSET_MASK,
  IPV4_MAX_DATAGRAM,
  refreshHeaderChecksum,
  TOTAL_LENGTH,
  viewOf,
} from "./header.ts";

export interface ReassemblyLimits {
  /** RFC 1122 §3.3.2 suggests 60-120 s; Linux ipfrag_time is 30 s. */
  timeoutMs: number;
  /** Bytes held by all partial datagrams, bookkeeping included (Linux: 4 MiB). */
  maxBytes: number;
  /** Datagrams in progress at once. */
  maxDatagrams: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  timeoutMs: 30_000,
  maxBytes: 1024 * 1024,
  maxDatagrams: 256,
};

/** Charged per interval and per datagram, so a flood of tiny fragments also fills the budget. */
const INTERVAL_OVERHEAD = 64;
const DATAGRAM_OVERHEAD = 256;

/** One arriving fragment: its parsed fields and views into the device's bytes. */
export interface Fragment {
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  readonly identification: number;
  /** In octets. */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  readonly broadcast: boolean;
  readonly header: Uint8Array;
  readonly payload: Uint8Array;
}

interface Interval {
  start: number;
  end: number;
  bytes: Uint8Array;
}

interface PartialDatagram {
  readonly key: string;
  readonly deadline: number;
  readonly broadcast: boolean;
  /** A copy of the header of the fragment at offset 0, once it has arrived. */
  firstHeader: Uint8Array | undefined;
  /** Data length, known once the last fragment (MF = 0) has arrived. */
  totalDataLength: number | undefined;
  intervals: Interval[];
  heldBytes: number;
  chargedBytes: number;
}

/** What `expire` reports about a datagram that timed out with its first fragment. */
export interface ExpiredDatagram {
  readonly header: Uint8Array;
  /** The first octets of the data (ICMP Time Exceeded quotes 8 of them). */
  readonly firstData: Uint8Array;
  readonly broadcast: boolean;
}

export type ReassemblyResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "complete"; readonly packet: Uint8Array; readonly headerLength: number }
  | { readonly kind: "failed"; readonly detail: string };

const INCOMPLETE: ReassemblyResult = { kind: "incomplete" };

function keyOf(f: Fragment): string {
  return `${f.source}/${f.destination}/${f.protocol}/${f.identification}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Reassembly {
  private readonly partials = new Map<string, PartialDatagram>();
  private chargedBytes = 0;
  readonly limits: ReassemblyLimits;

  constructor(
    private readonly stats: Stats,
    limits: Partial<ReassemblyLimits> = {},
  ) {
    this.limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
  }

  /** Bytes currently charged against `limits.maxBytes`. */
  get bytesInUse(): number {
    return this.chargedBytes;
  }

  get datagramsInProgress(): number {
    return this.partials.size;
  }

  /** Adds one fragment; returns the whole datagram (header + data, a new buffer) once complete. */
  add(fragment: Fragment, now: number): ReassemblyResult {
    const key = keyOf(fragment);
    let partial = this.partials.get(key);
    if (partial === undefined) {
      this.makeRoom(DATAGRAM_OVERHEAD);
      partial = {
        key,
        deadline: now + this.limits.timeoutMs,
        broadcast: fragment.broadcast,
        firstHeader: undefined,
        totalDataLength: undefined,
        intervals: [],
        heldBytes: 0,
        chargedBytes: DATAGRAM_OVERHEAD,
      };
      this.partials.set(key, partial);
      this.chargedBytes += DATAGRAM_OVERHEAD;
    }
    const problem = this.insert(partial, fragment);
    if (problem !== undefined) {
      this.discard(partial);
      return { kind: "failed", detail: problem };
    }
    if (partial.totalDataLength === undefined || partial.heldBytes !== partial.totalDataLength) {
      return INCOMPLETE;
    }
    return this.assemble(partial);
  }

  /** Discards datagrams whose deadline has passed; reports those whose first fragment came. */
  expire(now: number, onExpired?: (expired: ExpiredDatagram) => void): void {
    for (const partial of this.partials.values()) {
      if (partial.deadline > now) break; // Insertion order is deadline order.
      this.discard(partial);
      this.stats.drop("ipReasmFails", "reassembly timeout");
      const first = partial.intervals[0];
      if (onExpired && partial.firstHeader && first !== undefined && first.start === 0) {
        onExpired({
          header: partial.firstHeader,
          firstData: first.bytes.subarray(0, 8),
          broadcast: partial.broadcast,
        });
      }
    }
  }

  /** The earliest reassembly deadline, or Infinity. */
  nextDeadline(): number {
    for (const partial of this.partials.values()) return partial.deadline;
    return Number.POSITIVE_INFINITY;
  }

  /** Checks the fragment against what is held, then copies in only the new octets. */
  private insert(partial: PartialDatagram, f: Fragment): string | undefined {
    const start = f.fragmentOffset;
    const end = start + f.payload.length;
    if (!f.moreFragments) {
      // The last fragment fixes the length; it must agree with everything else.
      if (partial.totalDataLength !== undefined && partial.totalDataLength !== end) {
        return "conflicting last fragments";
      }
      const last = partial.intervals[partial.intervals.length - 1];
      if (last !== undefined && last.end > end) return "data beyond the last fragment";
      partial.totalDataLength = end;
    } else if (partial.totalDataLength !== undefined && end > partial.totalDataLength) {
      return "data beyond the last fragment";
    }
    if (start === 0 && partial.firstHeader === undefined) {
      if (f.header.length + (partial.totalDataLength ?? 0) > IPV4_MAX_DATAGRAM) {
        return "reassembled datagram over 65535";
      }
      partial.firstHeader = f.header.slice();
    }
    if (partial.firstHeader && partial.firstHeader.length + end > IPV4_MAX_DATAGRAM) {
      return "reassembled datagram over 65535";
    }
    return this.fillGaps(partial, f.payload, start, end);
  }

  /** Walks the sorted intervals: compares overlaps, copies the gaps between them. */
  private fillGaps(
    partial: PartialDatagram,
    data: Uint8Array,
    start: number,
    end: number,
  ): string | undefined {
    const intervals = partial.intervals;
    const added: Interval[] = [];
    let cursor = start;
    let index = 0;
    while (index < intervals.length && intervals[index]!.end <= start) index++;
    const insertAt = index;
    for (; index < intervals.length && cursor < end; index++) {
      const held = intervals[index]!;
      if (held.start >= end) break;
      if (held.start > cursor) added.push(this.copy(data, start, cursor, held.start));
      const from = Math.max(held.start, cursor);
      const to = Math.min(held.end, end);
      const heldPart = held.bytes.subarray(from - held.start, to - held.start);
      if (!equalBytes(heldPart, data.subarray(from - start, to - start))) {
        return "overlapping fragments differ";
      }
      cursor = to;
    }
    if (cursor < end) added.push(this.copy(data, start, cursor, end));
    if (added.length === 0) return undefined; // A pure duplicate.
    let charge = 0;
    for (const interval of added) charge += interval.end - interval.start + INTERVAL_OVERHEAD;
    if (!this.makeRoom(charge, partial)) return "reassembly memory full";
    intervals.push(...added);
    if (insertAt < intervals.length - added.length) intervals.sort((a, b) => a.start - b.start);
    for (const interval of added) partial.heldBytes += interval.end - interval.start;
    partial.chargedBytes += charge;
    this.chargedBytes += charge;
    return undefined;
  }

  private copy(data: Uint8Array, dataStart: number, from: number, to: number): Interval {
    return { start: from, end: to, bytes: data.slice(from - dataStart, to - dataStart) };
  }

  /** Evicts the oldest datagrams (never `keep`) until `charge` more bytes fit; false if they can't. */
  private makeRoom(charge: number, keep?: PartialDatagram): boolean {
    const fits = () =>
      this.chargedBytes + charge <= this.limits.maxBytes &&
      (keep !== undefined || this.partials.size < this.limits.maxDatagrams);
    for (const partial of this.partials.values()) {
      if (fits()) return true;
      if (partial === keep) continue;
      this.discard(partial);
      this.stats.drop("ipReasmFails", "evicted: reassembly memory full");
    }
    return fits();
  }

  private discard(partial: PartialDatagram): void {
    if (this.partials.delete(partial.key)) this.chargedBytes -= partial.chargedBytes;
  }

  /** Concatenates the intervals after the first fragment's header, fixing up its fields. */
  private assemble(partial: PartialDatagram): ReassemblyResult {
    this.discard(partial);
    const header = partial.firstHeader!;
    const packet = new Uint8Array(header.length + partial.totalDataLength!);
    packet.set(header, 0);
    for (const interval of partial.intervals)
      packet.set(interval.bytes, header.length + interval.start);
    const view = viewOf(packet);
    view.setUint16(TOTAL_LENGTH, packet.length);
    // Offset is already 0 (this is the first fragment's header); clear MF.
    view.setUint16(
      FLAGS_FRAGMENT_OFFSET,
      view.getUint16(FLAGS_FRAGMENT_OFFSET) & ~(FLAG_MF | FRAGMENT_OFFSET_MASK),
    );
    refreshHeaderChecksum(packet.subarray(0, header.length));
    return { kind: "complete", packet, headerLength: header.length };
  }
}
