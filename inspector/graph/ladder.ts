/**
 * The ladder diagram of a connection's opening and closing, as RFC 9293 §3.5 and §3.6
 * draw them: one lifeline per endpoint, time going down, each segment an arrow labelled
 * like tcpdump (flags, relative sequence and acknowledgment numbers, window, options),
 * and each state change written beside its lifeline with the rule that caused it.
 *
 * Only the handshake and the close are drawn: SYNs, FINs and RSTs, the ACK that
 * completes the handshake and each ACK of a FIN. The data in between is one gap row.
 */
import type { StateChange } from "../rules.ts";
import {
  ACK,
  FIN,
  flagLetters,
  RST,
  type SegmentRecord,
  SYN,
  segmentLength,
} from "../tcp_segment.ts";
import { escapeXml, SVG_STYLE } from "./svg.ts";

export interface LadderOptions {
  /** The left lifeline's endpoint (live: this stack); the other is on the right. */
  left: string;
  right: string;
  title?: string;
}

type Row =
  | { kind: "segment"; s: SegmentRecord }
  | { kind: "state"; c: StateChange }
  | { kind: "gap"; count: number };

const WIDTH = 1240;
const LEFT_X = 400;
const RIGHT_X = 840;
const ROW = 40;
/** Rule text wider than this is wrapped onto a second line. */
const RULE_CHARS = 66;
const TOP = 64;

/** The segments the ladder shows: the ones that open or close (see the file comment). */
export function ladderSegments(segments: readonly SegmentRecord[]): boolean[] {
  const keep = segments.map((s) => (s.flags & (SYN | FIN | RST)) !== 0);
  const finEnds = new Map<string, number>();
  let synAckFrom: string | undefined;
  segments.forEach((s, i) => {
    if (s.flags & SYN && s.flags & ACK) synAckFrom = s.source;
    else if (synAckFrom !== undefined && s.destination === synAckFrom && s.flags & ACK) {
      keep[i] = true; // RFC 9293 §3.5: the third segment of the handshake
      synAckFrom = undefined;
    }
    const finEnd = finEnds.get(s.destination);
    if (finEnd !== undefined && s.flags & ACK && ((s.ack - finEnd) | 0) >= 0) {
      keep[i] = true; // the ACK of a FIN (§3.6)
      finEnds.delete(s.destination);
    }
    if (s.flags & FIN) finEnds.set(s.source, (s.seq + segmentLength(s)) >>> 0);
  });
  return keep;
}

/** One thing on the ladder, in order: a segment (with its number in the connection) or a state change. */
export type LadderItem =
  | { readonly kind: "segment"; readonly s: SegmentRecord; readonly index: number }
  | { readonly kind: "state"; readonly c: StateChange };

/** All of a connection's segments and its state changes, merged by `StateChange.at`. */
export function ladderItems(
  segments: readonly SegmentRecord[],
  changes: readonly StateChange[],
): LadderItem[] {
  const placed = [...changes].sort((a, b) => a.at - b.at);
  const out: LadderItem[] = [];
  let next = 0;
  segments.forEach((s, index) => {
    while (next < placed.length && placed[next]!.at < index)
      out.push({ kind: "state", c: placed[next++]! });
    out.push({ kind: "segment", s, index });
  });
  while (next < placed.length) out.push({ kind: "state", c: placed[next++]! });
  return out;
}

/** The rows: kept segments, state changes, and one gap row for each run of the rest. */
function rows(items: readonly LadderItem[]): Row[] {
  const segmentItems = items.filter((i) => i.kind === "segment");
  const keep = ladderSegments(segmentItems.map((i) => i.s));
  const kept = new Set(segmentItems.filter((_, i) => keep[i]));
  const out: Row[] = [];
  let gap = 0;
  let lastIndex = -1;
  const flush = () => {
    if (gap > 0) out.push({ kind: "gap", count: gap });
    gap = 0;
  };
  for (const item of items) {
    if (item.kind === "state") {
      flush();
      out.push({ kind: "state", c: item.c });
      continue;
    }
    gap += Math.max(0, item.index - lastIndex - 1); // segments the recorder did not keep
    lastIndex = item.index;
    if (kept.has(item)) {
      flush();
      out.push({ kind: "segment", s: item.s });
    } else gap++;
  }
  flush();
  return out;
}

/** ISN of each sender, so numbers print relative as tcpdump does without -S. */
function isns(segments: readonly SegmentRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of segments) if (!out.has(s.source)) out.set(s.source, s.seq);
  return out;
}

