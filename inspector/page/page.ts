/**
 * The inspector page, in the browser. It paints the state embedded in the HTML at once,
 * then follows the server-sent events of `/events`, each carrying what is new: the
 * connection table and counters whole, and for the chosen connection its new segments
 * and TCP_INFO samples. The pictures are drawn by the same functions as `bun run graph`
 * (../graph/), as SVG.
 */
import { ladderDiagram } from "../graph/ladder.ts";
import { linePlot, type Series } from "../graph/line_plot.ts";
import { timeSequenceGraph } from "../graph/time_sequence.ts";
import type { SegmentRecord } from "../tcp_segment.ts";
import type { ConnectionView, Sample, TableRow, TraceLine, Update } from "../update_types.ts";

const MAX_SEGMENTS = 2000;
const MAX_SAMPLES = 1200;
const MAX_LINES = 1500;

interface PageState {
  selected: string | undefined;
  latest: Update | undefined;
  segments: SegmentRecord[];
  samples: Sample[];
  ladder: ConnectionView["ladder"];
  lines: TraceLine[];
  /** The selected connection's own lines (kept apart from the busy global ring). */
  connectionLines: TraceLine[];
}

const state: PageState = {
  selected: new URLSearchParams(location.search).get("conn") ?? undefined,
  latest: undefined,
  segments: [],
  samples: [],
  ladder: [],
  lines: [],
  connectionLines: [],
};

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function apply(update: Update): void {
  state.latest = update;
  state.selected = update.selected;
  const c = update.connection;
  if (c !== undefined) {
    if (c.full) {
      state.segments = [];
      state.samples = [];
      state.connectionLines = [];
    }
    state.connectionLines = appendLines(state.connectionLines, c.lines);
    state.segments = keepLast(state.segments.concat(c.segments), MAX_SEGMENTS);
    state.samples = keepLast(state.samples.concat(c.samples), MAX_SAMPLES);
    if (c.ladder.length > 0) state.ladder = c.ladder;
  }
  state.lines = appendLines(state.lines, update.lines);
}

/** Adds the lines not yet held (numbered `n`), keeping the last MAX_LINES. */
function appendLines(held: TraceLine[], incoming: readonly TraceLine[]): TraceLine[] {
  const seen = held.length === 0 ? -1 : held[held.length - 1]!.n;
  return keepLast(held.concat(incoming.filter((l) => l.n > seen)), MAX_LINES);
}

function keepLast<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}

// --- Painting ---------------------------------------------------------------------------

/** The pictures are redrawn at most this often; the table and counters with every update. */
const PICTURE_INTERVAL_MS = 1000;
let picturesDrawnAt = Number.NEGATIVE_INFINITY;

function render(): void {
  const u = state.latest;
  if (u === undefined) return;
  byId("host").textContent =
    `stack ${u.address} · ${new Date(u.nowMs).toISOString().slice(11, 23)} UTC`;
  renderTable(u.table);
  renderCounters(byId("counters"), u.counters);
  renderCounters(byId("drops"), u.drops);
  byId("selected").textContent = state.selected ?? "(none yet)";
  byId("selected-state").textContent = u.connection?.state ?? "";
  const now = performance.now();
  if (now - picturesDrawnAt >= PICTURE_INTERVAL_MS) {
    picturesDrawnAt = now;
    renderConnection();
    renderTrace();
  }
}

const COLUMNS: [keyof TableRow, (v: unknown) => string, boolean][] = [
  ["protocol", String, true],
  ["state", String, true],
  ["recvQ", String, false],
  ["sendQ", String, false],
  ["local", String, true],
  ["remote", String, true],
  ["srttMs", ms, false],
  ["rttvarMs", ms, false],
  ["rtoMs", ms, false],
  ["cwndBytes", String, false],
  ["ssthreshBytes", threshold, false],
  ["bytesInFlight", optional, false],
  ["retransmits", String, false],
  ["congestion", optional, true],
  ["phase", optional, true],
];

function ms(v: unknown): string {
  return typeof v === "number" && Number.isFinite(v) ? String(Math.round(v * 10) / 10) : "-";
}

function threshold(v: unknown): string {
  return typeof v === "number" ? (v >= 0x3fffffff ? "∞" : String(v)) : "";
}

