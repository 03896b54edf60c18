/**
 * What the inspector remembers of one connection, bounded: the last few thousand
 * segments (for the time-sequence graph), a sample of TCP_INFO every tick (for the
 * plots), and the segments and state changes of its opening and its close (for the
 * ladder). Old entries fall off the rings, so a long transfer costs a fixed amount.
 *
 * Items carry their number since the connection began, so the page can ask for "what is
 * new since n" and the ladder can say how many segments it did not keep.
 */
import type { LadderItem } from "./graph/ladder.ts";
import type { StateChange } from "./rules.ts";
import { FIN, RST, type SegmentRecord, SYN } from "./tcp_segment.ts";
import { TraceLines } from "./trace_lines.ts";
import type { Sample } from "./update_types.ts";

/** A fixed-size ring that numbers what it holds: `total` items were ever pushed. */
export class Ring<T> {
  private readonly items: T[] = [];
  total = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.total % this.capacity] = item;
    this.total++;
  }

  /** Items numbered `from` and later that are still held, oldest first. */
  since(from: number): T[] {
    const first = Math.max(from, this.total - this.items.length);
    const out: T[] = [];
    for (let n = first; n < this.total; n++) out.push(this.items[n % this.capacity]!);
    return out;
  }

  get oldest(): number {
    return this.total - this.items.length;
  }
}

export interface HistoryLimits {
  segments: number;
  samples: number;
  /** Ladder items kept from the opening, and from the close. */
  ladderOpening: number;
  ladderClosing: number;
  /** Trace lines kept for this connection alone (a busy neighbour cannot push them out). */
  lines: number;
}

export const DEFAULT_LIMITS: HistoryLimits = {
  segments: 2000,
  samples: 1200,
  ladderOpening: 16,
  ladderClosing: 32,
  lines: 256,
};

export class ConnectionHistory {
  readonly segments: Ring<SegmentRecord>;
  readonly samples: Ring<Sample>;
  readonly lines: TraceLines;
  state = "CLOSED";
  /** Last time anything happened, to pick the busiest connection and evict the idlest. */
  lastActivityMs = 0;
  private readonly opening: LadderItem[] = [];
  private readonly closing: Ring<LadderItem>;
  private closingStarted = false;
  /** Highest ACK each way, to turn cumulative ACKs into a delivery rate. */
  private highestAck = new Map<string, number>();
  private ackedBytes = 0;
  private lastSample: { timeMs: number; acked: number } | undefined;

  constructor(
    /** "10.0.0.2:80 10.0.0.1:53422": local then remote, as the stack's traces say it. */
    readonly key: string,
    private readonly limits: HistoryLimits = DEFAULT_LIMITS,
  ) {
    this.segments = new Ring(limits.segments);
    this.samples = new Ring(limits.samples);
    this.closing = new Ring(limits.ladderClosing);
    this.lines = new TraceLines(limits.lines);
  }

  get local(): string {
    return this.key.split(" ")[0]!;
  }

  get remote(): string {
    return this.key.split(" ")[1]!;
  }

  addSegment(s: SegmentRecord): void {
    const index = this.segments.total;
    this.segments.push(s);
    this.lastActivityMs = s.timeMs;
    this.countAck(s);
    if (s.flags & (FIN | RST)) this.closingStarted = true;
    this.addLadderItem({ kind: "segment", s, index }, (s.flags & SYN) !== 0);
  }

  addTransition(change: Omit<StateChange, "at">): void {
    this.state = change.to;
    this.lastActivityMs = change.timeMs;
    const closing = ["FIN-WAIT-1", "CLOSE-WAIT", "CLOSED", "LAST-ACK"].includes(change.to);
    if (closing && change.from !== "LISTEN" && change.from !== "SYN-SENT")
      this.closingStarted = true;
    this.addLadderItem({ kind: "state", c: { ...change, at: this.segments.total - 0.5 } }, false);
  }

  addSample(sample: Omit<Sample, "deliveryRate">): void {
    const last = this.lastSample;
    const seconds = last === undefined ? 0 : (sample.timeMs - last.timeMs) / 1000;
    const deliveryRate = seconds > 0 ? (this.ackedBytes - last!.acked) / seconds : 0;
    this.lastSample = { timeMs: sample.timeMs, acked: this.ackedBytes };
    this.samples.push({ ...sample, deliveryRate });
  }

  /** The ladder's items: the opening, then the close (with the segments between left out). */
  ladder(): LadderItem[] {
    return [...this.opening, ...this.closing.since(0)];
  }

  private addLadderItem(item: LadderItem, opening: boolean): void {
    if (this.opening.length < this.limits.ladderOpening && (!this.closingStarted || opening)) {
      this.opening.push(item);
    } else if (this.closingStarted) this.closing.push(item);
  }

  /** RFC 9293 §3.4: an ACK acknowledges everything below it; count only the advance. */
  private countAck(s: SegmentRecord): void {
    if (!(s.flags & 0x10)) return;
    const last = this.highestAck.get(s.source);
    if (last !== undefined) {
      const advance = (s.ack - last) | 0;
      if (advance <= 0) return;
      this.ackedBytes += advance;
    }
    this.highestAck.set(s.source, s.ack);
  }
}