function label(s: SegmentRecord, isn: Map<string, number>): string {
  const seq = (s.seq - (isn.get(s.source) ?? s.seq)) >>> 0;
  const parts = [`[${flagLetters(s.flags)}] seq ${seq}`];
  if (s.flags & ACK) parts.push(`ack ${(s.ack - (isn.get(s.destination) ?? s.ack)) >>> 0}`);
  parts.push(`win ${s.window}`);
  if (s.dataBytes > 0) parts.push(`len ${s.dataBytes}`);
  const options: string[] = [];
  if (s.mss !== undefined) options.push(`mss ${s.mss}`);
  if (s.windowScale !== undefined) options.push(`ws ${s.windowScale}`);
  if (s.sack.length > 0) options.push(`sack ${s.sack.length}`);
  if (options.length > 0) parts.push(`<${options.join(",")}>`);
  return parts.join(" ");
}

export function ladderDiagram(
  items: readonly LadderItem[],
  options: LadderOptions,
): { svg: string; arrows: number; states: number } {
  const all = rows(items);
  const segments = items.flatMap((i) => (i.kind === "segment" ? [i.s] : []));
  const isn = isns(segments);
  const first = items[0];
  const t0 = first === undefined ? 0 : first.kind === "segment" ? first.s.timeMs : first.c.timeMs;
  const height = TOP + all.length * ROW + 30;
  const parts: string[] = [
    `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#333"/></marker></defs>`,
    `<text class="title" x="20" y="18">${escapeXml(options.title ?? "Handshake and close")}</text>`,
    `<text class="state" x="${LEFT_X}" y="44" text-anchor="middle">${escapeXml(options.left)}</text>`,
    `<text class="state" x="${RIGHT_X}" y="44" text-anchor="middle">${escapeXml(options.right)}</text>`,
    `<line class="lifeline" x1="${LEFT_X}" y1="${TOP - 10}" x2="${LEFT_X}" y2="${height - 20}"/>`,
    `<line class="lifeline" x1="${RIGHT_X}" y1="${TOP - 10}" x2="${RIGHT_X}" y2="${height - 20}"/>`,
  ];
  let arrows = 0;
  let states = 0;
  all.forEach((row, i) => {
    const y = TOP + i * ROW;
    if (row.kind === "gap") {
      parts.push(
        `<text class="gap" x="${(LEFT_X + RIGHT_X) / 2}" y="${y + 16}" text-anchor="middle">⋮ ${row.count} segment${row.count === 1 ? "" : "s"} not shown ⋮</text>`,
      );
    } else if (row.kind === "segment") {
      arrows++;
      parts.push(arrow(row.s, y, options.left, isn, t0));
    } else {
      states++;
      parts.push(stateLabel(row.c, y, options.left));
    }
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" role="img" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"><title>Ladder diagram: ${escapeXml(options.title ?? "handshake and close")}</title>${SVG_STYLE}${parts.join("")}</svg>`;
  return { svg, arrows, states };
}

function arrow(
  s: SegmentRecord,
  y: number,
  left: string,
  isn: Map<string, number>,
  t0: number,
): string {
  const fromLeft = s.source === left;
  const x1 = fromLeft ? LEFT_X : RIGHT_X;
  const x2 = fromLeft ? RIGHT_X : LEFT_X;
  const kind = s.flags & RST ? "rst" : s.flags & SYN ? "syn" : s.flags & FIN ? "fin" : "ack";
  const text = label(s, isn);
  const time = `${(s.timeMs - t0).toFixed(3)} ms`;
  return (
    `<g class="ladder-segment" data-flags="${flagLetters(s.flags)}" data-from="${escapeXml(s.source)}">` +
    `<line class="arrow ${kind}" x1="${x1}" y1="${y}" x2="${x2}" y2="${y + ROW - 10}"/>` +
    `<text class="seg-label" x="${(LEFT_X + RIGHT_X) / 2}" y="${y + 9}" text-anchor="middle">${escapeXml(text)}</text>` +
    `<text class="tick" x="${LEFT_X + 6}" y="${y + ROW - 4}" text-anchor="start">${time}</text></g>`
  );
}

function stateLabel(c: StateChange, y: number, left: string): string {
  const onLeft = c.endpoint === left;
  const x = onLeft ? LEFT_X - 10 : RIGHT_X + 10;
  const anchor = onLeft ? "end" : "start";
  const mark = c.inferred ? " (inferred)" : "";
  return (
    `<g class="ladder-state" data-endpoint="${escapeXml(c.endpoint)}" data-to="${c.to}">` +
    `<text class="state" x="${x}" y="${y + 12}" text-anchor="${anchor}">${escapeXml(`${c.from} → ${c.to}${mark}`)}</text>` +
    wrap(c.rule, RULE_CHARS)
      .map(
        (line, i) =>
          `<text class="rule" x="${x}" y="${y + 24 + i * 11}" text-anchor="${anchor}">${escapeXml(line)}</text>`,
      )
      .join("") +
    "</g>"
  );
}

/** Splits at the last space before `width` characters (at most two lines). */
function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const cut = text.lastIndexOf(" ", width);
  const at = cut > 0 ? cut : width;
  return [text.slice(0, at), text.slice(at).trim()];
}
