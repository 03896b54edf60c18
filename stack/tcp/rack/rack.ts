/**
 * RACK, "Recent ACKnowledgment" (RFC 8985 §6): time-based loss detection. A segment is
 * deemed lost when a segment sent after it has been delivered and a reordering window
 * has passed: RACK.xmit_ts ≥ Segment.xmit_ts and Segment.xmit_ts + RACK.rtt +
 * RACK.reo_wnd ≤ now. Duplicate-ACK counting (RFC 6675 IsLost) is not used with it
 * (RFC 8985 §9.2), so reordering of up to the window costs no spurious retransmission,
 * and lost retransmissions are detected like any other loss.
 *
 * This class is the per-connection state (RFC 8985 §5.3) and steps 1–5 of §6.2 over the
 * records of sent_segments.ts; it never sends and never reads a clock. The wiring into
 * the connection (when each step runs, the timers, recovery) is in recovery.ts.
 */
import { seqGt, seqLt, tsClock } from "../seq.ts";
import type { SentSegment, SentSegments } from "./sent_segments.ts";

/** RFC 6675 DupThresh, used by RACK_update_reo_wnd (RFC 8985 §6.2 step 4). */
const DUP_THRESH = 3;

/** RFC 8985 §6.2 step 4: "RACK persists using the inflated RACK.reo_wnd for up to 16 loss recoveries". */
const REO_WND_PERSIST = 16;

/**
 * RFC 8985 §6.2 step 1: a windowed minimum of the RTT. Linux's tcp_min_rtt_wlen is
 * 300 s; the minimum is forgotten after that long without a new one.
 */
const MIN_RTT_WINDOW_MS = 300_000;

/**
 * RACK_sent_after(t1, seq1, t2, seq2) (RFC 8985 §6.2 step 2), with transmission order
 * in place of the time. Deviation: the RFC breaks a tie of equal Segment.xmit_ts by
 * sequence number, which is wrong for a retransmission sent in the same millisecond as
 * new data above it (it would look older, and be marked lost again one RTT later; our
 * clock has millisecond granularity, Linux's microsecond). `order` counts transmissions,
 * so it is exact; within one record (a burst sent back to back) sequence order is
 * transmission order, as the RFC assumes.
 */
export function sentAfter(order1: number, seq1: number, order2: number, seq2: number): boolean {
  return order1 > order2 || (order1 === order2 && seqGt(seq1, seq2));
}

/**
 * What the sender knows about an ACK when it runs RACK (RFC 8985 §6.2). The connection
 * fills one such object per ACK (recovery.ts reuses it: nothing is allocated per ACK).
 */
export interface RackAck {
  now: number;
  /** Delivered records, from sent_segments.ts, for this ACK. */
  delivered: SentSegment[];
  /**
   * Step 2 check 1: the ACK's TSecr, if timestamps are on and it has one, and our TSval
   * offset (TSval = floor(ms) + offset, RFC 7323 §5.4).
   */
  tsEcr: number | undefined;
  tsOffset: number;
  /** The ACK carried a D-SACK block (step 4). */
  dsack: boolean;
  sndUna: number;
  sndNxt: number;
  /** In fast recovery or RTO recovery (step 4). */
  inRecovery: boolean;
  /** RACK.segs_sacked: segments SACKed in the scoreboard. */
  segsSacked: number;
  /** SRTT, the reordering window's cap (step 4). */
  srttMs: number;
}

/**
 * Check 1 of step 2: the ACK's TSecr is not older than this transmission's TSval.
 * Deviation: applied to cumulatively acknowledged segments only. A receiver echoes the
 * TSval of the segment that last advanced its window (RFC 7323 §4.3), never that of a
 * segment it holds out of order, so for a SACKed retransmission TSecr is always older
 * and the check would discard every one (RACK could then not see a tail loss probe's
 * SACK). For those, only check 2 (the min_RTT test) applies, as in Linux.
 */
function echoesTransmission(ack: RackAck, r: SentSegment): boolean {
  const echo = ack.tsEcr;
  if (r.sacked || echo === undefined || echo === 0) return true;
  return !seqLt(echo, tsClock(r.xmitTs, ack.tsOffset));
}

const byOrder = (a: SentSegment, b: SentSegment): number => a.order - b.order;
const byEnd = (a: SentSegment, b: SentSegment): number => (seqLt(a.end, b.end) ? -1 : 1);

export class Rack {
  /** RACK.xmit_ts and RACK.end_seq: RACK.segment's; -Infinity before any delivery. */
  xmitTs = Number.NEGATIVE_INFINITY;
  endSeq = 0;
  /** RACK.segment's transmission order (sent_segments.ts), for `sentAfter`. */
  order = 0;
  /** RACK.rtt: of the most recently delivered valid segment. */
  rtt = 0;
  /** RACK.min_RTT (windowed) and when it was taken. */
  minRtt = Number.POSITIVE_INFINITY;
  private minRttAt = 0;
  /** RACK.fack: the highest sequence number delivered. */
  fack: number | undefined;
  reorderingSeen = false;
  /** RACK.reo_wnd as last computed, ms. */
  reoWnd = 0;
  reoWndMult = 1;
  private reoWndPersist = 0;
  /** RACK.dsack_round: SND.NXT when the last D-SACK round began, or undefined. */
  private dsackRound: number | undefined;
  /** A valid RTT sample was taken since the last loss probe (TLP's condition 2, §7.3). */
  rttSampledSinceProbe = true;
  /** The last detectLoss marked a segment lost; and one of them a retransmission. */
  marked = false;
  markedRetransmission = false;

