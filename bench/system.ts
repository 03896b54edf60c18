/**
 * The whole-system benchmarks as rows of the results table: each figure measured on our
 * stack and on the kernel reference in the same run, their runs alternated.
 */

import { alternate, type SideSource, type Sides } from "./alternate.ts";
import { type BulkKind, megabytesPerSecond, type Transfer, transfer } from "./bulk.ts";
import { clientCounter, manyConnections } from "./connections.ts";
import { pingFlood, pingRtt } from "./ping.ts";
import { NotAvailable } from "./proc.ts";
import { atLeast, below, formatNumber, na, numberOf, type Row, type Value } from "./report.ts";
import { portProblem, type Side } from "./side.ts";
import { wrk } from "./wrk.ts";

/** How much to measure: the full run (about five minutes) or the smoke test's taste. */
export interface Plan {
  runs: number;
  pingCount: number;
  floodSeconds: number;
  /** Flood runs are short and the noisiest figure: more of them. */
  floodRuns: number;
  bulkTargetSeconds: number;
  bulkMinBytes: number;
  bulkMaxBytes: number;
  bulkTimeoutSeconds: number;
  probeBytes: number;
  checkBytes: number;
  wrkSeconds: number;
  connections: number;
  connectionSeconds: number;
}

export const FULL_PLAN: Plan = {
  runs: 3,
  pingCount: 200,
  floodSeconds: 2,
  floodRuns: 5,
  bulkTargetSeconds: 2.5,
  bulkMinBytes: 1e6,
  bulkMaxBytes: 1e9,
  bulkTimeoutSeconds: 15,
  probeBytes: 8e6,
  checkBytes: 4 * 2 ** 20,
  wrkSeconds: 5,
  connections: 10_000,
  connectionSeconds: 30,
};

export const SMOKE_PLAN: Plan = {
  runs: 1,
  pingCount: 20,
  floodSeconds: 1,
  floodRuns: 1,
  bulkTargetSeconds: 0.3,
  bulkMinBytes: 1e5,
  bulkMaxBytes: 2e6,
  bulkTimeoutSeconds: 5,
  probeBytes: 1e6,
  checkBytes: 2 ** 18,
  wrkSeconds: 1,
  connections: 50,
  connectionSeconds: 10,
};

export async function pingRows(sides: Sides, plan: Plan, bareSource: SideSource): Promise<Row[]> {
  const section = "ICMP echo";
  const rtt = await alternate(sides, {
    label: "ping RTT",
    keys: ["p50Ms", "p99Ms"] as const,
    runs: plan.runs,
    measure: (side) => pingRtt(side, plan.pingCount),
  });
  const flood = await alternate(
    { bare: bareSource, ...sides },
    {
      label: "ping flood",
      keys: ["repliesPerSecond", "lossPercent"] as const,
      runs: Math.max(plan.runs, plan.floodRuns),
      measure: (side) => pingFlood(side, 1_000_000, plan.floodSeconds),
    },
  );
  const bare = numberOf(flood.bare.repliesPerSecond);
  const floodTarget =
    bare === undefined
      ? undefined
      : atLeast(0.9 * bare, `≥ 90% of bare echo (${formatNumber(0.9 * bare)}/s)`);
  const paced = `ping -i 0.01 -c ${plan.pingCount}`;
  return [
    { section, name: "RTT p50", unit: "ms", ...pick(rtt, "p50Ms"), note: paced },
    { section, name: "RTT p99", unit: "ms", ...pick(rtt, "p99Ms"), note: paced },
    {
      section,
      name: "Flood rate (ping -f)",
      unit: "replies/s",
      ...pick(flood, "repliesPerSecond"),
      ...(floodTarget === undefined ? {} : { target: floodTarget }),
      gvisor: "116,000/s",
      note: `ping -f -w ${plan.floodSeconds}`,
    },
    { section, name: "Flood loss", unit: "%", ...pick(flood, "lossPercent") },
    {
      section,
      name: "Bare Bun echo on the TUN (floor)",
      unit: "replies/s",
      ours: flood.bare.repliesPerSecond,
      gvisor: "bare echo measured earlier: 109,000/s",
      note: "bench/bare_echo.ts: device/tun.ts only, on a second TUN beside the stack",
    },
  ];
}

function pick<K extends string>(
  both: { ours: Record<K, Value>; kernel: Record<K, Value> },
  key: K,
): { ours: Value; kernel: Value } {
  return { ours: both.ours[key], kernel: both.kernel[key] };
}

