/**
 * Runs of one measurement on several servers, alternated: run 1 on ours, on the kernel
 * (and on the bare echo), then run 2 on each, and so on. On a shared machine the load
 * changes from second to second; alternating makes a busy moment hit every side alike
 * instead of one side's whole series.
 */
import { NotAvailable } from "./proc.ts";
import { median, na, reasonOf, type Value } from "./report.ts";
import type { Side } from "./side.ts";

/** Gets a side ready to measure (restarting a crashed stack), or throws why it cannot be. */
export type SideSource = () => Promise<Side>;

export interface Sides {
  ours: SideSource;
  kernel: SideSource;
}

export interface Alternation<P, K extends string> {
  /** Printed on stderr as the measurement starts, so a five-minute run shows progress. */
  label: string;
  keys: readonly K[];
  runs: number;
  /** Once per side before its first run (a probe, a port check); throwing makes it n/a. */
  prepare?: (side: Side) => Promise<P>;
  /** One run; its figures by key. */
  measure: (side: Side, prepared: P) => Promise<Record<K, number>>;
}

/**
 * The median of each key per side over the runs that succeeded; n/a with the first
 * reason when none did. A side whose server is missing (NotAvailable on the first run
 * or in `prepare`) is not asked again.
 */
export async function alternate<N extends string, P, K extends string>(
  sources: Record<N, SideSource>,
  how: Alternation<P, K>,
): Promise<Record<N, Record<K, Value>>> {
  const names = Object.keys(sources) as N[];
  console.error(
    `${how.label} (${names.join(", ")}; ${how.runs} run${how.runs > 1 ? "s" : ""} each)...`,
  );
  const samples = new Map<N, Record<K, number>[]>(names.map((name) => [name, []]));
  const prepared = new Map<N, P>();
  const failures = new Map<N, string>();
  const givenUp = new Set<N>();
  for (let run = 0; run < how.runs; run++) {
    for (const name of names) {
      if (givenUp.has(name)) continue;
      try {
        const side = await sources[name]();
        if (!prepared.has(name)) {
          prepared.set(
            name,
            how.prepare === undefined ? (undefined as P) : await how.prepare(side),
          );
        }
        samples.get(name)!.push(await how.measure(side, prepared.get(name)!));
      } catch (error) {
        if (!failures.has(name)) failures.set(name, reasonOf(error));
        const first = samples.get(name)!.length === 0;
        if (!prepared.has(name) || (first && error instanceof NotAvailable)) givenUp.add(name);
      }
    }
  }
  const out = {} as Record<N, Record<K, Value>>;
  for (const name of names) {
    const runs = samples.get(name)!;
    const figures = {} as Record<K, Value>;
    for (const key of how.keys) {
      const values = runs.map((r) => r[key]).filter((v) => Number.isFinite(v));
      figures[key] =
        values.length > 0
          ? { value: median(values), samples: values }
          : na(failures.get(name) ?? "no sample");
    }
    out[name] = figures;
  }
  return out;
}
