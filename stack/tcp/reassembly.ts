/**
 * The out-of-order queue: segments that arrived beyond RCV.NXT wait here until the gap
 * before them fills (RFC 9293 §3.10.7.4 "seventh": "Segments with higher beginning
 * sequence numbers may be held for later processing").
 *
 * Pieces are kept sorted and non-overlapping: a new segment keeps only the bytes not
 * already held, so duplicates and overlaps are trimmed on the way in. Memory is bounded
 * against a peer that sends tiny segments with holes between them: each piece is charged
 * its bytes plus a fixed overhead (as Linux charges an skb its truesize), the total stays
 * under `limitBytes`, and at most `maxPieces` pieces are held. The insertion point is
 * found by binary search, so each segment costs O(log n) comparisons and one splice.
 *
 * It also remembers where a FIN arrived out of order, and keeps the held bytes as merged
 * ranges (blocks) for the SACK option of RFC 2018 §4 (chosen by sack/receiver_blocks.ts),
 * of which an ACK needs only a few: `ranges()` returns only those.
 */
import type { SackBlock } from "./options.ts";
import type { RingBuffer } from "./ring_buffer.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from "./seq.ts";

interface Piece {
  seq: number;
  data: Uint8Array;
}

/**
 * What one held piece costs beyond its bytes (the objects around them), charged against
 * the byte bound. Linux charges each queued skb its truesize (at least a few hundred bytes).
 */
export const PIECE_OVERHEAD_BYTES = 128;

/**
 * The most pieces held per connection: a full 4 MB window of 1 KB segments fits, a peer
 * sending one-byte segments with holes between them is cut off here.
 */
export const MAX_PIECES = 4096;

export class Reassembly {
  /** Held bytes, sorted by sequence number, disjoint. */
  private pieces: Piece[] = [];
  /** The same bytes as maximal ranges (adjacent pieces merged), sorted. */
  private blocks: SackBlock[] = [];
  private heldBytes = 0;
  /** Sequence number of a FIN seen beyond RCV.NXT, if any. */
  finSeq: number | undefined;

  constructor(
    private readonly limitBytes: number,
    private readonly maxPieces = MAX_PIECES,
  ) {}

  /** Payload bytes held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Pieces held (each an out-of-order segment, or the part of one not already held). */
  get pieceCount(): number {
    return this.pieces.length;
  }

  /** Bytes charged against the bound: payload plus PIECE_OVERHEAD_BYTES per piece. */
  get chargedBytes(): number {
    return this.heldBytes + this.pieces.length * PIECE_OVERHEAD_BYTES;
  }

  get empty(): boolean {
    return this.pieces.length === 0 && this.finSeq === undefined;
  }

  /**
   * Holds the part of `data` (starting at `seq`) that lies in [rcvNxt, windowEnd) and
   * is not already held. Returns false if the bounds forced anything to be dropped.
   */
  insert(seq: number, data: Uint8Array, rcvNxt: number, windowEnd: number): boolean {
    const first = seqMax(seq, rcvNxt);
    const end = seqMin(seqAdd(seq, data.length), windowEnd);
    if (!seqLt(first, end)) return true;
    // Walk the pieces the new bytes reach, filling the gaps between them; one splice.
    const from = this.firstEndingAfter(first);
    const merged: Piece[] = [];
    let at = from;
    let start = first;
    let added = 0;
    let complete = true;
    while (seqLt(start, end)) {
      const next = this.pieces[at];
      const gapEnd = next !== undefined && seqLt(next.seq, end) ? next.seq : end;
      if (seqLt(start, gapEnd)) {
        const length = seqDiff(gapEnd, start);
        if (!this.fits(length, added + 1)) {
          complete = false;
          break;
        }
        const offset = seqDiff(start, seq);
        merged.push({ seq: start, data: data.slice(offset, offset + length) });
        this.heldBytes += length;
        added++;
      }
      if (next === undefined || gapEnd === end) {
        start = end;
        break;
      }
      merged.push(next);
      at++;
      start = seqMax(start, pieceEnd(next));
    }
    this.pieces.splice(from, at - from, ...merged);
    if (added > 0) this.addBlock(first, seqMin(start, end));
    return complete;
  }

