/**
 * A bulk transfer over a simulated lossy path, with a sender wired to the congestion
 * controller and the SACK scoreboard exactly as controller.ts's recipe says (the step
 * numbers below are the recipe's). It is the recipe in executable form: if these tests
 * pass, the recipe recovers from loss.
 *
 * Sender: sends `segments`·MSS bytes; retransmission timer of `rtoMs` (doubling),
 * restarted by every ACK of new data (RFC 6298 §5.3). Receiver: ACKs every segment at
 * once (RFC 5681 §4.2 immediate ACK for out-of-order data), with up to 3 SACK blocks.
 * Bytes carry no payload; sequence numbers start near the 2^32 wrap.
 */
import {
  type CongestionController,
  type CongestionName,
  createCongestionController,
} from "../../../../stack/tcp/congestion/controller.ts";
import type { SackBlock } from "../../../../stack/tcp/sack/block.ts";
import { SackBlockReporter } from "../../../../stack/tcp/sack/receiver_blocks.ts";
import { Scoreboard } from "../../../../stack/tcp/sack/scoreboard.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from "../../../../stack/tcp/seq.ts";

export interface SimOptions {
  congestion: CongestionName;
  sack: boolean;
  segments: number;
  /** Drop this transmission? `index` = segment number, `transmission` = 0 for the first. */
  drop: (index: number, transmission: number) => boolean;
  oneWayMs?: number;
  rtoMs?: number;
  /** For debugging a failing case: one line per event. */
  log?: (line: string) => void;
}

export interface SimResult {
  completed: boolean;
  finishedAtMs: number;
  timeouts: number;
  fastRetransmits: number;
  /** Segments sent again (any reason). */
  retransmissions: number;
  /** RFC 6675 NextSeg rule (4) rescue retransmissions among them. */
  rescues: number;
  /** Lowest cwnd seen after the start, bytes. */
  minCwnd: number;
}

const MSS = 1000;
const ISS = 0xffff_f000;
const LIMIT_MS = 600_000;

type Event =
  | { at: number; kind: "data"; seq: number; length: number }
  | { at: number; kind: "ack"; ack: number; blocks: SackBlock[] }
  | { at: number; kind: "rto"; generation: number };

/** The events in flight, kept sorted by time (equal times stay in scheduling order). */
class Path {
  private readonly events: Event[] = [];

  schedule(e: Event): void {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.events[mid]!.at <= e.at) low = mid + 1;
      else high = mid;
    }
    this.events.splice(low, 0, e);
  }

  next(): Event | undefined {
    return this.events.shift();
  }
}

class Receiver {
  rcvNxt = ISS;
  /** Out-of-order ranges above RCV.NXT, sorted and disjoint. */
  private held: SackBlock[] = [];
  private readonly reporter = new SackBlockReporter();

  constructor(private readonly sack: boolean) {}

  /** A segment arrives; returns the ACK number and SACK blocks to send back. */
  receive(seq: number, length: number): { ack: number; blocks: SackBlock[] } {
    const end = seqAdd(seq, length);
    if (seqGt(end, this.rcvNxt)) {
      const left = seqMax(seq, this.rcvNxt);
      if (seqGt(left, this.rcvNxt)) this.reporter.noteArrival(left);
      this.held = merge(this.held, { left, right: end });
      while (this.held[0] !== undefined && seqLe(this.held[0].left, this.rcvNxt)) {
        this.rcvNxt = seqMax(this.rcvNxt, this.held[0].right);
        this.held.shift();
      }
    }
    return { ack: this.rcvNxt, blocks: this.sack ? this.reporter.blocks(this.held, 3) : [] };
  }
}

class Sender {
  readonly cc: CongestionController;
  readonly board = new Scoreboard({ mss: MSS });
  // RFC 9293 names; highRxt and rescueRxt are exclusive edges (see scoreboard.ts).
  sndUna = ISS;
  sndNxt = ISS;
  sndMax = ISS;
  highRxt = ISS;
  rescueRxt: number | undefined;
  private rtoMs: number;
  private timerGeneration = 0;
  private timerRunning = false;
  private readonly sent = new Map<number, number>();
  private readonly total: number;

  constructor(
    private readonly options: SimOptions,
    private readonly path: Path,
    readonly result: SimResult,
  ) {
    this.cc = createCongestionController(options.congestion, {
      mss: MSS,
      now: 0,
      sack: options.sack,
    });
    this.total = seqAdd(ISS, options.segments * MSS);
    this.rtoMs = options.rtoMs ?? 1000;
  }

