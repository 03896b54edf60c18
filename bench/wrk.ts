/**
 * Request/response with wrk: keep-alive requests per second with latency percentiles,
 * and new connections per second (one request each, `Connection: close`).
 *
 *   wrk -t1 -c50 -d5s --latency http://ADDRESS/bytes/64
 *   wrk -t1 -c50 -d5s -H 'Connection: close' http://ADDRESS/bytes/64
 */
import { NotAvailable } from "./proc.ts";
import { checkAlive, type Side } from "./side.ts";

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx responses, summed. */
  errors: number;
}

export async function wrk(
  side: Side,
  options: { seconds: number; connections: number; close: boolean },
): Promise<WrkResult> {
  checkAlive(side);
  const argv = ["wrk", "-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--latency"];
  if (options.close) argv.push("-H", "Connection: close");
  argv.push(`http://${side.address}/bytes/64`);
  const result = await side.clients.exec(argv, { timeoutMs: options.seconds * 1000 + 15_000 });
  const parsed = parseWrk(result.stdout);
  if (parsed === undefined) {
    throw new NotAvailable(`wrk: ${(result.stderr || result.stdout).trim().split("\n").pop()}`);
  }
  if (parsed.requestsPerSecond === 0) throw new NotAvailable("wrk: no complete response");
  checkAlive(side);
  return parsed;
}

/** wrk's summary as numbers; undefined when it printed no "Requests/sec" line. */
export function parseWrk(output: string): WrkResult | undefined {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (rate === null) return undefined;
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: latencyMs(output, "50%"),
    p99Ms: latencyMs(output, "99%"),
    errors: errorCount(output),
  };
}

/** A line of wrk's "Latency Distribution", e.g. "     99%    2.88ms", in ms. */
function latencyMs(output: string, label: string): number {
  const match = new RegExp(`^\\s+${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(output);
  if (match === null) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

function errorCount(output: string): number {
  let errors = 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  if (socket !== null) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  if (non2xx !== null) errors += Number(non2xx[1]);
  return errors;
}
