/**
 * Reassembly of fragmented IPv6 packets (RFC 8200 §4.5), stricter than IPv4's.
 *
 * Fragments of one packet share (Source, Destination, Identification). Each packet in
 * progress keeps its fragments sorted by offset. RFC 5722 §4 (with erratum 3089): if a
 * fragment overlaps another, the whole packet "MUST be silently discarded"; an exact
 * duplicate of one already held is dropped alone, as Linux does, since a retransmitted
 * fragment is not an attack. The packet is complete when the last fragment (M = 0) has
 * fixed its length and the fragments cover it without a gap.
 *
 * The reassembled packet is the Unfragmentable Part of the offset-0 fragment (the
 * headers before its Fragment header), with the last of those headers' Next Header set
 * from the Fragment header, and the Payload Length recomputed (§4.5), then the data.
 *
 * Resources are bounded as for IPv4 (`ipv4/reassembly.ts`): a deadline per packet (60 s
 * from the first-arriving fragment, §4.5), a byte and a count budget for all of them,
 * and the oldest evicted when full. `now` never decreases, so Map insertion order is
 * deadline order.
 */
import type { Stats } from "../stats.ts";
import type { Ipv6Address } from "./address.ts";
import { IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD, PAYLOAD_LENGTH, viewOf } from "./header.ts";

export interface Ipv6ReassemblyLimits {
  /** RFC 8200 §4.5: 60 seconds (Linux ip6frag_time is 60 s too). */
  timeoutMs: number;
  /** Bytes held by all partial packets, bookkeeping included (Linux: 4 MiB). */
  maxBytes: number;
  /** Packets in progress at once. */
  maxPackets: number;
}

export const DEFAULT_IPV6_REASSEMBLY_LIMITS: Ipv6ReassemblyLimits = {
  timeoutMs: 60_000,
  maxBytes: 1024 * 1024,
  maxPackets: 256,
};

/** Charged per fragment and per packet, so a flood of tiny fragments also fills the budget. */
const FRAGMENT_OVERHEAD = 64;
const PACKET_OVERHEAD = 256;
/** 65,535 octets in the 8-octet units of non-last fragments, with room to spare. */
const MAX_FRAGMENTS = 8192;

/** One arriving fragment: its fields and views into the device's bytes. */
export interface Ipv6Fragment {
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
  readonly identification: number;
  /** In octets. */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  /** The Fragment header's Next Header (§4.5: only the offset-0 one's counts). */
  readonly nextHeader: number;
  /** The headers before the Fragment header (the Unfragmentable Part). */
  readonly unfragmentable: Uint8Array;
  /** Where, in `unfragmentable`, the Next Header field naming the Fragment header is. */
  readonly nextHeaderAt: number;
  /** The Fragmentable Part's bytes this fragment carries. */
  readonly data: Uint8Array;
  /** The whole fragment as received (Time Exceeded quotes the offset-0 one). */
  readonly packet: Uint8Array;
  readonly broadcast: boolean;
}

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

interface PartialPacket {
  readonly key: string;
  readonly deadline: number;
  readonly broadcast: boolean;
  /** Copies of the offset-0 fragment's Unfragmentable Part, and of it whole. */
  first:
    | { unfragmentable: Uint8Array; nextHeaderAt: number; nextHeader: number; packet: Uint8Array }
    | undefined;
  /** Fragmentable Part length, known once the last fragment (M = 0) has come. */
  totalLength: number | undefined;
  pieces: Piece[];
  heldBytes: number;
  chargedBytes: number;
}

/** What `expire` reports about a packet that timed out after its first fragment came. */
export interface ExpiredIpv6Packet {
  /** The offset-0 fragment as it arrived. */
  readonly firstFragment: Uint8Array;
  readonly broadcast: boolean;
}

export type Ipv6ReassemblyResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "duplicate" }
  /** `packet` is a new buffer; the chain goes on at `resumeAt` with `nextHeader`. */
  | {
      readonly kind: "complete";
      readonly packet: Uint8Array;
      readonly resumeAt: number;
      readonly nextHeader: number;
      readonly nextHeaderAt: number;
    }
  | { readonly kind: "failed"; readonly detail: string };

const INCOMPLETE: Ipv6ReassemblyResult = { kind: "incomplete" };
const DUPLICATE: Ipv6ReassemblyResult = { kind: "duplicate" };

export class Ipv6Reassembly {
  private readonly partials = new Map<string, PartialPacket>();
  private chargedBytes = 0;
  readonly limits: Ipv6ReassemblyLimits;

  constructor(
    private readonly stats: Stats,
    limits: Partial<Ipv6ReassemblyLimits> = {},
  ) {
    this.limits = { ...DEFAULT_IPV6_REASSEMBLY_LIMITS, ...limits };
  }

  /** Bytes currently charged against `limits.maxBytes`. */
  get bytesInUse(): number {
    return this.chargedBytes;
  }

  get packetsInProgress(): number {
    return this.partials.size;
  }

  /** Adds one fragment; returns the whole packet once complete. */
  add(fragment: Ipv6Fragment, now: number): Ipv6ReassemblyResult {
    const key = `${fragment.source} ${fragment.destination} ${fragment.identification}`;
    let partial = this.partials.get(key);
    if (partial === undefined) {
      this.makeRoom(PACKET_OVERHEAD);
      partial = {
        key,
        deadline: now + this.limits.timeoutMs,
        broadcast: fragment.broadcast,
        first: undefined,
        totalLength: undefined,
        pieces: [],
        heldBytes: 0,
        chargedBytes: PACKET_OVERHEAD,
      };
      this.partials.set(key, partial);
      this.chargedBytes += PACKET_OVERHEAD;
    }
    const problem = this.insert(partial, fragment);
    if (problem === "duplicate") return DUPLICATE;
    if (problem !== undefined) {
      this.discard(partial);
      return { kind: "failed", detail: problem };
    }
    if (partial.totalLength === undefined || partial.heldBytes !== partial.totalLength) {
      return INCOMPLETE;
    }
    return this.assemble(partial);
  }

