/**
 * The out-of-order queue: segments that arrived beyond RCV.NXT wait here until the gap
 * before them fills (RFC 9293 §3.10.7.4 "seventh": "Segments with higher beginning
 * sequence numbers may be held for later processing").
 *
 * Pieces are kept sorted and non-overlapping: a new segment keeps only the bytes not
 * already held, so duplicates and overlaps are trimmed on the way in. The total is
 * bounded (`limitBytes`), so a peer cannot make us hold more than that.
 *
 * It also remembers where a FIN arrived out of order, and lists the ranges it holds
 * for the SACK blocks of RFC 2018 §4 (chosen by sack/receiver_blocks.ts).
 */
import type { SackBlock } from "./options.ts";
import type { RingBuffer } from "./ring_buffer.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from "./seq.ts";

interface Piece {
  seq: number;
  data: Uint8Array;
}

export class Reassembly {
  private pieces: Piece[] = [];
  private heldBytes = 0;
  /** Sequence number of a FIN seen beyond RCV.NXT, if any. */
  finSeq: number | undefined;

  constructor(private readonly limitBytes: number) {}

  get bytes(): number {
    return this.heldBytes;
  }

  get empty(): boolean {
    return this.pieces.length === 0 && this.finSeq === undefined;
  }

  /**
   * Holds the part of `data` (starting at `seq`) that lies in [rcvNxt, windowEnd) and
   * is not already held. Returns false if the byte bound forced anything to be dropped.
   */
  insert(seq: number, data: Uint8Array, rcvNxt: number, windowEnd: number): boolean {
    let start = seqMax(seq, rcvNxt);
    const end = seqMin(seqAdd(seq, data.length), windowEnd);
    if (!seqLt(start, end)) return true;
    let complete = true;
    let index = 0;
    while (seqLt(start, end)) {
      while (index < this.pieces.length && seqLe(pieceEnd(this.pieces[index]!), start)) index++;
      const next = this.pieces[index];
      let gapEnd = end;
      if (next !== undefined && seqLt(next.seq, end)) {
        if (seqLe(next.seq, start)) {
          start = pieceEnd(next); // already held: skip over it
          continue;
        }
        gapEnd = next.seq;
      }
      const length = seqDiff(gapEnd, start);
      if (this.heldBytes + length > this.limitBytes) {
        complete = false;
        break;
      }
      const from = seqDiff(start, seq);
      this.pieces.splice(index, 0, { seq: start, data: data.slice(from, from + length) });
      this.heldBytes += length;
      index++;
      start = gapEnd;
    }
    return complete;
  }

  /**
   * Moves the bytes that now start at or before `rcvNxt` into `into` (or discards them
   * when reading is shut down) in order; returns the new RCV.NXT. The caller has only
   * accepted bytes inside the window it advertised, so they fit.
   */
  drain(rcvNxt: number, into: RingBuffer | undefined): number {
    let next = rcvNxt;
    while (this.pieces.length > 0) {
      const first = this.pieces[0]!;
      if (seqGt(first.seq, next)) break;
      this.pieces.shift();
      this.heldBytes -= first.data.length;
      const skip = seqDiff(next, first.seq);
      if (skip < first.data.length) {
        into?.write(first.data.subarray(skip));
        next = pieceEnd(first);
      }
    }
    return next;
  }

  /** The held bytes as merged ranges, lowest first (for SACK blocks, RFC 2018 §4). */
  ranges(): SackBlock[] {
    const blocks: SackBlock[] = [];
    for (const piece of this.pieces) {
      const last = blocks[blocks.length - 1];
      if (last !== undefined && last.right === piece.seq)
        blocks[blocks.length - 1] = { left: last.left, right: pieceEnd(piece) };
      else blocks.push({ left: piece.seq, right: pieceEnd(piece) });
    }
    return blocks;
  }

  clear(): void {
    this.pieces = [];
    this.heldBytes = 0;
    this.finSeq = undefined;
  }
}

function pieceEnd(piece: Piece): number {
  return seqAdd(piece.seq, piece.data.length);
}
