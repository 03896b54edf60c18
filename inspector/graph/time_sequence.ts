/**
 * The Stevens time-sequence graph (TCP/IP Illustrated; tcptrace and xplot drew it): time
 * across, sequence number up, for the data one endpoint sends.
 *
 *   - each data segment is a vertical bar from SEG.SEQ to SEG.SEQ + SEG.LEN (blue); a
 *     segment below the highest sequence sent before it is a retransmission (red, "R");
 *   - the receiver's ACK line (green) steps up with each cumulative ACK (RFC 9293 §3.4);
 *   - the window line (yellow) is SEG.ACK + SEG.WND << Rcv.Wind.Shift (RFC 7323 §2.3):
 *     the sender may not send above it (§3.8.6);
 *   - SACK blocks (purple) show what arrived above the ACK (RFC 2018 §3);
 *   - shaded stretches are zero-window periods (§3.8.6.1: the sender probes).
 *
 * Each data segment is one `<path class="seg">` with its numbers as data- attributes, in
 * capture order, so a test (or a reader with a text editor) can check the picture.
 */
import { ACK, type SegmentRecord, SYN } from "../tcp_segment.ts";
import { axes, escapeXml, frame, linearScale, SVG_STYLE } from "./svg.ts";

export interface TimeSequenceOptions {
  /** The endpoint whose data is drawn ("10.0.0.2:80"). */
  sender: string;
  width?: number;
  height?: number;
  title?: string;
}

/** What the graph found, for its caption and for tests. */
export interface TimeSequenceSummary {
  dataSegments: number;
  retransmissions: number;
  sackBlocks: number;
  zeroWindowPeriods: number;
}

interface Prepared {
  base: number;
  t0: number;
  data: { s: SegmentRecord; rexmit: boolean }[];
  acks: SegmentRecord[];
  /** The receiver's window shift (RFC 7323 §2.2), once both SYNs offered one. */
  shift: number;
}

/** Splits the connection into the sender's data and the receiver's ACKs. */
function prepare(segments: readonly SegmentRecord[], sender: string): Prepared {
  const synOut = segments.find((s) => s.source === sender && s.flags & SYN);
  const synIn = segments.find((s) => s.destination === sender && s.flags & SYN);
  // RFC 7323 §2.2: scaling applies only if both ends sent the option.
  const shift =
    synOut?.windowScale !== undefined && synIn?.windowScale !== undefined ? synIn.windowScale : 0;
  const firstData = segments.find((s) => s.source === sender);
  const base = synOut !== undefined ? (synOut.seq + 1) >>> 0 : (firstData?.seq ?? 0);
  const data: Prepared["data"] = [];
  let highest: number | undefined;
  for (const s of segments) {
    if (s.source !== sender || s.dataBytes === 0) continue;
    const end = (s.seq + s.dataBytes) >>> 0;
    const rexmit = highest !== undefined && ((s.seq - highest) | 0) < 0;
    data.push({ s, rexmit });
    if (highest === undefined || ((end - highest) | 0) > 0) highest = end;
  }
  const acks = segments.filter(
    (s) => s.destination === sender && s.flags & ACK && !(s.flags & SYN),
  );
  return { base, t0: segments[0]?.timeMs ?? 0, data, acks, shift };
}