  /** Discards packets whose deadline has passed; reports those whose first fragment came. */
  expire(now: number, onExpired?: (expired: ExpiredIpv6Packet) => void): void {
    for (const partial of this.partials.values()) {
      if (partial.deadline > now) break; // Insertion order is deadline order.
      this.discard(partial);
      this.stats.drop("ipv6ReasmFails", "reassembly timeout");
      this.stats.count("ipv6ReasmTimeout");
      if (onExpired && partial.first !== undefined) {
        onExpired({ firstFragment: partial.first.packet, broadcast: partial.broadcast });
      }
    }
  }

  /** The earliest reassembly deadline, or Infinity. */
  nextDeadline(): number {
    for (const partial of this.partials.values()) return partial.deadline;
    return Number.POSITIVE_INFINITY;
  }

  /** Checks the fragment against the packet's length and pieces, then keeps a copy. */
  private insert(partial: PartialPacket, f: Ipv6Fragment): string | undefined {
    const start = f.fragmentOffset;
    const end = start + f.data.length;
    if (!f.moreFragments) {
      if (partial.totalLength !== undefined && partial.totalLength !== end) {
        return "conflicting last fragments";
      }
      const last = partial.pieces[partial.pieces.length - 1];
      if (last !== undefined && last.end > end) return "data beyond the last fragment";
      partial.totalLength = end;
    } else if (partial.totalLength !== undefined && end > partial.totalLength) {
      return "data beyond the last fragment";
    }
    if (partial.pieces.length >= MAX_FRAGMENTS) return "too many fragments";
    const index = this.placeFor(partial.pieces, start, end);
    if (index === "duplicate") return "duplicate";
    if (index === "overlap") return "overlapping fragments (RFC 5722)";
    const firstLength =
      start === 0 ? f.unfragmentable.length : (partial.first?.unfragmentable.length ?? 0);
    // §4.5: a reassembled Payload Length over 65,535 is an error (ipv6.ts checks the
    // single fragment; this catches one whose Unfragmentable Part came later).
    if (
      firstLength - IPV6_HEADER_LENGTH + Math.max(end, partial.totalLength ?? 0) >
      IPV6_MAX_PAYLOAD
    ) {
      return "reassembled packet over 65535";
    }
    const charge = f.data.length + FRAGMENT_OVERHEAD + (start === 0 ? f.packet.length : 0);
    if (!this.makeRoom(charge, partial)) return "reassembly memory full";
    if (start === 0) {
      partial.first = {
        unfragmentable: f.unfragmentable.slice(),
        nextHeaderAt: f.nextHeaderAt,
        nextHeader: f.nextHeader,
        packet: f.packet.slice(),
      };
    }
    partial.pieces.splice(index, 0, { start, end, bytes: f.data.slice() });
    partial.heldBytes += end - start;
    partial.chargedBytes += charge;
    this.chargedBytes += charge;
    return undefined;
  }

  /** Where [start, end) goes in the sorted pieces, or why it cannot go anywhere. */
  private placeFor(
    pieces: readonly Piece[],
    start: number,
    end: number,
  ): number | "duplicate" | "overlap" {
    // Binary search for the first piece that starts at or after `end`.
    let low = 0;
    let high = pieces.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (pieces[middle]!.start < end) low = middle + 1;
      else high = middle;
    }
    const index = low;
    // pieces[index - 1] is the last that starts before `end`: the only one that can overlap
    // from the left, given the pieces are disjoint and sorted.
    const before = pieces[index - 1];
    if (before === undefined || before.end <= start) return index;
    if (before.start === start && before.end === end) return "duplicate";
    return "overlap";
  }

  /** Evicts the oldest packets (never `keep`) until `charge` more bytes fit; false if they can't. */
  private makeRoom(charge: number, keep?: PartialPacket): boolean {
    const fits = () =>
      this.chargedBytes + charge <= this.limits.maxBytes &&
      (keep !== undefined || this.partials.size < this.limits.maxPackets);
    for (const partial of this.partials.values()) {
      if (fits()) return true;
      if (partial === keep) continue;
      this.discard(partial);
      this.stats.drop("ipv6ReasmFails", "evicted: reassembly memory full");
    }
    return fits();
  }

  private discard(partial: PartialPacket): void {
    if (this.partials.delete(partial.key)) this.chargedBytes -= partial.chargedBytes;
  }

  /** §4.5: the offset-0 fragment's Unfragmentable Part, fixed up, then the data. */
  private assemble(partial: PartialPacket): Ipv6ReassemblyResult {
    this.discard(partial);
    const first = partial.first!;
    const headerLength = first.unfragmentable.length;
    const packet = new Uint8Array(headerLength + partial.totalLength!);
    packet.set(first.unfragmentable, 0);
    for (const piece of partial.pieces) packet.set(piece.bytes, headerLength + piece.start);
    packet[first.nextHeaderAt] = first.nextHeader;
    viewOf(packet).setUint16(PAYLOAD_LENGTH, packet.length - IPV6_HEADER_LENGTH);
    return {
      kind: "complete",
      packet,
      resumeAt: headerLength,
      nextHeader: first.nextHeader,
      nextHeaderAt: first.nextHeaderAt,
    };
  }
}
