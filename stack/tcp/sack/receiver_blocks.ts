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
 * D-SACK (RFC 2883 §4): a segment that arrives wholly or partly duplicated (below
 * RCV.NXT, or over bytes already held out of order) is reported once, as the first
 * block of the next ACK, and when it lies inside a held range that range comes second.
 * RFC 2883 is not in the repository's RFC folder; the rules here are quoted from
 * memory of its §4, and Linux (tcp_dsack_set, tcp_dsack_extend) behaves the same way.
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

/** What the receiver holds out of order (the reassembly queue, ../reassembly.ts). */
export interface HeldData {
  /** The first part of [left, right) already held, or undefined. */
  heldOverlap(left: number, right: number): SackBlock | undefined;
}

/**
 * The part of the segment [left, right) the receiver already had, as a D-SACK block
 * (RFC 2883 §4), or undefined. Below RCV.NXT everything was received, so the duplicate
 * is [left, min(right, RCV.NXT)). Above it, the first overlap with a held range. RFC
 * 2883 §4: "each duplicate contiguous sequence of data received is reported in at most
 * one D-SACK block", and an ACK carries one D-SACK block: when a segment duplicates two
 * separate pieces, the lower one is told.
 */
export function duplicateRange(
  segment: SackBlock,
  receiver: { readonly rcvNxt: number; readonly held: HeldData },
): SackBlock | undefined {
  const { left, right } = segment;
  const rcvNxt = receiver.rcvNxt;
  if (!seqLt(left, right)) return undefined;
  if (seqLt(left, rcvNxt)) return { left, right: seqLt(right, rcvNxt) ? right : rcvNxt };
  return receiver.held.heldOverlap(left, right);
}

/** Keeps the recency of out-of-order arrivals for one connection, and a pending D-SACK. */
export class SackBlockReporter {
  private recent: number[] = [];
  private dsack: SackBlock | undefined;

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

  /** A D-SACK block waits to be sent (the next ACK must carry a SACK option). */
  get dsackPending(): boolean {
    return this.dsack !== undefined;
  }

  /**
   * A duplicate arrived (`duplicateRange`): report it in the next ACK (RFC 2883 §4). A
   * newer duplicate replaces one not yet reported, as the "first SACK block" rule of
   * RFC 2018 §4 asks the first block to describe the segment that triggered the ACK.
   */
  noteDuplicate(block: SackBlock): void {
    this.dsack = { left: block.left, right: block.right };
  }

  /**
   * The blocks for the next ACK. `ranges`: the out-of-order ranges held now (all above
   * RCV.NXT); an empty list and no D-SACK means no SACK option (RFC 2018 §4: SACK only
   * in ACKs "which do not ACK the highest sequence number in the data receiver's queue").
   * A pending D-SACK goes first and only once (RFC 2883 §4: "the first SACK block is
   * used to report the duplicate"); if it lies inside a held range, "the second SACK block
   * in that SACK option should specify that (possibly larger) block of data"; then the
   * RFC 2018 blocks.
   */
  blocks(ranges: readonly SackBlock[], maxBlocks: number): SackBlock[] {
    const dsack = this.dsack;
    this.dsack = undefined;
    if (ranges.length === 0) this.recent = [];
    if (dsack === undefined) {
      return ranges.length === 0 ? [] : chooseSackBlocks(ranges, this.recent, maxBlocks);
    }
    const holding = ranges.find((r) => seqLe(r.left, dsack.left) && seqLe(dsack.right, r.right));
    const recent = holding === undefined ? this.recent : [holding.left, ...this.recent];
    return [dsack, ...chooseSackBlocks(ranges, recent, maxBlocks - 1)];
  }

  clear(): void {
    this.recent = [];
    this.dsack = undefined;
  }
}