export function timeSequenceGraph(
  segments: readonly SegmentRecord[],
  options: TimeSequenceOptions,
): { svg: string; summary: TimeSequenceSummary } {
  const f = frame(options.width ?? 900, options.height ?? 520, { l: 64, r: 16, t: 52, b: 36 });
  const p = prepare(segments, options.sender);
  const rel = (seq: number) => (seq - p.base) | 0;
  const tOf = (s: SegmentRecord) => s.timeMs - p.t0;
  let yMax = 1;
  let yMin = 0;
  for (const { s } of p.data) yMax = Math.max(yMax, rel(s.seq) + s.dataBytes);
  for (const a of p.acks) {
    yMax = Math.max(yMax, rel(a.ack));
    yMin = Math.min(yMin, rel(a.ack));
  }
  for (const { s } of p.data) yMin = Math.min(yMin, rel(s.seq));
  // The window edge counts when it is near the data; far above, it would flatten the rest.
  let winMax = yMax;
  for (const a of p.acks) winMax = Math.max(winMax, rel(a.ack) + (a.window << p.shift));
  if (winMax <= yMax + (yMax - yMin) * 0.5) yMax = winMax;
  const tMax = Math.max(1e-3, ...segments.map(tOf));
  // Headroom above the highest data so the window line shows where it matters.
  const x = linearScale(0, tMax, f.left, f.right);
  const y = linearScale(yMin, yMax + (yMax - yMin) * 0.08, f.bottom, f.top);
  const parts: string[] = [];
  const summary: TimeSequenceSummary = {
    dataSegments: p.data.length,
    retransmissions: 0,
    sackBlocks: 0,
    zeroWindowPeriods: 0,
  };
  parts.push(zeroWindows(p, x, y, f, summary, tOf));
  parts.push(axes(f, x, y, { x: "time (ms)", y: "relative sequence number (bytes)" }));
  parts.push(
    `<clipPath id="plot-area"><rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}"/></clipPath>`,
    `<g clip-path="url(#plot-area)">${ackAndWindowLines(p, x, y, rel, tOf, f)}</g>`,
  );
  for (const a of p.acks) {
    for (const [left, right] of a.sack) {
      summary.sackBlocks++;
      const px = x(tOf(a)).toFixed(1);
      parts.push(
        `<line class="sack" x1="${px}" y1="${y(rel(left)).toFixed(1)}" x2="${px}" y2="${y(rel(right)).toFixed(1)}" data-left="${rel(left)}" data-right="${rel(right)}"/>`,
      );
    }
  }
  for (let i = 0; i < p.data.length; i++) {
    const { s, rexmit } = p.data[i]!;
    if (rexmit) summary.retransmissions++;
    const px = x(tOf(s));
    const y0 = y(rel(s.seq));
    const y1 = y(rel(s.seq) + s.dataBytes);
    // tcptrace's I-beam: the bar with a tick at each end.
    const d = `M${(px - 2).toFixed(1)} ${y0.toFixed(1)}h4M${px.toFixed(1)} ${y0.toFixed(1)}V${y1.toFixed(1)}M${(px - 2).toFixed(1)} ${y1.toFixed(1)}h4`;
    parts.push(
      `<path class="seg${rexmit ? " rexmit" : ""}" d="${d}" data-i="${i}" data-t="${tOf(s).toFixed(3)}" data-seq="${rel(s.seq)}" data-len="${s.dataBytes}"${rexmit ? ' data-retransmit="1"' : ""}/>`,
    );
    if (rexmit) {
      parts.push(
        `<text class="rexmit-mark" x="${(px + 3).toFixed(1)}" y="${(y1 - 2).toFixed(1)}">R</text>`,
      );
    }
  }
  const title =
    options.title ??
    `${options.sender} → data: ${summary.dataSegments} segments, ${summary.retransmissions} retransmitted`;
  const legend = legendSvg(f);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="tsg" role="img" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}"><title>Time-sequence graph: ${escapeXml(title)}</title>${SVG_STYLE}<text class="title" x="${f.left}" y="16">${escapeXml(title)}</text>${parts.join("")}${legend}</svg>`;
  return { svg, summary };
}

/** Step lines: the ACK the receiver last sent, and its right window edge. */
function ackAndWindowLines(
  p: Prepared,
  x: (v: number) => number,
  y: (v: number) => number,
  rel: (seq: number) => number,
  tOf: (s: SegmentRecord) => number,
  f: { right: number },
): string {
  if (p.acks.length === 0) return "";
  let ackPath = "";
  let winPath = "";
  for (const a of p.acks) {
    const px = x(tOf(a)).toFixed(1);
    const ackY = y(rel(a.ack)).toFixed(1);
    const winY = y(rel(a.ack) + (a.window << p.shift)).toFixed(1);
    ackPath += ackPath === "" ? `M${px} ${ackY}` : `H${px}V${ackY}`;
    winPath += winPath === "" ? `M${px} ${winY}` : `H${px}V${winY}`;
  }
  ackPath += `H${f.right}`;
  winPath += `H${f.right}`;
  return `<path class="win" d="${winPath}"/><path class="ack" d="${ackPath}"/>`;
}

/** Shaded spans from an ACK that closes the window (SEG.WND = 0) to one that opens it. */
function zeroWindows(
  p: Prepared,
  x: (v: number) => number,
  _y: (v: number) => number,
  f: { top: number; bottom: number; right: number },
  summary: TimeSequenceSummary,
  tOf: (s: SegmentRecord) => number,
): string {
  const parts: string[] = [];
  let since: number | undefined;
  const close = (until: number) => {
    summary.zeroWindowPeriods++;
    const x0 = x(since!);
    parts.push(
      `<rect class="zerowin" x="${x0.toFixed(1)}" y="${f.top}" width="${Math.max(1, until - x0).toFixed(1)}" height="${f.bottom - f.top}" data-from="${since!.toFixed(3)}"/>`,
    );
    since = undefined;
  };
  for (const a of p.acks) {
    if (a.window === 0 && since === undefined) since = tOf(a);
    else if (a.window !== 0 && since !== undefined) close(x(tOf(a)));
  }
  if (since !== undefined) close(f.right);
  return parts.join("");
}

function legendSvg(f: { left: number }): string {
  const items: [string, string][] = [
    ["#1f4fd1", "data"],
    ["#d11f1f", "retransmission"],
    ["#1a9c3a", "ACK"],
    ["#c9a100", "window"],
    ["#8a2be2", "SACK"],
    ["#ff8c00", "zero window"],
  ];
  let x = f.left + 200;
  const parts = items.map(([color, name]) => {
    const out = `<rect x="${x}" y="24" width="10" height="10" fill="${color}"/><text x="${x + 14}" y="33">${name}</text>`;
    x += 22 + name.length * 6.5;
    return out;
  });
  return parts.join("");
}