  get done(): boolean {
    return this.sndUna === this.total;
  }

  isCurrentTimer(generation: number): boolean {
    return generation === this.timerGeneration;
  }

  /** Step 1: output. */
  output(now: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const sent =
        this.options.sack && this.cc.inRecovery ? this.sackRecoverySend(now) : this.sendNew(now);
      if (!sent) return;
    }
  }

  /** Step 1a: RFC 6675 §5 step (C), one segment; false when nothing may go. */
  private sackRecoverySend(now: number): boolean {
    if (this.cc.cwnd - this.board.pipe(this.sndUna, this.sndMax, this.highRxt) < MSS) return false;
    const next = this.board.nextSeg({
      sndUna: this.sndUna,
      sndMax: this.sndMax,
      highRxt: this.highRxt,
      rescueRxt: this.rescueRxt,
      newDataBytes: seqDiff(this.total, this.sndMax),
    });
    if (next === undefined) return false;
    this.transmit(next.seq, next.length, now);
    const end = seqAdd(next.seq, next.length);
    if (next.rule === 1 || next.rule === 3) this.highRxt = seqMax(this.highRxt, end);
    if (next.rule === 2) this.sndNxt = this.sndMax = end;
    if (next.rule === 4) {
      this.rescueRxt = this.cc.recover;
      this.result.rescues++;
    }
    return true;
  }

  /** Step 1b: new data (or go-back-N after a timeout) within cc.sendWindow. */
  private sendNew(now: number): boolean {
    this.sndNxt = this.board.sackedEnd(this.sndNxt) ?? this.sndNxt;
    const inFlight =
      this.options.sack && this.cc.dupAcks > 0
        ? this.board.pipe(this.sndUna, this.sndMax, this.highRxt)
        : seqDiff(this.sndNxt, this.sndUna);
    const length = Math.min(MSS, seqDiff(this.total, this.sndNxt));
    if (length <= 0 || inFlight + length > this.cc.sendWindow) return false;
    this.transmit(this.sndNxt, length, now);
    this.sndNxt = seqAdd(this.sndNxt, length);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    return true;
  }

  /** Steps 2 and 3, then 1. */
  onAck(ack: number, blocks: SackBlock[], now: number): void {
    const advanced = seqGt(ack, this.sndUna);
    if (advanced) this.newAck(ack, now);
    const duplicate = this.options.sack
      ? this.board.update(blocks, this.sndUna, this.sndMax).newlySacked > 0
      : !advanced && this.sndMax !== this.sndUna;
    if (duplicate) this.duplicateAck(now);
    this.output(now);
  }

  /** Step 2. */
  private newAck(ack: number, now: number): void {
    const bytesAcked = seqDiff(ack, this.sndUna);
    this.sndUna = ack;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    this.board.onCumulativeAck(this.sndUna);
    this.rtoMs = this.options.rtoMs ?? 1000;
    this.timerRunning = false;
    if (this.sndUna !== this.sndMax) this.armTimer(now);
    const action = this.cc.onAck({
      now,
      bytesAcked,
      sndUna: this.sndUna,
      sndMax: this.sndMax,
      bytesInFlight: seqDiff(this.sndMax, this.sndUna),
      rttMs: 2 * (this.options.oneWayMs ?? 50),
      // The path's delay is fixed: every ACK's RTT sample (timestamps) is the same.
      latestRttMs: 2 * (this.options.oneWayMs ?? 50),
    });
    if (action === "retransmit") {
      this.transmit(this.sndUna, Math.min(MSS, seqDiff(this.sndMax, this.sndUna)), now);
    }
    if (action === "recovery-end") this.rescueRxt = undefined;
  }

  /** Step 3. */
  private duplicateAck(now: number): void {
    // RFC 6675 (3.1) "HighRxt = HighACK", but not below what is already retransmitted.
    if (!this.cc.inRecovery) this.highRxt = seqMax(this.highRxt, this.sndUna);
    const action = this.cc.onDuplicateAck({
      now,
      sndUna: this.sndUna,
      sndMax: this.sndMax,
      bytesInFlight: seqDiff(this.sndMax, this.sndUna),
      lost: this.options.sack ? this.board.isLost(this.sndUna) : undefined,
    });
    if (action === "retransmit") this.fastRetransmit(now);
  }

  /**
   * Step 3 "retransmit": the segment at SND.UNA, not into SACKed data, unless a
   * retransmission of it from the previous recovery is still in flight (SND.UNA < HighRxt).
   */
  private fastRetransmit(now: number): void {
    if (seqLt(this.sndUna, this.highRxt)) return;
    const nextSacked = this.board.nextSackedStart(this.sndUna) ?? this.sndMax;
    const length = Math.min(MSS, seqDiff(seqMin(nextSacked, this.sndMax), this.sndUna));
    this.transmit(this.sndUna, length, now);
    this.result.fastRetransmits++;
    this.highRxt = seqAdd(this.sndUna, length);
    this.rescueRxt = this.highRxt;
  }

  /** Step 4. */
  onTimeout(now: number): void {
    this.timerRunning = false;
    if (this.sndUna === this.sndMax) return;
    this.result.timeouts++;
    this.cc.onRetransmitTimeout({
      now,
      sndUna: this.sndUna,
      sndMax: this.sndMax,
      bytesInFlight: seqDiff(this.sndMax, this.sndUna),
    });
    this.board.clear();
    this.sndNxt = this.sndUna;
    this.highRxt = this.sndUna;
    this.rescueRxt = undefined;
    this.rtoMs = Math.min(this.rtoMs * 2, 60_000);
    this.output(now);
    if (!this.timerRunning) this.armTimer(now);
  }

  private armTimer(now: number): void {
    this.timerGeneration++;
    this.timerRunning = true;
    this.path.schedule({ at: now + this.rtoMs, kind: "rto", generation: this.timerGeneration });
  }

  private transmit(seq: number, length: number, now: number): void {
    const index = Math.floor(seqDiff(seq, ISS) / MSS);
    const count = this.sent.get(index) ?? 0;
    if (count > 0 || seqLt(seq, this.sndMax)) this.result.retransmissions++;
    const state = this.cc.inRecovery ? " in recovery" : "";
    this.options.log?.(`${now} send ${index} (${length}) #${count}${state}`);
    this.sent.set(index, count + 1);
    if (!this.timerRunning) this.armTimer(now);
    if (this.options.drop(index, count)) return;
    this.path.schedule({ at: now + (this.options.oneWayMs ?? 50), kind: "data", seq, length });
  }
}