function optional(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

/** Rows are kept by key and their cells rewritten, so a row being clicked stays put. */
const tableRows = new Map<string, HTMLTableRowElement>();

function renderTable(rows: readonly TableRow[]): void {
  const body = byId("connections").querySelector("tbody")!;
  const ordered = rows.map((row) => {
    const id = row.key ?? `${row.protocol} ${row.local}`;
    let tr = tableRows.get(id);
    if (tr === undefined) {
      tr = document.createElement("tr");
      tableRows.set(id, tr);
      for (const [field, , text] of COLUMNS) {
        const td = document.createElement("td");
        td.dataset.field = field;
        if (text) td.className = "text";
        tr.append(td);
      }
      if (row.key !== undefined) {
        tr.dataset.key = row.key;
        tr.addEventListener("click", () => select(row.key!));
      }
    }
    tr.classList.toggle("selected", row.key !== undefined && row.key === state.selected);
    COLUMNS.forEach(([field, format], i) => {
      const text = format(row[field]);
      const td = tr.children[i]!;
      if (td.textContent !== text) td.textContent = text;
    });
    return tr;
  });
  const live = new Set(ordered);
  for (const [id, tr] of tableRows) if (!live.has(tr)) tableRows.delete(id);
  const same =
    ordered.length === body.children.length && ordered.every((tr, i) => body.children[i] === tr);
  if (!same) body.replaceChildren(...ordered);
}

function renderCounters(table: HTMLElement, counters: Record<string, number>): void {
  const body = table.querySelector("tbody")!;
  const entries = Object.entries(counters);
  body.replaceChildren(
    ...(entries.length === 0 ? [["(none)", ""] as const] : entries).map(([name, value]) => {
      const tr = document.createElement("tr");
      tr.dataset.counter = name;
      const a = document.createElement("td");
      a.textContent = name;
      const b = document.createElement("td");
      b.textContent = String(value);
      tr.append(a, b);
      return tr;
    }),
  );
}

function renderConnection(): void {
  const key = state.selected;
  if (key === undefined) return;
  const [local = "", remote = ""] = key.split(" ");
  const s = state.samples;
  const t = (f: (x: Sample) => number): Series["points"] => s.map((x) => [x.timeMs, f(x)]);
  const plots: [string, Series[], string, string][] = [
    [
      "plot-cwnd",
      [
        { name: "cwnd", color: "#1f4fd1", points: t((x) => x.cwnd) },
        { name: "ssthresh", color: "#d11f1f", points: t((x) => x.ssthresh ?? Number.NaN) },
      ],
      "cwnd and ssthresh",
      "bytes",
    ],
    [
      "plot-rtt",
      [
        { name: "srtt", color: "#1a9c3a", points: t((x) => x.srttMs) },
        { name: "rto", color: "#c9a100", points: t((x) => x.rtoMs) },
      ],
      "srtt and rto",
      "ms",
    ],
    [
      "plot-rate",
      [{ name: "delivery rate", color: "#8a2be2", points: t((x) => x.deliveryRate) }],
      "delivery rate",
      "bytes/s",
    ],
    [
      "plot-flight",
      [{ name: "bytes in flight", color: "#ff8c00", points: t((x) => x.bytesInFlight) }],
      "bytes in flight",
      "bytes",
    ],
    [
      "plot-rwnd",
      [
        { name: "rcv wnd", color: "#1f4fd1", points: t((x) => x.rcvWnd) },
        { name: "snd wnd (peer's)", color: "#888", points: t((x) => x.sndWnd) },
      ],
      "receive window",
      "bytes",
    ],
  ];
  for (const [id, series, title, unit] of plots) {
    byId(id).innerHTML = linePlot(series, { title, unit });
  }
  const sender = mainSender(state.segments, local, remote);
  byId("tsg").innerHTML = timeSequenceGraph(state.segments, {
    sender,
    title: `${sender} → data (last ${state.segments.length} segments)`,
  }).svg;
  byId("ladder").innerHTML = ladderDiagram(state.ladder, {
    left: local,
    right: remote,
    title: `${local} (this stack) and ${remote}`,
  }).svg;
}

/** The end that sent more data in what we hold: its graph is the telling one. */
function mainSender(segments: readonly SegmentRecord[], local: string, remote: string): string {
  let fromLocal = 0;
  let fromRemote = 0;
  for (const s of segments) {
    if (s.source === local) fromLocal += s.dataBytes;
    else fromRemote += s.dataBytes;
  }
  return fromRemote > fromLocal ? remote : local;
}

function renderTrace(): void {
  const only = byId<HTMLInputElement>("trace-only-selected").checked;
  const filter = byId<HTMLInputElement>("trace-filter").value;
  const source = only ? state.connectionLines : state.lines;
  const shown = source.filter((l) => filter === "" || l.text.includes(filter));
  const pre = byId("trace");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = shown
    .slice(-400)
    .map((l) => l.text)
    .join("\n");
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

// --- Live updates -----------------------------------------------------------------------

let source: EventSource | undefined;
let paintQueued = false;

function paintSoon(): void {
  if (paintQueued) return;
  paintQueued = true;
  requestAnimationFrame(() => {
    paintQueued = false;
    render();
  });
}

function follow(): void {
  source?.close();
  const query = state.selected === undefined ? "" : `?conn=${encodeURIComponent(state.selected)}`;
  source = new EventSource(`/events${query}`);
  source.onopen = () => {
    byId("live").textContent = "live";
    byId("live").className = "live on";
  };
  source.onerror = () => {
    byId("live").textContent = "reconnecting";
    byId("live").className = "live";
  };
  source.onmessage = (event) => {
    apply(JSON.parse(event.data) as Update);
    paintSoon();
  };
}

function select(key: string): void {
  if (key === state.selected) return;
  picturesDrawnAt = Number.NEGATIVE_INFINITY;
  state.selected = key;
  state.segments = [];
  state.samples = [];
  state.ladder = [];
  state.connectionLines = [];
  const url = new URL(location.href);
  url.searchParams.set("conn", key);
  history.replaceState(null, "", url);
  follow();
}

const initial = JSON.parse(byId("initial-state").textContent ?? "null") as Update | null;
if (initial !== null) {
  apply(initial);
  render();
}
byId("trace-only-selected").addEventListener("change", renderTrace);
byId("trace-filter").addEventListener("input", renderTrace);
follow();