  /**
   * Moves the bytes that now start at or before `rcvNxt` into `into` (or discards them
   * when reading is shut down) in order; returns the new RCV.NXT. The caller has only
   * accepted bytes inside the window it advertised, so they fit.
   */
  drain(rcvNxt: number, into: RingBuffer | undefined): number {
    let next = rcvNxt;
    let taken = 0;
    for (const piece of this.pieces) {
      if (seqGt(piece.seq, next)) break;
      taken++;
      this.heldBytes -= piece.data.length;
      const skip = seqDiff(next, piece.seq);
      if (skip < piece.data.length) {
        into?.write(piece.data.subarray(skip));
        next = pieceEnd(piece);
      }
    }
    this.pieces.splice(0, taken);
    let consumed = 0; // blocks are maximal: one that starts at or below `next` is all drained
    while (consumed < this.blocks.length && seqLe(this.blocks[consumed]!.left, next)) consumed++;
    this.blocks.splice(0, consumed);
    return next;
  }

  /**
   * Held ranges for SACK blocks (RFC 2018 §4), lowest first: the range holding each
   * sequence number in `near` (the recent arrivals, reported first) and the `lowest`
   * lowest ranges. An ACK carries at most 4 blocks, so this is all a receiver needs,
   * and costs O(near · log n) however many ranges are held.
   */
  ranges(near: readonly number[] = [], lowest = 4): SackBlock[] {
    const chosen = new Set<number>();
    for (let i = 0; i < Math.min(lowest, this.blocks.length); i++) chosen.add(i);
    for (const seq of near) {
      const i = this.blockHolding(seq);
      if (i !== undefined) chosen.add(i);
    }
    return [...chosen]
      .sort((a, b) => a - b)
      .map((i) => ({ left: this.blocks[i]!.left, right: this.blocks[i]!.right }));
  }

  /**
   * The first part of [left, right) already held, or undefined: what a duplicate
   * arrival repeats (a D-SACK block, RFC 2883 §4; sack/receiver_blocks.ts).
   */
  heldOverlap(left: number, right: number): SackBlock | undefined {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLe(this.blocks[mid]!.right, left)) low = mid + 1;
      else high = mid;
    }
    const block = this.blocks[low];
    if (block === undefined || !seqLt(block.left, right)) return undefined;
    return { left: seqMax(left, block.left), right: seqMin(right, block.right) };
  }

  clear(): void {
    this.pieces = [];
    this.blocks = [];
    this.heldBytes = 0;
    this.finSeq = undefined;
  }

  private fits(length: number, newPieces: number): boolean {
    const pieces = this.pieces.length + newPieces;
    const charged = this.heldBytes + length + pieces * PIECE_OVERHEAD_BYTES;
    return pieces <= this.maxPieces && charged <= this.limitBytes;
  }

  /** Index of the first piece ending after `seq` (binary search; pieces.length if none). */
  private firstEndingAfter(seq: number): number {
    let low = 0;
    let high = this.pieces.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLe(pieceEnd(this.pieces[mid]!), seq)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Index of the block holding `seq`, if any (binary search). */
  private blockHolding(seq: number): number | undefined {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLe(this.blocks[mid]!.right, seq)) low = mid + 1;
      else high = mid;
    }
    const block = this.blocks[low];
    return block !== undefined && seqLe(block.left, seq) ? low : undefined;
  }

  /** Adds [left, right) to the blocks, merging the ones it overlaps or touches. */
  private addBlock(left: number, right: number): void {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLt(this.blocks[mid]!.right, left)) low = mid + 1;
      else high = mid;
    }
    let last = low;
    while (last < this.blocks.length && seqLe(this.blocks[last]!.left, right)) last++;
    const merged = { left, right };
    if (last > low) {
      merged.left = seqMin(left, this.blocks[low]!.left);
      merged.right = seqMax(right, this.blocks[last - 1]!.right);
    }
    this.blocks.splice(low, last - low, merged);
  }
}

function pieceEnd(piece: Piece): number {
  return seqAdd(piece.seq, piece.data.length);
}
