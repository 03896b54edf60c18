/**
 * The sender's SACK scoreboard (RFC 6675 §3–§4): which bytes above SND.UNA the receiver
 * has reported holding (RFC 2018 §3), kept as sorted, disjoint, merged ranges, and the
 * four routines RFC 6675 §4 asks of it: Update, IsLost, SetPipe and NextSeg.
 *
 * Read first: RFC 6675 §2 (HighACK, HighData, HighRxt, RescueRxt, Pipe) and §4.
 *
 * Sequence-number convention: every mark passed in is an *exclusive* edge like SND.NXT,
 * where the RFC's are inclusive ("the highest sequence number ..."):
 *   sndUna  = HighACK + 1          (SND.UNA)
 *   sndMax  = HighData + 1         (SND.MAX, one past the highest byte ever sent)
 *   highRxt = HighRxt + 1          (one past the highest byte retransmitted in this
 *                                   recovery; RFC 6675 (3.1) "HighRxt = HighACK" is
 *                                   highRxt = sndUna)
 *   rescueRxt = RescueRxt + 1      (undefined when the RFC's is undefined)
 *
 * RFC 2018 §8 / RFC 6675 §4: "SACKed data MUST NOT be removed from the TCP's
 * retransmission buffer until the data is cumulatively acknowledged": the scoreboard
 * only describes; the send buffer keeps everything above SND.UNA.
 *
 * Memory is bounded: at most `maxRanges` ranges. Past that, the range nearest SND.UNA
 * is forgotten (those bytes then look un-SACKed: at worst they are resent, which is
 * safe; pretending a hole was SACKed would not be).
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from "../seq.ts";
import type { SackBlock } from "./block.ts";

/** RFC 6675 §2: DupThresh, "per [RFC5681] ... 3 duplicate acknowledgments". */
export const DUP_THRESH = 3;

export interface ScoreboardOptions {
  /** SMSS, bytes (RFC 5681 §2). */
  mss: number;
  /** The most ranges kept (default 64). */
  maxRanges?: number;
}

/** What one ACK's SACK blocks changed. */
export interface SackUpdate {
  /** Bytes SACKed by this ACK that were not SACKed before: > 0 makes the ACK a
   * "duplicate acknowledgment" in RFC 6675 §2's sense. */
  readonly newlySacked: number;
  /** The first block was a D-SACK (RFC 2883 §4): reported, not recorded. */
  readonly dsack: boolean;
  /** Blocks ignored as invalid (outside (SND.UNA, SND.MAX], empty or inverted). */
  readonly invalid: number;
}

/** NextSeg's answer: the segment to send and which RFC 6675 §4 rule chose it. */
export interface NextSegment {
  readonly seq: number;
  readonly length: number;
  /** 1 lost, 2 new data, 3 un-SACKed "last resort", 4 rescue retransmission. */
  readonly rule: 1 | 2 | 3 | 4;
}

export interface NextSegInput {
  readonly sndUna: number;
  readonly sndMax: number;
  readonly highRxt: number;
  readonly rescueRxt: number | undefined;
  /** Previously unsent bytes that may go now (min of unsent data and the peer's window). */
  readonly newDataBytes: number;
}

interface Range {
  left: number;
  right: number;
}

/** A run of un-SACKed bytes with what lies above it (IsLost is the same for all its bytes). */
interface Hole {
  readonly left: number;
  readonly right: number;
  readonly rangesAbove: number;
  readonly bytesAbove: number;
}

export class Scoreboard {
  mss: number;
  private readonly maxRanges: number;
  private list: Range[] = [];

  constructor(options: ScoreboardOptions) {
    this.mss = options.mss;
    this.maxRanges = options.maxRanges ?? 64;
  }

  /** The SACKed ranges, lowest first. */
  get ranges(): readonly SackBlock[] {
    return this.list.map((r) => ({ left: r.left, right: r.right }));
  }

  get sackedBytes(): number {
    let total = 0;
    for (const r of this.list) total += seqDiff(r.right, r.left);
    return total;
  }