  /** Steps 1–4 for one ACK: RACK.segment, RACK.rtt, min_RTT, reordering, reo_wnd. */
  onAck(ack: RackAck): void {
    this.update(ack);
    this.detectReordering(ack.delivered);
    this.reoWnd = this.updateReoWnd(ack);
  }

  /**
   * Step 2, RACK_update(): over the delivered segments in ascending Segment.xmit_ts,
   * skipping a retransmitted one whose ACK may be for an earlier transmission (the
   * TSecr check, or "last retransmitted less than RACK.min_rtt ago").
   */
  private update(ack: RackAck): void {
    for (const r of sorted(ack.delivered, byOrder)) {
      const rtt = ack.now - r.xmitTs;
      if (r.retransmitted) {
        if (!echoesTransmission(ack, r)) continue;
        if (rtt < this.minRtt) continue;
      } else this.sampleMinRtt(rtt, ack.now); // step 1
      this.rtt = rtt;
      this.rttSampledSinceProbe = true;
      if (sentAfter(r.order, r.end, this.order, this.endSeq)) {
        this.xmitTs = r.xmitTs;
        this.endSeq = r.end;
        this.order = r.order;
      }
    }
  }

  /** Step 1: a windowed minimum (RFC 8985 "SHOULD track a windowed min-filtered estimate"). */
  private sampleMinRtt(rtt: number, now: number): void {
    if (rtt <= this.minRtt || now - this.minRttAt > MIN_RTT_WINDOW_MS) {
      this.minRtt = rtt;
      this.minRttAt = now;
    }
  }

  /**
   * Step 3, RACK_detect_reordering(): a never-retransmitted segment delivered below
   * RACK.fack was delivered out of order.
   */
  private detectReordering(delivered: readonly SentSegment[]): void {
    for (const r of sorted(delivered, byEnd)) {
      if (this.fack === undefined || seqGt(r.end, this.fack)) this.fack = r.end;
      else if (seqLt(r.end, this.fack) && !r.retransmitted) this.reorderingSeen = true;
    }
  }

  /** Step 4, RACK_update_reo_wnd(). */
  private updateReoWnd(ack: RackAck): number {
    if (this.dsackRound !== undefined && !seqLt(ack.sndUna, this.dsackRound)) {
      this.dsackRound = undefined;
    }
    if (this.dsackRound === undefined && ack.dsack) {
      this.dsackRound = ack.sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
    if (!this.reorderingSeen && (ack.inRecovery || ack.segsSacked >= DUP_THRESH)) return 0;
    const base = this.minRtt === Number.POSITIVE_INFINITY ? ack.srttMs : this.minRtt;
    return Math.min((this.reoWndMult * base) / 4, ack.srttMs);
  }

  /**
   * Step 4's "Else if exiting Fast or RTO recovery": after 16 recoveries without a
   * D-SACK round the window returns to min_RTT/4.
   */
  onRecoveryExit(): void {
    this.reoWndPersist--;
    if (this.reoWndPersist <= 0) this.reoWndMult = 1;
  }

  /**
   * Step 5, RACK_detect_loss(): marks lost every unacknowledged record sent before
   * RACK.segment whose reordering window has passed (`marked` tells if any was). Returns
   * the wait (ms, 0 if none) until the last of the others would be (the RACK reordering
   * timer; the RFC takes the maximum remaining time, as Linux does).
   *
   * Only records sent before RACK.segment can be marked. Records hold original
   * transmissions in sequence (and so time) order, and a retransmission is later than
   * any original below it, so the scan stops at the first never-retransmitted record
   * sent after RACK.segment: each ACK of an in-order flow costs one comparison.
   */
  detectLoss(segments: SentSegments, now: number): number {
    this.marked = false;
    this.markedRetransmission = false;
    let timeoutMs = 0;
    if (this.xmitTs === Number.NEGATIVE_INFINITY) return timeoutMs;
    for (let i = segments.firstIndex; i < segments.endIndex; i++) {
      const r = segments.at(i);
      if (r.sacked || r.lost) continue;
      if (!sentAfter(this.order, this.endSeq, r.order, r.end)) {
        if (!r.retransmitted) break;
        continue;
      }
      const remaining = r.xmitTs + this.rtt + this.reoWnd - now;
      if (remaining <= 0) {
        segments.markLost(r);
        this.marked = true;
        if (r.retransmitted) this.markedRetransmission = true;
      } else timeoutMs = Math.max(timeoutMs, remaining);
    }
    return timeoutMs;
  }
}

/** `list` in the given order; a copy only when there are two or more (most ACKs have one). */
function sorted(
  list: readonly SentSegment[],
  compare: (a: SentSegment, b: SentSegment) => number,
): readonly SentSegment[] {
  return list.length < 2 ? list : [...list].sort(compare);
}
