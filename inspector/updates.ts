/**
 * What the page is sent: the whole picture on first load (embedded in the HTML, so the
 * first paint already shows data), then every tick only what is new, per viewer. The
 * connection table is the `/stats` one (stack/ss.ts `connectionRows`), with the extra
 * TCP_INFO columns the page shows beside it.
 */

import { connectionRows, listeningRows } from "../examples/ss.ts";
import type { Clock } from "../stack/clock.ts";
import type { Stack } from "../stack/stack.ts";
import { connectionKey, type InspectorRecorder } from "./recorder.ts";
import type { ConnectionView, TableRow, Update } from "./update_types.ts";

export interface InspectorSource {
  readonly stack: Stack;
  readonly clock: Pick<Clock, "now">;
  readonly recorder: InspectorRecorder;
  /** Listening sockets, as /stats lists them (examples/services `running`). */
  readonly listening: () => readonly { protocol: string; port: number }[];
}

/** A viewer's position in each stream, so the next update carries only what is new. */
export interface Cursor {
  key: string | undefined;
  segments: number;
  samples: number;
  lines: number;
  connectionLines: number;
  ladderLength: number;
}

export function newCursor(key: string | undefined): Cursor {
  return { key, segments: 0, samples: 0, lines: 0, connectionLines: 0, ladderLength: -1 };
}

const LINES_PER_UPDATE = 100;
/**
 * Segments sent per update at most (the newest): at hundreds of MB/s far more pass in a
 * tick than a picture can show, and serialising them all would cost the stack's thread.
 */
const SEGMENTS_PER_UPDATE = 400;

/** The table, the counters, and what is new for the viewer's connection since `cursor`. */
export function buildUpdate(source: InspectorSource, cursor: Cursor): Update {
  const { stack, recorder } = source;
  const now = source.clock.now();
  const table = tableRows(source, now);
  cursor.key ??= busiest(source);
  const history = cursor.key === undefined ? undefined : recorder.get(cursor.key);
  let connection: ConnectionView | undefined;
  if (history !== undefined) {
    const full = cursor.segments === 0 && cursor.samples === 0;
    const ladder = history.ladder();
    connection = {
      key: history.key,
      state: history.state,
      full,
      segments: history.segments.since(
        full ? 0 : Math.max(cursor.segments, history.segments.total - SEGMENTS_PER_UPDATE),
      ),
      samples: history.samples.since(cursor.samples),
      // The ladder is small; it is sent again only when it changed.
      ladder: ladder.length !== cursor.ladderLength || full ? ladder : [],
      lines: history.lines.since(cursor.connectionLines, LINES_PER_UPDATE),
    };
    cursor.connectionLines = history.lines.total;
    cursor.segments = history.segments.total;
    cursor.samples = history.samples.total;
    cursor.ladderLength = ladder.length;
  }
  const lines = recorder.lines.since(cursor.lines, LINES_PER_UPDATE);
  cursor.lines = recorder.lines.total;
  return {
    nowMs: now,
    address: formatAddress(stack.address),
    table,
    counters: stack.stats.snapshot(),
    drops: Object.fromEntries([...recorder.drops].sort(([a], [b]) => a.localeCompare(b))),
    selected: cursor.key,
    connection,
    lines,
  };
}

/** The /stats rows, keyed, with TCP_INFO's other columns. */
function tableRows(source: InspectorSource, now: number): TableRow[] {
  const connections = [...source.stack.tcp.connections()];
  const rows = connectionRows(source.stack, now);
  const table: TableRow[] = [...listeningRows(source.listening())];
  rows.forEach((row, i) => {
    const c = connections[i]!;
    const info = c.info(now);
    const slowStart = info.cwndBytes < info.ssthreshBytes;
    table.push({
      ...row,
      key: connectionKey(c),
      rttvarMs: info.rttvarMs,
      ssthreshBytes: info.ssthreshBytes,
      bytesInFlight: info.bytesInFlight,
      congestion: String(info.congestion),
      phase: slowStart ? "slow start" : "congestion avoidance",
    });
  });
  return table;
}

/** The connection with the latest activity, for a page that chose none. */
function busiest(source: InspectorSource): string | undefined {
  let best: { key: string; at: number } | undefined;
  for (const h of source.recorder.all()) {
    if (best === undefined || h.lastActivityMs > best.at)
      best = { key: h.key, at: h.lastActivityMs };
  }
  return best?.key;
}

function formatAddress(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}
