/**
 * Which SACK blocks a data receiver puts in its next ACK (RFC 2018 §4), given the
 * out-of-order ranges it holds above RCV.NXT.
 *
 * RFC 2018 §4:
 *  - "The first SACK block ... MUST specify the contiguous block of data containing the
 *    segment which triggered this ACK, unless that segment advanced the Acknowledgment
 *    Number field in the header."
 *  - "The data receiver SHOULD include as many distinct SACK blocks as possible."
 *  - "The SACK option SHOULD be filled out by repeating the most recently reported SACK
 *    blocks (based on first SACK blocks in previous SACK options) that are not subsets of
 *    a SACK block already included", so each block is reported in at least three ACKs.
 *
 * The reporter remembers the first byte of the most recent out-of-order arrivals: the
 * range holding each one now is the block that was reported first for it (ranges only
 * grow by merging, so it is a superset of what was reported, never a subset).
 *
 * Not done: D-SACK blocks (RFC 2883) are not generated.
 */
import { seqLe, seqLt } from "../seq.ts";
import type { SackBlock } from "./block.ts";

/**
 * RFC 2018 §3: "the 40 bytes available for TCP options can specify a maximum of 4
 * blocks"; with the Timestamps option (10 bytes plus 2 of padding) "a maximum of 3".
 */
export function maxSackBlocks(timestamps: boolean): number {
  return timestamps ? 3 : 4;
}

/**
 * The blocks to send: first the range holding each recent arrival (most recent first,
 * each range once), then the remaining ranges lowest first, at most `maxBlocks`.
 * `ranges` are the receiver's disjoint out-of-order ranges; `recent` the first sequence
 * numbers of recently arrived out-of-order segments, most recent first.
 */
export function chooseSackBlocks(
  ranges: readonly SackBlock[],
  recent: readonly number[],
  maxBlocks: number,
): SackBlock[] {
  const chosen: SackBlock[] = [];
  const add = (block: SackBlock): void => {
    if (chosen.length < maxBlocks && !chosen.includes(block)) chosen.push(block);
  };
  for (const seq of recent) {
    const holding = ranges.find((r) => seqLe(r.left, seq) && seqLt(seq, r.right));
    if (holding !== undefined) add(holding);
  }
  const rest = [...ranges].sort((a, b) => (seqLt(a.left, b.left) ? -1 : 1));
  for (const range of rest) add(range);
  return chosen.map((b) => ({ left: b.left, right: b.right }));
}

/** Keeps the recency of out-of-order arrivals for one connection. */
export class SackBlockReporter {
  private recent: number[] = [];

  /** `memory`: how many recent arrivals to remember (more than 4 is of no use). */
  constructor(private readonly memory = 8) {}

  /** First sequence numbers of the recent out-of-order arrivals, most recent first. */
  get recentArrivals(): readonly number[] {
    return this.recent;
  }

  /**
   * An out-of-order segment starting at `seq` was queued above RCV.NXT (call it for
   * every such arrival, duplicates included: the ACK it triggers reports its block first).
   */
  noteArrival(seq: number): void {
    this.recent = [seq, ...this.recent.filter((s) => s !== seq)].slice(0, this.memory);
  }

  /**
   * The blocks for the next ACK. `ranges`: the out-of-order ranges held now (all above
   * RCV.NXT); an empty list means no SACK option (RFC 2018 §4: SACK only in ACKs "which
   * do not ACK the highest sequence number in the data receiver's queue").
   */
  blocks(ranges: readonly SackBlock[], maxBlocks: number): SackBlock[] {
    if (ranges.length === 0) {
      this.recent = [];
      return [];
    }
    return chooseSackBlocks(ranges, this.recent, maxBlocks);
  }

  clear(): void {
    this.recent = [];
  }
}
