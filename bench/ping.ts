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
  const times = [...result.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) {
    throw new NotAvailable(`no echo reply from ${side.address} (${summary(result.stdout)})`);
  }
  return {
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    lossPercent: (100 * (count - times.length)) / count,
  };
}

export async function pingFlood(
  side: Side,
  count: number,
  seconds: number,
): Promise<{ repliesPerSecond: number; lossPercent: number }> {
  checkAlive(side);
  const argv = ["ping", "-n", "-q", "-f", "-c", String(count), "-w", String(seconds), side.address];
  const result = await side.clients.exec(argv, { timeoutMs: seconds * 1000 + 10_000 });
  const totals = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(result.stdout);
  if (totals === null) throw new NotAvailable(`ping -f: ${summary(result.stdout + result.stderr)}`);
  const transmitted = Number(totals[1]);
  const received = Number(totals[2]);
  const elapsedMs = Number(totals[3]);
  if (received === 0) throw new NotAvailable(`no echo reply from ${side.address} under flood`);
  return {
    repliesPerSecond: received / (Math.max(elapsedMs, 1) / 1000),
    lossPercent: (100 * (transmitted - received)) / Math.max(transmitted, 1),
  };
}

function summary(output: string): string {
  const line = output.split("\n").find((l) => l.includes("packets transmitted"));
  return (line ?? output.trim().split("\n").pop() ?? "no output").trim();
}