  /** One past the highest SACKed byte (RFC 6675 (1.b)'s bound), or undefined. */
  get highSacked(): number | undefined {
    return this.list[this.list.length - 1]?.right;
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /**
   * Update() (RFC 6675 §4) for the blocks of one ACK. Call onCumulativeAck first with the
   * ACK's SND.UNA. A block must lie inside (SND.UNA, SND.MAX]: one entirely at or below
   * SND.UNA, or the first block inside the second, is a D-SACK (RFC 2883 §4), reporting a
   * duplicate arrival rather than a hole; anything else out of range is ignored.
   */
  update(blocks: readonly SackBlock[], sndUna: number, sndMax: number): SackUpdate {
    let newlySacked = 0;
    let invalid = 0;
    const dsack = isDsack(blocks, sndUna);
    blocks.forEach((block, index) => {
      if (index === 0 && dsack) return;
      const valid =
        seqLt(block.left, block.right) &&
        seqLe(block.right, sndMax) &&
        seqGt(block.right, sndUna) &&
        seqLe(sndUna, sndMax);
      if (!valid) {
        invalid++;
        return;
      }
      newlySacked += this.add(seqMax(block.left, sndUna), block.right);
    });
    return { newlySacked, dsack, invalid };
  }

  /**
   * SND.UNA advanced: forget what is now cumulatively acknowledged. Returns true if the
   * receiver reneged (RFC 2018 §8): the cumulative ACK stopped inside bytes it had SACKed,
   * which it would have acknowledged had it kept them. The scoreboard is then cleared, as
   * RFC 2018 §8 asks on a timeout ("ignore prior SACK information").
   */
  onCumulativeAck(sndUna: number): boolean {
    while (this.list.length > 0 && seqLe(this.list[0]!.right, sndUna)) this.list.shift();
    const first = this.list[0];
    if (first !== undefined && seqLe(first.left, sndUna)) {
      this.clear();
      return true;
    }
    return false;
  }

  clear(): void {
    this.list = [];
  }

  isSacked(seq: number): boolean {
    return this.sackedEnd(seq) !== undefined;
  }

  /** If `seq` is SACKed, the end of its range (where resending may resume); else undefined. */
  sackedEnd(seq: number): number | undefined {
    return this.list.find((r) => seqLe(r.left, seq) && seqLt(seq, r.right))?.right;
  }

  /** The start of the first SACKed range above `seq` (where a resent segment must stop). */
  nextSackedStart(seq: number): number | undefined {
    return this.list.find((r) => seqGt(r.left, seq))?.left;
  }

  /**
   * IsLost(SeqNum) (RFC 6675 §4): true "when either DupThresh discontiguous SACKed
   * sequences have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with
   * sequence numbers greater than 'SeqNum' have been SACKed". Without segment boundaries
   * (§3 allows ranges), each SACKed range counts as one discontiguous sequence.
   */
  isLost(seq: number): boolean {
    let rangesAbove = 0;
    let bytesAbove = 0;
    for (const r of this.list) {
      if (seqLe(r.right, seq)) continue;
      if (seqGt(r.left, seq)) rangesAbove++;
      bytesAbove += seqDiff(r.right, seqMax(r.left, seqAdd(seq, 1)));
    }
    return lostGiven(rangesAbove, bytesAbove, this.mss);
  }

  /**
   * SetPipe() (RFC 6675 §4): for each un-SACKed octet between HighACK and HighData,
   * count it once if it is not lost ("(a) ... still assumed to be in the network") and
   * once more if it was retransmitted ("(b) If S1 <= HighRxt").
   */
  pipe(sndUna: number, sndMax: number, highRxt: number): number {
    let pipe = 0;
    for (const hole of this.holes(sndUna, sndMax)) {
      const length = seqDiff(hole.right, hole.left);
      if (!lostGiven(hole.rangesAbove, hole.bytesAbove, this.mss)) pipe += length;
      if (seqGt(highRxt, hole.left)) pipe += seqDiff(seqMin(highRxt, hole.right), hole.left);
    }
    return pipe;
  }

  /**
   * NextSeg() (RFC 6675 §4), rules (1)–(5). The caller sends the segment, then:
   * rule 1 or 3 → highRxt = seq + length (C.2); rule 2 → SND.MAX advances (C.3);
   * rule 4 → rescueRxt = recover (the RFC's "RescueRxt set to RecoveryPoint"), highRxt
   * unchanged. undefined is rule (5): nothing to send.
   */
  nextSeg(input: NextSegInput): NextSegment | undefined {
    const holes = this.holes(input.sndUna, input.sndMax);
    // (1.a) S2 > HighRxt and (1.b) below the highest SACKed octet: candidates, lowest first.
    const candidates: Hole[] = [];
    for (const hole of holes) {
      const left = seqMax(hole.left, input.highRxt);
      if (hole.rangesAbove > 0 && seqLt(left, hole.right)) candidates.push({ ...hole, left });
    }
    // (1) the smallest such S2 for which (1.c) IsLost(S2) holds. IsLost only weakens as
    // S2 rises (less is SACKed above it), so only the first candidate can qualify.
    const first = candidates[0];
    if (first !== undefined && lostGiven(first.rangesAbove, first.bytesAbove, this.mss)) {
      return this.segmentAt(first, 1);
    }
    // (2) previously unsent data, if there is any and the receiver's window allows.
    if (input.newDataBytes > 0) {
      return { seq: input.sndMax, length: Math.min(this.mss, input.newDataBytes), rule: 2 };
    }
    // (3) an un-SACKed S3 meeting (1.a) and (1.b), without (1.c).
    if (first !== undefined) return this.segmentAt(first, 3);
    // (4) one rescue retransmission per recovery, including the highest outstanding
    // un-SACKed octet, "If HighACK is greater than RescueRxt (or RescueRxt is undefined)".
    const last = holes[holes.length - 1];
    const rescueAllowed = input.rescueRxt === undefined || seqGt(input.sndUna, input.rescueRxt);
    if (last !== undefined && rescueAllowed) {
      const seq = seqMax(last.left, seqAdd(last.right, -this.mss));
      return { seq, length: seqDiff(last.right, seq), rule: 4 };
    }
    return undefined;
  }

  private segmentAt(hole: Hole, rule: 1 | 3): NextSegment {
    return { seq: hole.left, length: Math.min(this.mss, seqDiff(hole.right, hole.left)), rule };
  }

  /** The un-SACKed runs in [sndUna, sndMax), lowest first, with what is SACKed above each. */
  private holes(sndUna: number, sndMax: number): Hole[] {
    const holes: Hole[] = [];
    let rangesAbove = 0;
    let bytesAbove = 0;
    let top = sndMax;
    for (let i = this.list.length - 1; i >= -1; i--) {
      const range = this.list[i];
      const left = range === undefined ? sndUna : seqMax(range.right, sndUna);
      if (seqLt(left, top)) holes.push({ left, right: top, rangesAbove, bytesAbove });
      if (range === undefined) break;
      rangesAbove++;
      bytesAbove += seqDiff(range.right, range.left);
      top = seqMin(range.left, top);
      if (seqLe(top, sndUna)) break;
    }
    return holes.reverse();
  }

  /** Merges [left, right) in; returns how many of its bytes were not SACKed before. */
  private add(left: number, right: number): number {
    let i = 0;
    while (i < this.list.length && seqLt(this.list[i]!.right, left)) i++;
    let mergedLeft = left;
    let mergedRight = right;
    let alreadySacked = 0;
    let j = i;
    while (j < this.list.length && seqLe(this.list[j]!.left, right)) {
      const r = this.list[j]!;
      const overlap = seqDiff(seqMin(r.right, right), seqMax(r.left, left));
      if (overlap > 0) alreadySacked += overlap;
      mergedLeft = seqMin(mergedLeft, r.left);
      mergedRight = seqMax(mergedRight, r.right);
      j++;
    }
    this.list.splice(i, j - i, { left: mergedLeft, right: mergedRight });
    while (this.list.length > this.maxRanges) this.list.shift();
    return seqDiff(right, left) - alreadySacked;
  }
}

/** IsLost's test, given what is SACKed above a sequence number. */
function lostGiven(rangesAbove: number, bytesAbove: number, mss: number): boolean {
  return rangesAbove >= DUP_THRESH || bytesAbove > (DUP_THRESH - 1) * mss;
}

/**
 * RFC 2883 §4: a D-SACK block is the first block, and either lies at or below the
 * cumulative ACK, or is contained in the second block.
 */
function isDsack(blocks: readonly SackBlock[], sndUna: number): boolean {
  const first = blocks[0];
  if (first === undefined || !seqLt(first.left, first.right)) return false;
  if (seqLe(first.right, sndUna)) return true;
  const second = blocks[1];
  return second !== undefined && seqLe(second.left, first.left) && seqLe(first.right, second.right);
}