/** Server and machine CPU time per byte moved, summed over the bulk transfers. */
class CpuTally {
  bytes = 0;
  serverSeconds = 0;
  machineSeconds = 0;
  add(t: Transfer): void {
    this.bytes += t.bytes;
    this.serverSeconds += t.serverCpuSeconds;
    this.machineSeconds += t.machineCpuSeconds;
  }
  perGigabyte(seconds: number): Value {
    if (this.bytes === 0) return na("no bulk transfer completed");
    const value = seconds / (this.bytes / 1e9);
    return { value, samples: [value] };
  }
}

const PORTS: Record<BulkKind, number> = { chargen: 19, http: 80, upload: 9 };

/** Checks the port, then probes the rate with a small transfer and sizes the runs by it. */
async function bulkVolume(side: Side, kind: BulkKind, plan: Plan): Promise<number> {
  const problem = await portProblem(side, PORTS[kind]);
  if (problem !== undefined) throw new NotAvailable(problem);
  const probe = await transfer(side, kind, plan.probeBytes, 10);
  const wanted = Math.round((probe.bytes / probe.seconds) * plan.bulkTargetSeconds);
  return Math.min(plan.bulkMaxBytes, Math.max(plan.bulkMinBytes, wanted));
}

export async function bulkRows(sides: Sides, plan: Plan): Promise<Row[]> {
  const section = "TCP bulk transfer";
  const tallies = { ours: new CpuTally(), kernel: new CpuTally() };
  const rows: Row[] = [];
  const kinds: [BulkKind, string, string][] = [
    ["chargen", "Download from chargen", "89 MB/s"],
    ["http", "Download GET /bytes/N", "89 MB/s"],
    ["upload", "Upload to discard", "401 MB/s"],
  ];
  for (const [kind, name, gvisor] of kinds) {
    const volumes: Record<string, number> = {};
    const retransmits: Record<string, number> = {};
    const both = await alternate(sides, {
      label: `bulk ${kind}`,
      keys: ["mbps"] as const,
      runs: plan.runs,
      prepare: async (side) => {
        const volume = await bulkVolume(side, kind, plan);
        volumes[side.label] = volume;
        return volume;
      },
      measure: async (side, volume) => {
        const before = await clientCounter(side, "TcpRetransSegs");
        const moved = await transfer(side, kind, volume, plan.bulkTimeoutSeconds);
        const resent = (await clientCounter(side, "TcpRetransSegs")) - before;
        retransmits[side.label] = (retransmits[side.label] ?? 0) + resent;
        (side.label === "ours" ? tallies.ours : tallies.kernel).add(moved);
        return { mbps: megabytesPerSecond(moved) };
      },
    });
    // The clients' kernel resending: for an upload, segments the server lost or dropped.
    const note = Object.entries(volumes)
      .map(
        ([label, bytes]) =>
          `${label} ${formatNumber(bytes / 1e6)} MB/run, ${formatNumber(retransmits[label] ?? Number.NaN)} segments retransmitted by the client`,
      )
      .join("; ");
    rows.push({
      section,
      name,
      unit: "MB/s",
      // The client must never be the bottleneck: it is a native program (bulk.ts), and the
      // kernel column shows the rate it reaches against the kernel in the same run.
      ...pick(both, "mbps"),
      target: atLeast(125, "≥ 125 MB/s"),
      gvisor,
      note: `bench/clients/bulk_client.c; ${note}`,
    });
  }
  rows.push(
    {
      section: "CPU",
      name: "Server process CPU per GB moved",
      unit: "s/GB",
      ours: tallies.ours.perGigabyte(tallies.ours.serverSeconds),
      kernel: tallies.kernel.perGigabyte(tallies.kernel.serverSeconds),
      note: "utime+stime of the stack / of kernel_services.ts (the kernel's softirq work is mostly not in it), over all bulk runs",
    },
    {
      section: "CPU",
      name: "Machine CPU per GB moved (all cores, clients too)",
      unit: "s/GB",
      ours: tallies.ours.perGigabyte(tallies.ours.machineSeconds),
      kernel: tallies.kernel.perGigabyte(tallies.kernel.machineSeconds),
      note: "/proc/stat busy time during the bulk runs",
    },
  );
  return rows;
}

