/**
 * Totals JSC's own garbage-collection log, for `profile_tun.ts --gc`: with the JSC option
 * `logGC` (set through Bun's environment, `BUN_JSC_logGC=1`) the engine prints, for each
 * collection, why it started and how long the cycle took:
 *
 *   Requesting GC because bytes allocated this cycle: 8396901 exceed bytes allowed: 8388608 ...
 *   [GC<0x...>: START M 9104kb => EdenCollection, ... p=0.845700ms (max 0.845700), cycle 0.800175ms END]
 *
 * Summed over a run, these give the bytes the program allocated (the heap churn) and the
 * time spent collecting. The byte total moves in steps of one collection's budget (about
 * 8 MB while the heap is small): allocation since the last collection is not seen yet.
 */

/** The environment that turns the log on in a Bun child process. */
export const GC_LOG_ENV = "BUN_JSC_logGC=1";

export interface GcTotals {
  collections: number;
  /** Sum of the "cycle" times, in milliseconds. */
  cycleMs: number;
  /** Sum of the bytes allocated that triggered collections. */
  allocatedBytes: number;
}

export class GcLog {
  private totals: GcTotals = { collections: 0, cycleMs: 0, allocatedBytes: 0 };

  /** Feed every output line of the process (`BackgroundOptions.onLine`). */
  readonly onLine = (line: string): void => {
    const requested = /bytes allocated this cycle: (\d+)/.exec(line);
    if (requested !== null) this.totals.allocatedBytes += Number(requested[1]);
    const cycle = /cycle ([\d.]+)ms END\]/.exec(line);
    if (cycle !== null) {
      this.totals.collections++;
      this.totals.cycleMs += Number(cycle[1]);
    }
  };

  /** The totals since the previous call (or the start). */
  take(): GcTotals {
    const taken = this.totals;
    this.totals = { collections: 0, cycleMs: 0, allocatedBytes: 0 };
    return taken;
  }
}
