/**
 * Profiling harness for the packet path: bulk TCP both ways and a ping flood against the
 * stack on a TUN, each repeated and reported as the median, optionally under Bun's CPU
 * profiler. `docs/performance.md` was written from its output.
 *
 *   namespace P (created here, deleted in `finally`):
 *     kernel nc ──▶ 10.0.0.2 over tunp0 ──▶ bench/stack_host.ts (our stack)
 *   namespaces R ── veth ── K (with --kernel): the same nc against the kernel's TCP
 *
 * Usage (root):
 *   bun bench/profile_tun.ts [--runs 3] [--mb 100] [--only upload,download,ping,kernel]
 *                            [--cpu-prof DIR] [--offload]
 * With --cpu-prof the stack runs under `bun --cpu-prof`; summarise the file with
 * `bun bench/profile_summary.ts DIR/*.cpuprofile`.
 */
import { createTopology, destroyAll, Namespace } from "./netns.ts";
import { cpuSeconds } from "./proc.ts";

const ADDRESS = "10.0.0.2";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const runs = Number(option("--runs", "3"));
const megabytes = Number(option("--mb", "100"));
const only = option("--only", "upload,download,ping").split(",");
const profileDir = option("--cpu-prof", "");
const offload = process.argv.includes("--offload");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Seconds of one shell pipeline in the namespace (bounded by `timeout`). */
async function timed(ns: Namespace, script: string): Promise<number> {
  const result = await ns.shell(`timeout -k 2 60 sh -c '${script}'`, 70_000);
  if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode} ${result.stderr}`);
  return result.elapsedMs / 1000;
}

async function bulk(ns: Namespace, address: string, label: string, pid?: number): Promise<void> {
  const bytes = megabytes * 1_000_000;
  const scripts: Record<string, string> = {
    upload: `head -c ${bytes} /dev/zero | nc -N ${address} 9`,
    download: `nc -d ${address} 19 | head -c ${bytes} | wc -c`,
  };
  for (const kind of ["upload", "download"]) {
    if (!only.includes(kind)) continue;
    const rates: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = pid === undefined ? 0 : cpuSeconds(pid);
      const seconds = await timed(ns, scripts[kind]!);
      if (pid !== undefined) cpu.push(cpuSeconds(pid) - before);
      rates.push(bytes / 1e6 / seconds);
    }
    const list = rates.map((r) => r.toFixed(0)).join(" ");
    const cpuNote = cpu.length > 0 ? `, stack CPU ${median(cpu).toFixed(2)} s` : "";
    console.log(`${label} ${kind}: median ${median(rates).toFixed(0)} MB/s (${list})${cpuNote}`);
  }
}

/** Flood ping for a fixed count; the rate is packets per second of wall time. */
async function flood(ns: Namespace, address: string, label: string): Promise<void> {
  const count = 100_000;
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const seconds = await timed(ns, `ping -q -f -c ${count} -w 30 ${address} > /dev/null`);
    rates.push(count / seconds);
  }
  console.log(`${label} ping -f: median ${median(rates).toFixed(0)} replies/s`);
}

async function ours(): Promise<void> {
  const ns = await Namespace.create(`tstcp-prof-${process.pid}`);
  const prof = profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const env = offload ? ["env", "TSTCP_TUN_OFFLOAD=1"] : [];
  const host = ns.spawn("stack", [
    ...env,
    process.execPath,
    ...prof,
    "bench/stack_host.ts",
    "--tun",
    "tunp0",
  ]);
  try {
    await host.waitForLine(/./, 10_000);
    await Bun.sleep(300);
    await bulk(ns, ADDRESS, "ours", host.pid);
    if (only.includes("ping")) {
      await flood(ns, ADDRESS, "ours");
      // The bare echo answers for any address routed into its TUN; its own subnet keeps
      // it apart from the stack's 10.0.0.0/24.
      const bare = ns.spawn("bare", [
        process.execPath,
        "bench/bare_echo.ts",
        "--tun",
        "barep0",
        "--host",
        "10.9.0.1/24",
      ]);
      await bare.waitForLine(/bare echo up/, 10_000);
      await flood(ns, "10.9.0.2", "bare");
      await bare.stop();
    }
  } finally {
    // SIGINT lets `bun --cpu-prof` write its profile on the way out.
    host.child.kill("SIGINT");
    await Promise.race([host.child.exited, Bun.sleep(5000)]);
    await host.stop();
    await ns.destroy();
  }
}

async function kernel(): Promise<void> {
  const topology = await createTopology("tstcp-profk");
  const server = topology.kernelServer.spawn("kernel", [
    process.execPath,
    "bench/kernel_services.ts",
  ]);
  await server.waitForLine(/kernel services up/, 10_000);
  await bulk(topology.kernelClients, "10.1.0.2", "kernel (Bun sockets on veth)", server.pid);
  await server.stop();
}

try {
  await ours();
  if (only.includes("kernel")) await kernel();
} finally {
  await destroyAll();
}