export async function requestRows(sides: Sides, plan: Plan): Promise<Row[]> {
  const section = "HTTP request/response (wrk -t1 -c50, GET /bytes/64)";
  const keys = ["requestsPerSecond", "p50Ms", "p99Ms", "errors"] as const;
  const wrkRuns = (close: boolean) =>
    alternate(sides, {
      label: close ? "wrk, new connections" : "wrk, keep-alive",
      keys,
      runs: plan.runs,
      measure: (side) => wrk(side, { seconds: plan.wrkSeconds, connections: 50, close }),
    });
  const keepAlive = await wrkRuns(false);
  const fresh = await wrkRuns(true);
  const errors = (both: typeof keepAlive) =>
    `errors (median): ours ${show(both.ours.errors)}, kernel ${show(both.kernel.errors)}`;
  return [
    {
      section,
      name: "Keep-alive requests",
      unit: "req/s",
      ...pick(keepAlive, "requestsPerSecond"),
      target: atLeast(25_000, "≥ 25,000/s"),
      gvisor: "55,000/s",
      note: `-d${plan.wrkSeconds}s; ${errors(keepAlive)}`,
    },
    { section, name: "Keep-alive latency p50", unit: "ms", ...pick(keepAlive, "p50Ms") },
    { section, name: "Keep-alive latency p99", unit: "ms", ...pick(keepAlive, "p99Ms") },
    {
      section,
      name: "New connections (one request each)",
      unit: "conn/s",
      ...pick(fresh, "requestsPerSecond"),
      target: atLeast(6000, "≥ 6,000/s"),
      gvisor: "12,900/s",
      note: `-H 'Connection: close'; ${errors(fresh)}`,
    },
  ];
}

function show(value: Value): string {
  const number = numberOf(value);
  return number === undefined ? "n/a" : formatNumber(number);
}

export async function connectionRows(
  sides: Sides,
  plan: Plan,
  memory: { ours: (side: Side) => number; kernel: (side: Side) => number },
): Promise<Row[]> {
  const section = `Idle connections (${formatNumber(plan.connections)} to echo, kernel-socket clients)`;
  const keys = [
    "connected",
    "kilobytesPerConnection",
    "kilobytesAfterEcho",
    "echoed",
    "lost",
  ] as const;
  const closedNotes: Record<string, string> = {};
  const both = await alternate(sides, {
    label: `${formatNumber(plan.connections)} idle connections`,
    keys,
    runs: 1,
    measure: async (side) => {
      const read = side.label === "ours" ? memory.ours : memory.kernel;
      const attempt = (count: number) =>
        manyConnections(side, {
          count,
          seconds: plan.connectionSeconds,
          memoryBytes: () => read(side),
        });
      let result = await attempt(plan.connections);
      let scaled = "";
      // Far fewer than asked: measure again at what the server took, so the memory per
      // connection and the echoes are about connections that exist.
      if (result.connected < 0.9 * plan.connections && result.connected >= 10) {
        scaled = `, scaled down from ${plan.connections} after ${result.connected} connected`;
        result = await attempt(Math.floor(result.connected * 0.9));
      }
      closedNotes[side.label] =
        `${side.label}: ${result.connected} of ${result.requested} connected in ${result.connectSeconds.toFixed(1)} s, ${result.closedWhileIdle} closed by the server while idle, ${result.synRetransmits} SYN retransmits by the clients${scaled}`;
      return {
        connected: result.connected,
        kilobytesPerConnection: result.bytesPerConnection / 1000,
        kilobytesAfterEcho: result.bytesPerConnectionAfterEcho / 1000,
        echoed: result.echoed,
        lost: result.lost,
      };
    },
  });
  for (const [figures, key] of [both.ours, both.kernel].flatMap((f) =>
    (["kilobytesPerConnection", "kilobytesAfterEcho"] as const).map((k) => [f, k] as const),
  )) {
    const kilobytes = numberOf(figures[key]);
    if (kilobytes !== undefined && kilobytes <= 0) {
      figures[key] = na(
        kilobytes === 0
          ? "memory did not grow measurably"
          : `memory fell by ${formatNumber(-kilobytes * 1000)} B/conn: a GC outweighed the growth`,
      );
    }
  }
  return [
    {
      section,
      name: "Established",
      unit: "conn",
      ...pick(both, "connected"),
      target: atLeast(plan.connections, formatNumber(plan.connections)),
      note: `one run (too long to repeat within the budget); ${Object.values(closedNotes).join("; ")}`,
    },
    {
      section,
      name: "Memory per idle connection",
      unit: "KB",
      ...pick(both, "kilobytesPerConnection"),
      target: below(8, "< 8 KB"),
      gvisor: "20.8 KB/conn",
      note: "ours: stack VmRSS growth / connections; kernel: kernel_services.ts VmRSS growth + half the machine's Slab growth (it holds client and server sockets)",
    },
    {
      section,
      name: "Memory per connection after each echoed one byte",
      unit: "KB",
      ...pick(both, "kilobytesAfterEcho"),
      target: below(4, "≤ 4 KB"),
      note: "the same RSS growth, read again once every connection has carried a byte each way (buffers allocated by use show here)",
    },
    { section, name: "Echoed one byte after idling", unit: "conn", ...pick(both, "echoed") },
    {
      section,
      name: "Lost (no echo)",
      unit: "conn",
      ...pick(both, "lost"),
      target: { text: "0 (all echo)", met: (value) => value === 0 },
    },
  ];
}