export function simulate(options: SimOptions): SimResult {
  const oneWay = options.oneWayMs ?? 50;
  const path = new Path();
  const result: SimResult = {
    completed: false,
    finishedAtMs: 0,
    timeouts: 0,
    fastRetransmits: 0,
    retransmissions: 0,
    rescues: 0,
    minCwnd: Number.POSITIVE_INFINITY,
  };
  const sender = new Sender(options, path, result);
  const receiver = new Receiver(options.sack);
  sender.output(0);
  for (let event = path.next(); event !== undefined && event.at <= LIMIT_MS; event = path.next()) {
    if (event.kind === "data") {
      const { ack, blocks } = receiver.receive(event.seq, event.length);
      path.schedule({ at: event.at + oneWay, kind: "ack", ack, blocks });
    } else if (event.kind === "ack") {
      const edges = event.blocks.map(
        (b) => `${seqDiff(b.left, ISS) / MSS}-${seqDiff(b.right, ISS) / MSS}`,
      );
      options.log?.(`${event.at} ack ${seqDiff(event.ack, ISS) / MSS} sack ${edges.join(" ")}`);
      sender.onAck(event.ack, event.blocks, event.at);
    } else if (sender.isCurrentTimer(event.generation)) {
      sender.onTimeout(event.at);
    }
    result.minCwnd = Math.min(result.minCwnd, sender.cc.cwnd);
    if (sender.done) {
      result.completed = receiver.rcvNxt === sender.sndUna;
      result.finishedAtMs = event.at;
      break;
    }
  }
  return result;
}

/** Adds [left, right) to sorted, disjoint ranges, merging what touches. */
function merge(ranges: readonly SackBlock[], add: SackBlock): SackBlock[] {
  const out: SackBlock[] = [];
  let current = add;
  for (const r of ranges) {
    if (seqLt(r.right, current.left)) out.push(r);
    else if (seqLt(current.right, r.left)) {
      out.push(current);
      current = r;
    } else current = { left: seqMin(r.left, current.left), right: seqMax(r.right, current.right) };
  }
  out.push(current);
  return out;
}
