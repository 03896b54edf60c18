/**
 * ICMP echo: round-trip time of paced pings, and the flood rate.
 *
 *   ping -n -i 0.01 -c 200   → per-packet times → p50, p99 (and loss)
 *   ping -n -f -c N -w T     → replies per second of the run, and loss
 */
import { NotAvailable } from "./proc.ts";
import { percentile } from "./report.ts";
import { checkAlive, type Side } from "./side.ts";

export async function pingRtt(
  side: Side,
  count: number,
): Promise<{ p50Ms: number; p99Ms: number; lossPercent: number }> {
  checkAlive(side);
  const argv = ["ping", "-n", "-i", "0.01", "-W", "1", "-c", String(count), side.address];
  const result = await side.clients.exec(argv, { timeoutMs: count * 10 + 10_000 });
  const times = replyTimes(result.stdout);
  if (times.length === 0) {
    throw new NotAvailable(`no echo reply from ${side.address} (${summary(result.stdout)})`);
  }
  return {
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    lossPercent: (100 * (count - times.length)) / count,
  };
}

/** The round-trip times of every reply line ("... time=0.045 ms"), in ms. */
export function replyTimes(output: string): number[] {
  return [...output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

export async function pingFlood(
  side: Side,
  count: number,
  seconds: number,
): Promise<{ repliesPerSecond: number; lossPercent: number }> {
  checkAlive(side);
  const argv = ["ping", "-n", "-q", "-f", "-c", String(count), "-w", String(seconds), side.address];
  const result = await side.clients.exec(argv, { timeoutMs: seconds * 1000 + 10_000 });
  const totals = parseFloodSummary(result.stdout);
  if (totals === undefined)
    throw new NotAvailable(`ping -f: ${summary(result.stdout + result.stderr)}`);
  if (totals.received === 0)
    throw new NotAvailable(`no echo reply from ${side.address} under flood`);
  return {
    repliesPerSecond: totals.received / (Math.max(totals.elapsedMs, 1) / 1000),
    lossPercent: (100 * (totals.transmitted - totals.received)) / Math.max(totals.transmitted, 1),
  };
}

/** "N packets transmitted, M received, ..., time Tms" from ping's summary. */
export function parseFloodSummary(
  output: string,
): { transmitted: number; received: number; elapsedMs: number } | undefined {
  const totals = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(output);
  if (totals === null) return undefined;
  return {
    transmitted: Number(totals[1]),
    received: Number(totals[2]),
    elapsedMs: Number(totals[3]),
  };
}

function summary(output: string): string {
  const line = output.split("\n").find((l) => l.includes("packets transmitted"));
  return (line ?? output.trim().split("\n").pop() ?? "no output").trim();
}
