/**
 * The sender's SACK scoreboard (RFC 6675 §3): which bytes above SND.UNA the receiver
 * has reported holding, merged into disjoint sorted ranges.
 *
 * RFC 2018 §8: SACK information is advisory; the sender keeps the data until it is
 * cumulatively acknowledged (a receiver may renege), so nothing is freed from here.
 */
import type { SackBlock } from "./options.ts";
import { seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "./seq.ts";

interface Range {
  left: number;
  right: number;
}

export class Scoreboard {
  private ranges: Range[] = [];
  /** Bytes covered by the ranges. */
  sackedBytes = 0;

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** The highest sequence number SACKed (RFC 6675 HighACK side), or undefined. */
  get highestSacked(): number | undefined {
    return this.ranges[this.ranges.length - 1]?.right;
  }

  /** Adds the blocks of one ACK, ignoring any not inside (sndUna, sndMax]. */
  update(blocks: readonly SackBlock[], sndUna: number, sndMax: number): void {
    for (const block of blocks) {
      const left = seqMax(block.left, sndUna);
      const right = seqMin(block.right, sndMax);
      if (seqLt(left, right) && seqLe(block.right, sndMax)) this.add(left, right);
    }
  }

  /** Forgets everything below the new SND.UNA. */
  advance(sndUna: number): void {
    while (this.ranges.length > 0 && seqLe(this.ranges[0]!.right, sndUna)) this.ranges.shift();
    const first = this.ranges[0];
    if (first !== undefined && seqLt(first.left, sndUna)) first.left = sndUna;
    this.recount();
  }

  /** True if [seq, seq+1) is SACKed; returns the end of that range, else undefined. */
  sackedEnd(seq: number): number | undefined {
    for (const r of this.ranges) if (seqLe(r.left, seq) && seqLt(seq, r.right)) return r.right;
    return undefined;
  }

  /** The start of the next SACKed range at or after seq, or undefined. */
  nextSackedStart(seq: number): number | undefined {
    for (const r of this.ranges) if (seqGe(r.left, seq)) return r.left;
    return undefined;
  }

  /**
   * Bytes not SACKed between `from` and the highest SACKed byte: the holes the
   * receiver is missing (RFC 6675 treats them as lost once DupThresh SACKs pass them).
   */
  holeBytesAbove(from: number): number {
    let holes = 0;
    let cursor = from;
    for (const r of this.ranges) {
      if (seqGt(r.left, cursor)) holes += seqDiff(r.left, cursor);
      cursor = seqMax(cursor, r.right);
    }
    return holes;
  }

  clear(): void {
    this.ranges = [];
    this.sackedBytes = 0;
  }

  private add(left: number, right: number): void {
    let i = 0;
    while (i < this.ranges.length && seqLt(this.ranges[i]!.right, left)) i++;
    let newLeft = left;
    let newRight = right;
    let j = i;
    while (j < this.ranges.length && seqLe(this.ranges[j]!.left, right)) {
      newLeft = seqMin(newLeft, this.ranges[j]!.left);
      newRight = seqMax(newRight, this.ranges[j]!.right);
      j++;
    }
    this.ranges.splice(i, j - i, { left: newLeft, right: newRight });
    this.recount();
  }

  private recount(): void {
    let total = 0;
    for (const r of this.ranges) total += seqDiff(r.right, r.left);
    this.sackedBytes = total;
  }
}
