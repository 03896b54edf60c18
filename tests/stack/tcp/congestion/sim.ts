/**
 * A bulk transfer over a simulated lossy path, with a sender wired to the congestion
 * controller and the SACK scoreboard exactly as controller.ts's recipe says. It is the
 * recipe in executable form: if these tests pass, the recipe recovers from loss.
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

interface Block {
  left: number;
  right: number;
}
type Event =
  | { at: number; kind: "data"; seq: number; length: number }
  | { at: number; kind: "ack"; ack: number; blocks: Block[] }
  | { at: number; kind: "rto"; generation: number };

export function simulate(options: SimOptions): SimResult {
  const oneWay = options.oneWayMs ?? 50;
  const baseRto = options.rtoMs ?? 1000;
  const total = seqAdd(ISS, options.segments * MSS);
  const cc: CongestionController = createCongestionController(options.congestion, {
    mss: MSS,
    now: 0,
    sack: options.sack,
  });
  const board = new Scoreboard({ mss: MSS });
  const events: Event[] = [];
  const sent = new Map<number, number>();
  const result: SimResult = {
    completed: false,
    finishedAtMs: 0,
    timeouts: 0,
    fastRetransmits: 0,
    retransmissions: 0,
    rescues: 0,
    minCwnd: cc.cwnd,
  };
  // Sender state (RFC 9293 names; highRxt/rescueRxt exclusive, see scoreboard.ts).
  let sndUna = ISS;
  let sndNxt = ISS;
  let sndMax = ISS;
  let highRxt = ISS;
  let rescueRxt: number | undefined;
  let rto = baseRto;
  let timerGeneration = 0;
  let timerRunning = false;
  // Receiver state.
  let rcvNxt = ISS;
  let held: Block[] = [];
  const reporter = new SackBlockReporter();

  /** Keeps `events` sorted by time (stable: equal times stay in scheduling order). */
  const schedule = (e: Event) => {
    let low = 0;
    let high = events.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (events[mid]!.at <= e.at) low = mid + 1;
      else high = mid;
    }
    events.splice(low, 0, e);
  };
  const armTimer = (now: number) => {
    timerGeneration++;
    timerRunning = true;
    schedule({ at: now + rto, kind: "rto", generation: timerGeneration });
  };

  function transmit(seq: number, length: number, now: number): void {
    const index = Math.floor(seqDiff(seq, ISS) / MSS);
    const count = sent.get(index) ?? 0;
    if (count > 0 || seqLt(seq, sndMax)) result.retransmissions++;
    options.log?.(
      `${now} send ${index} (${length}) #${count}${cc.inRecovery ? " in recovery" : ""}`,
    );
    sent.set(index, count + 1);
    if (!timerRunning) armTimer(now);
    if (!options.drop(index, count)) schedule({ at: now + oneWay, kind: "data", seq, length });
  }

  /**
   * Recipe step 3 "retransmit": the segment at SND.UNA, not into SACKed data, unless a
   * retransmission of it from the previous recovery is still in flight (SND.UNA < HighRxt).
   */
  function retransmitFirst(now: number): void {
    if (seqLt(sndUna, highRxt)) return;
    const nextSacked = board.nextSackedStart(sndUna) ?? sndMax;
    const length = Math.min(MSS, seqDiff(seqMin(nextSacked, sndMax), sndUna));
    transmit(sndUna, length, now);
    result.fastRetransmits++;
    highRxt = seqAdd(sndUna, length);
    rescueRxt = highRxt;
  }

  /** Recipe step 1, and RFC 6675 §5 step (C) during SACK recovery. */
  function output(now: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      if (options.sack && cc.inRecovery) {
        if (cc.cwnd - board.pipe(sndUna, sndMax, highRxt) < MSS) return;
        const next = board.nextSeg({
          sndUna,
          sndMax,
          highRxt,
          rescueRxt,
          newDataBytes: seqDiff(total, sndMax),
        });
        if (next === undefined) return;
        transmit(next.seq, next.length, now);
        if (next.rule === 1 || next.rule === 3)
          highRxt = seqMax(highRxt, seqAdd(next.seq, next.length));
        if (next.rule === 2) sndNxt = sndMax = seqAdd(next.seq, next.length);
        if (next.rule === 4) {
          rescueRxt = cc.recover;
          result.rescues++;
        }
        continue;
      }
      // Go-back-N after a timeout skips what the receiver SACKed since.
      const sackedEnd = board.sackedEnd(sndNxt);
      if (sackedEnd !== undefined) sndNxt = sackedEnd;
      const inFlight =
        options.sack && cc.dupAcks > 0
          ? board.pipe(sndUna, sndMax, highRxt)
          : seqDiff(sndNxt, sndUna);
      const length = Math.min(MSS, seqDiff(total, sndNxt));
      if (length <= 0 || inFlight + length > cc.sendWindow) return;
      transmit(sndNxt, length, now);
      sndNxt = seqAdd(sndNxt, length);
      sndMax = seqMax(sndMax, sndNxt);
    }
  }

  /** Recipe steps 2 and 3. */
  function onAck(ack: number, blocks: Block[], now: number): void {
    const edges = blocks.map((b) => `${seqDiff(b.left, ISS) / MSS}-${seqDiff(b.right, ISS) / MSS}`);
    options.log?.(`${now} ack ${seqDiff(ack, ISS) / MSS} sack ${edges.join(" ")} cwnd ${cc.cwnd}`);
    const advanced = seqGt(ack, sndUna);
    if (advanced) {
      const bytesAcked = seqDiff(ack, sndUna);
      sndUna = ack;
      if (seqLt(sndNxt, sndUna)) sndNxt = sndUna;
      board.onCumulativeAck(sndUna);
      rto = baseRto;
      timerRunning = false;
      if (sndUna !== sndMax) armTimer(now);
      const action = cc.onAck({
        now,
        bytesAcked,
        sndUna,
        sndMax,
        bytesInFlight: seqDiff(sndMax, sndUna),
        rttMs: 2 * oneWay,
      });
      if (action === "retransmit") transmit(sndUna, Math.min(MSS, seqDiff(sndMax, sndUna)), now);
      if (action === "recovery-end") rescueRxt = undefined;
    }
    let duplicate = false;
    if (options.sack) duplicate = board.update(blocks, sndUna, sndMax).newlySacked > 0;
    else duplicate = !advanced && sndMax !== sndUna;
    if (duplicate) {
      // RFC 6675 (3.1) "HighRxt = HighACK", but not below what is already retransmitted.
      if (!cc.inRecovery) highRxt = seqMax(highRxt, sndUna);
      const action = cc.onDuplicateAck({
        now,
        sndUna,
        sndMax,
        bytesInFlight: seqDiff(sndMax, sndUna),
        lost: options.sack ? board.isLost(sndUna) : undefined,
      });
      if (action === "retransmit") retransmitFirst(now);
    }
    output(now);
  }

  function onTimeout(now: number): void {
    timerRunning = false;
    if (sndUna === sndMax) return;
    result.timeouts++;
    // Recipe step 4.
    cc.onRetransmitTimeout({ now, sndUna, sndMax, bytesInFlight: seqDiff(sndMax, sndUna) });
    board.clear();
    sndNxt = sndUna;
    highRxt = sndUna;
    rescueRxt = undefined;
    rto = Math.min(rto * 2, 60_000);
    output(now);
    if (!timerRunning) armTimer(now);
  }

  function receive(seq: number, length: number, now: number): void {
    const end = seqAdd(seq, length);
    if (seqGt(end, rcvNxt)) {
      const left = seqMax(seq, rcvNxt);
      if (seqGt(left, rcvNxt)) reporter.noteArrival(left);
      held = merge(held, { left, right: end });
      while (held[0] !== undefined && seqLe(held[0].left, rcvNxt)) {
        rcvNxt = seqMax(rcvNxt, held[0].right);
        held.shift();
      }
    }
    const blocks = options.sack ? reporter.blocks(held, 3) : [];
    schedule({ at: now + oneWay, kind: "ack", ack: rcvNxt, blocks });
  }

  output(0);
  while (events.length > 0) {
    const event = events.shift()!;
    if (event.at > LIMIT_MS) break;
    if (event.kind === "data") receive(event.seq, event.length, event.at);
    else if (event.kind === "ack") onAck(event.ack, event.blocks, event.at);
    else if (event.generation === timerGeneration) onTimeout(event.at);
    result.minCwnd = Math.min(result.minCwnd, cc.cwnd);
    if (sndUna === total) {
      result.completed = rcvNxt === total;
      result.finishedAtMs = event.at;
      break;
    }
  }
  return result;
}

/** Adds [left, right) to sorted, disjoint ranges, merging what touches. */
function merge(ranges: Block[], add: Block): Block[] {
  const out: Block[] = [];
  let current = { ...add };
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
