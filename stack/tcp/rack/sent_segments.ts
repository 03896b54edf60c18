/**
 * The per-segment variables RACK needs (RFC 8985 §5.2): for each range of sequence space
 * sent and not yet cumulatively acknowledged, the time of its most recent transmission
 * (Segment.xmit_ts), whether it was ever retransmitted, whether that last transmission
 * is deemed lost, and whether the receiver SACKed it.
 *
 * RFC 8985 §4 (2): "RACK-TLP can be implemented with TSO ... by having multiple segments
 * in a TSO aggregate share the same timestamp": segments sent back to back in the same
 * millisecond share one record here. A record is split where a SACK block, a
 * retransmission or the cumulative ACK cuts it, so marks always cover whole records.
 *
 * Records are kept in sequence order, from SND.UNA to SND.MAX. Totals of SACKed and lost
 * bytes are kept up to date, so pipe (RFC 6675's estimate, as Linux computes it for RACK:
 * in flight = outstanding − SACKed − lost, a lost segment counting again once resent)
 * costs nothing per call.
 */
import { seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "../seq.ts";

export interface SentSegment {
  seq: number;
  /** Segment.end_seq: one past its last sequence number. */
  end: number;
  /** Segment.xmit_ts: time of its last (re)transmission, ms. */
  xmitTs: number;
  /**
   * Which transmission that was, counting every one of the connection: orders segments
   * sent in the same millisecond (see rack.ts `sentAfter`).
   */
  order: number;
  /** Segment.retransmitted: ever sent more than once. */
  retransmitted: boolean;
  /** Segment.lost: its last transmission is deemed lost and it waits to be resent. */
  lost: boolean;
  sacked: boolean;
}

export class SentSegments {
  private list: SentSegment[] = [];
  /** list[head] is the first live record; those before it are acknowledged. */
  private head = 0;
  private sacked = 0;
  private lostTotal = 0;
  /** Transmissions so far (the `order` of the latest). */
  private transmissions = 0;

  /** Bytes SACKed above SND.UNA. */
  get sackedBytes(): number {
    return this.sacked;
  }

  /** Bytes whose last transmission is deemed lost and not yet resent. */
  get lostBytes(): number {
    return this.lostTotal;
  }

  get size(): number {
    return this.list.length - this.head;
  }

  /** The live records, lowest sequence number first. */
  *records(): IterableIterator<SentSegment> {
    for (let i = this.head; i < this.list.length; i++) yield this.list[i]!;
  }

  /** Index of the first live record, for a loop to `endIndex` with `at` (no iterator). */
  get firstIndex(): number {
    return this.head;
  }

  get endIndex(): number {
    return this.list.length;
  }

  at(index: number): SentSegment {
    return this.list[index]!;
  }

  /** The lowest record marked lost (what RACK's recovery resends first). */
  firstLost(): SentSegment | undefined {
    if (this.lostTotal === 0) return undefined;
    for (let i = this.head; i < this.list.length; i++) if (this.list[i]!.lost) return this.list[i];
    return undefined;
  }

  /**
   * [seq, end) was sent at `now` (RFC 8985 §6.1). Beyond the last record it is new data;
   * below, a retransmission: "Segment.retransmitted = TRUE; Segment.xmit_ts = Now();
   * Segment.lost = FALSE".
   */
  onTransmit(seq: number, end: number, now: number): void {
    const order = ++this.transmissions;
    const last = this.list[this.list.length - 1];
    const top = last !== undefined && this.size > 0 ? last.end : seq;
    if (seqLt(seq, top)) {
      const resentEnd = seqMin(end, top);
      this.forEachIn(seq, resentEnd, (r) => {
        if (r.lost) this.lostTotal -= seqDiff(r.end, r.seq);
        r.lost = false;
        r.retransmitted = true;
        r.xmitTs = now;
        r.order = order;
      });
      if (!seqGt(end, top)) return;
      seq = top;
    }
    // Back to back with the tail in the same millisecond, nothing sent in between: the
    // same burst, one record (as a TSO aggregate shares a timestamp).
    const tail = this.size > 0 ? last : undefined;
    if (tail !== undefined && tail.end === seq && tail.order === order - 1 && tail.xmitTs === now) {
      if (plain(tail)) {
        tail.end = end;
        tail.order = order;
        return;
      }
    }
    this.list.push({
      seq,
      end,
      xmitTs: now,
      order,
      retransmitted: false,
      lost: false,
      sacked: false,
    });
  }

  /**
   * SND.UNA advanced: drops what it covers, adding to `delivered` each record (or the
   * acknowledged part of one) that was not already SACKed: newly delivered data.
   * Returns how many records were dropped.
   */
  onCumulativeAck(sndUna: number, delivered: SentSegment[]): number {
    const first = this.head;
    while (this.head < this.list.length) {
      const r = this.list[this.head]!;
      if (seqLe(sndUna, r.seq)) break;
      if (seqLt(sndUna, r.end)) this.split(this.head, sndUna);
      const done = this.list[this.head]!;
      const length = seqDiff(done.end, done.seq);
      if (done.sacked) this.sacked -= length;
      else delivered.push(done);
      if (done.lost) this.lostTotal -= length;
      this.head++;
    }
    const dropped = this.head - first;
    if (this.head > 64 && this.head * 2 > this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  /** [left, right) was SACKed: marks the records inside, adding new ones to `delivered`. */
  onSack(left: number, right: number, delivered: SentSegment[]): void {
    this.forEachIn(left, right, (r) => {
      if (r.sacked) return;
      const length = seqDiff(r.end, r.seq);
      r.sacked = true;
      this.sacked += length;
      if (r.lost) this.lostTotal -= length;
      r.lost = false;
      delivered.push(r);
    });
  }

  /** RACK_detect_loss: "Segment.lost = TRUE". */
  markLost(r: SentSegment): void {
    if (r.lost || r.sacked) return;
    r.lost = true;
    this.lostTotal += seqDiff(r.end, r.seq);
  }

  /** Forgets SACK and loss marks (a timeout, or the receiver reneged: RFC 2018 §8). */
  clearMarks(): void {
    for (const r of this.records()) {
      r.sacked = false;
      r.lost = false;
    }
    this.sacked = 0;
    this.lostTotal = 0;
  }

  clear(): void {
    this.list = [];
    this.head = 0;
    this.sacked = 0;
    this.lostTotal = 0;
  }

  /** Calls `visit` for every record inside [left, right), splitting those it cuts. */
  private forEachIn(left: number, right: number, visit: (r: SentSegment) => void): void {
    if (!seqLt(left, right) || this.size === 0) return;
    let i = this.indexHolding(left);
    if (i === undefined) return;
    if (seqLt(this.list[i]!.seq, left)) {
      this.split(i, left);
      i++;
    }
    for (; i < this.list.length; i++) {
      const r = this.list[i]!;
      if (seqGe(r.seq, right)) break;
      if (seqGt(r.end, right)) this.split(i, right);
      visit(this.list[i]!);
    }
  }

  /** Index of the first live record ending after `seq` (binary search), if any. */
  private indexHolding(seq: number): number | undefined {
    let low = this.head;
    let high = this.list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLe(this.list[mid]!.end, seq)) low = mid + 1;
      else high = mid;
    }
    return low < this.list.length ? low : undefined;
  }

  /** Cuts list[i] at `at` (inside it) into two records with the same marks. */
  private split(i: number, at: number): void {
    const r = this.list[i]!;
    const rest = { ...r, seq: seqMax(at, r.seq) };
    r.end = seqMin(at, r.end);
    this.list.splice(i + 1, 0, rest);
  }
}

function plain(r: SentSegment): boolean {
  return !r.retransmitted && !r.lost && !r.sacked;
}
