/**
 * D-SACK (RFC 2883), both ends of it.
 *
 * Receiving: a data segment that arrives wholly or partly duplicated is reported in the
 * next ACK's first SACK block (RFC 2883 §4; the block itself is chosen in
 * receiver_blocks.ts).
 *
 * Sending: a D-SACK for a range we retransmitted shows that the retransmission was not
 * needed, the original having arrived too (RFC 2883 §5, RFC 3708 §3). Each such range is
 * counted as a spurious retransmission, and when every retransmission of a loss-recovery
 * episode has been reported so, the episode was spurious and the congestion response is
 * undone (RFC 3708 §5 leaves the response open; RFC 9438 §4.9 and RFC 4015 say how).
 * A network that duplicates a retransmission fools this, as RFC 3708 §5 says; a
 * duplicated original (never retransmitted) does not, because only retransmitted ranges
 * are matched.
 *
 * Neither RFC 2883 nor RFC 3708 is in the repository's RFC folder: these rules are
 * written from memory of them and of Linux's tcp_dsack_set / tcp_check_dsack, which count
 * and undo the same way (undo_retrans).
 */
import { Flag, type TcpSegment } from "../header.ts";
import { seqAdd, seqLe, seqLt } from "../seq.ts";
import type { Tcb } from "../tcb.ts";
import type { SackBlock } from "./block.ts";
import { duplicateRange } from "./receiver_blocks.ts";

/**
 * RFC 2883 §4: a data segment (or FIN) arrived; if it repeats sequence space we already
 * hold, the next ACK reports that part first, and goes at once. Call before the segment
 * is processed (RCV.NXT and the out-of-order queue as they were).
 */
export function noteDuplicateArrival(tcb: Tcb, seg: TcpSegment): void {
  if (!tcb.sackEnabled || !tcb.layer.config.dsack || seg.flags & (Flag.SYN | Flag.RST)) return;
  const length = seg.payload.length + (seg.flags & Flag.FIN ? 1 : 0);
  if (length === 0) return;
  // Most segments are new and in order: nothing below RCV.NXT, nothing held.
  if (!seqLt(seg.seq, tcb.rcvNxt) && tcb.reassembly.empty) return;
  const segment = { left: seg.seq, right: seqAdd(seg.seq, length) };
  const duplicate = duplicateRange(segment, { rcvNxt: tcb.rcvNxt, held: tcb.reassembly });
  if (duplicate === undefined) return;
  tcb.sackReporter.noteDuplicate(duplicate);
  tcb.layer.host.stats.count("tcpDsackSent");
  tcb.counters.dsackSent!++;
  tcb.ackNow = true;
}

/** The most retransmitted ranges one episode tracks; past that, no undo (still counted). */
const MAX_TRACKED = 64;

interface Retransmitted {
  readonly left: number;
  readonly right: number;
  dsacked: boolean;
}

/** What a received D-SACK block proved (RFC 3708 §3). */
export type DsackVerdict = "none" | "spurious" | "episode-spurious";

/**
 * The retransmissions of the current loss-recovery episode (from a fast retransmit or a
 * timeout until the next one), and which of them D-SACKs have shown to be unneeded.
 */
export class SpuriousRetransmitDetector {
  private ranges: Retransmitted[] = [];
  private overflowed = false;
  private undone = false;
  /** The episode began with a congestion response that an undo may reverse. */
  private undoable = true;

  /**
   * A new episode: a fast retransmit entering recovery, or a retransmission timeout; or,
   * with `undoable` false, a tail loss probe (RFC 8985 §7.3), which made no congestion
   * response: its D-SACK counts it spurious but has nothing to undo.
   */
  startEpisode(undoable = true): void {
    this.ranges = [];
    this.overflowed = false;
    this.undone = false;
    this.undoable = undoable;
  }

  /** Another way (RFC 3522 Eifel) already judged this episode: D-SACKs add nothing. */
  endEpisode(): void {
    this.startEpisode();
    this.undone = true;
  }

  /** [left, right) was sent again. */
  noteRetransmit(left: number, right: number): void {
    if (!seqLt(left, right) || this.undone) return;
    if (this.ranges.length >= MAX_TRACKED) {
      this.overflowed = true;
      return;
    }
    this.ranges.push({ left, right, dsacked: false });
  }

  /**
   * A D-SACK block arrived. If it lies inside a retransmitted range not yet reported,
   * that retransmission was spurious; if it was the last such range of the episode, the
   * whole episode was ("episode-spurious", once).
   */
  onDsack(block: SackBlock): DsackVerdict {
    const hit = this.ranges.find(
      (r) => !r.dsacked && seqLe(r.left, block.left) && seqLe(block.right, r.right),
    );
    if (hit === undefined) return "none";
    hit.dsacked = true;
    if (this.overflowed || this.undone || !this.undoable) return "spurious";
    if (this.ranges.some((r) => !r.dsacked)) return "spurious";
    this.undone = true;
    return "episode-spurious";
  }
}
