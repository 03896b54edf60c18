/**
 * Named counters: every packet the stack drops is counted under a reason, and every
 * protocol event worth watching has a counter. Names follow the SNMP MIBs where one
 * exists (RFC 4293 for IP and ICMP, RFC 4022 for TCP, RFC 4113 for UDP), so that a
 * reader can look a counter up: `ipInHdrErrors`, `udpNoPorts`, `tcpRetransSegs`, ...
 * Reasons with no MIB name are spelled in the same style (`tcpInBadOptions`).
 */
import type { Trace } from "./trace.ts";

export class Stats {
  private readonly counters = new Map<string, number>();

  constructor(private readonly trace?: Trace) {}

  /** Adds `n` to a counter. */
  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  /** Counts a dropped packet under `reason` and tells the trace why. */
  drop(reason: string, detail?: string): void {
    this.count(reason);
    if (this.trace?.enabled) this.trace.drop(reason, detail);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** All counters, sorted by name, for `/stats` and the SIGUSR1 dump. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...this.counters.keys()].sort()) out[name] = this.counters.get(name)!;
    return out;
  }
}
