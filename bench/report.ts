/**
 * Figures and the results table: every figure is the median of its runs, shown beside
 * the kernel's figure from the same run, their ratio, the target, and gVisor
 * netstack's figure on this machine kind for scale.
 */
/** A measured figure (median of `samples`) or the reason there is none. */
export type Value = { value: number; samples: number[] } | { na: string };

export interface Target {
  text: string;
  met: (value: number) => boolean;
}

export interface Row {
  section: string;
  name: string;
  unit: string;
  ours: Value;
  /** Undefined where the kernel has no counterpart (micro benchmarks, the bare echo). */
  kernel?: Value;
  target?: Target;
  gvisor?: string;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function na(reason: string): Value {
  return { na: reason };
}

export function numberOf(value: Value | undefined): number | undefined {
  return value !== undefined && "value" in value ? value.value : undefined;
}

export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0]!.slice(0, 160);
  return String(error).slice(0, 160);
}

/** A number with sensible precision: 123,456 / 12.3 / 0.0123. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) || magnitude >= 1000)
    return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function formatValue(value: Value | undefined, unit: string): string {
  if (value === undefined) return "—";
  if ("na" in value) {
    const reason = value.na.length > 110 ? `${value.na.slice(0, 110)}…` : value.na;
    return `n/a: ${escapeCell(reason)}`;
  }
  const spread =
    value.samples.length > 1
      ? ` (${formatNumber(Math.min(...value.samples))}–${formatNumber(Math.max(...value.samples))}, n=${value.samples.length})`
      : "";
  return `${formatNumber(value.value)} ${unit}${spread}`;
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function ratio(row: Row): string {
  const ours = numberOf(row.ours);
  const kernel = numberOf(row.kernel);
  if (ours === undefined || kernel === undefined || kernel === 0) return "—";
  return `${(ours / kernel).toFixed(2)}×`;
}

function verdict(row: Row): string {
  const ours = numberOf(row.ours);
  if (row.target === undefined || ours === undefined) return "";
  return row.target.met(ours) ? "met" : "**not met**";
}

/** The markdown table, grouped by section in the order the rows came. */
export function renderTable(rows: Row[]): string {
  const lines = [
    "| Figure | Ours (median, range) | Kernel | Ours/kernel | Target | | gVisor netstack | Notes |",
    "|---|---|---|---|---|---|---|---|",
  ];
  let section = "";
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      lines.push(`| **${section}** | | | | | | | |`);
    }
    lines.push(
      `| ${row.name} | ${formatValue(row.ours, row.unit)} | ${formatValue(row.kernel, row.unit)} | ${ratio(row)} | ${row.target?.text ?? ""} | ${verdict(row)} | ${row.gvisor ?? ""} | ${escapeCell(row.note ?? "")} |`,
    );
  }
  return lines.join("\n");
}

export function atLeast(threshold: number, text: string): Target {
  return { text, met: (value) => value >= threshold };
}

export function below(threshold: number, text: string): Target {
  return { text, met: (value) => value < threshold };
}
