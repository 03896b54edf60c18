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
 *                            [--cpu-prof DIR] [--offload] [--busy-poll MICROS] [--gc]
 * With --cpu-prof the stack runs under `bun --cpu-prof`; summarise the file with
 * `bun bench/profile_summary.ts DIR/*.cpuprofile`. With --gc the stack host runs with
 * JSC's GC log on (`gc_log.ts`): each bulk figure then also gives the megabytes allocated
 * and the milliseconds of collection per 100 MB moved, and `profile_gc.ts` prints the
 * heap at exit.
 */
import { GC_LOG_ENV, GcLog } from "./gc_log.ts";
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
const busyPoll = option("--busy-poll", "0");
const gc = process.argv.includes("--gc");
/** The device options reach `Tun.open` through its environment defaults. */
const deviceEnv = [
  "env",
  `TSTCP_TUN_OFFLOAD=${offload ? 1 : 0}`,
  `TSTCP_TUN_BUSY_POLL_US=${busyPoll}`,
  ...(gc ? [GC_LOG_ENV] : []),
];
/** The stack host's collections, totalled from its output (with --gc). */
const gcLog = new GcLog();

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
    const churn: number[] = [];
    const gcMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = pid === undefined ? 0 : cpuSeconds(pid);
      gcLog.take();
      const seconds = await timed(ns, scripts[kind]!);
      if (pid !== undefined) cpu.push(cpuSeconds(pid) - before);
      rates.push(bytes / 1e6 / seconds);
      await Bun.sleep(100); // the log lines of the run's last collection
      const collected = gcLog.take();
      churn.push((collected.allocatedBytes / bytes) * 100);
      gcMs.push((collected.cycleMs * 100e6) / bytes);
    }
    const list = rates.map((r) => r.toFixed(0)).join(" ");
    const cpuNote =
      cpu.length > 0
        ? `, stack CPU median ${median(cpu).toFixed(2)} s, min ${Math.min(...cpu).toFixed(2)} s`
        : "";
    const gcNote =
      gc && label === "ours"
        ? `; per 100 MB: allocated ${median(churn).toFixed(1)} MB (${churn.map((c) => c.toFixed(1)).join(" ")}), GC ${median(gcMs).toFixed(1)} ms (${gcMs.map((g) => g.toFixed(1)).join(" ")})`
        : "";
    console.log(
      `${label} ${kind}: median ${median(rates).toFixed(0)} MB/s (${list})${cpuNote}${gcNote}`,
    );
  }
}

/**
 * Flood ping, ours and the bare echo alternately (the machine is shared: pairing runs in
 * time makes their ratio steadier than either rate), each for a fixed count.
 */
async function floods(ns: Namespace, ours: number, bare: number): Promise<void> {
  const count = 50_000;
  const script = (address: string) => `ping -q -f -c ${count} -w 30 ${address} > /dev/null`;
  const rates: Record<"ours" | "bare", number[]> = { ours: [], bare: [] };
  const cpu: number[] = [];
  const bareCpu: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = cpuSeconds(ours);
    rates.ours.push(count / (await timed(ns, script(ADDRESS))));
    cpu.push((cpuSeconds(ours) - before) / count);
    const bareBefore = cpuSeconds(bare);
    rates.bare.push(count / (await timed(ns, script("10.9.0.2"))));
    bareCpu.push((cpuSeconds(bare) - bareBefore) / count);
    ratios.push(rates.ours[i]! / rates.bare[i]!);
  }
  const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(" ");
  console.log(
    `ours ping -f: median ${median(rates.ours).toFixed(0)} replies/s (${list(rates.ours)}), stack CPU ${(median(cpu) * 1e6).toFixed(1)} µs/reply (min ${(Math.min(...cpu) * 1e6).toFixed(1)})`,
  );
  console.log(
    `bare ping -f: median ${median(rates.bare).toFixed(0)} replies/s (${list(rates.bare)}), CPU ${(median(bareCpu) * 1e6).toFixed(1)} µs/reply (min ${(Math.min(...bareCpu) * 1e6).toFixed(1)})`,
  );
  console.log(
    `ours/bare: median ${median(ratios).toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(" ")})`,
  );
}

/** Packets the TUN carried each way (a super-segment counts once): reads and writes per MB. */
async function linkCounters(ns: Namespace): Promise<void> {
  const result = await ns.exec(["ip", "-s", "-j", "link", "show", "tunp0"], { timeoutMs: 5000 });
  if (result.exitCode !== 0) throw new Error(`tunp0 is gone: did the stack exit? ${result.stderr}`);
  const [link] = JSON.parse(result.stdout) as {
    stats64: Record<"rx" | "tx", { bytes: number; packets: number }>;
  }[];
  if (link === undefined) return;
  const { rx, tx } = link.stats64;
  console.log(
    `tunp0: kernel→stack ${tx.packets} packets (${(tx.bytes / tx.packets).toFixed(0)} B avg), stack→kernel ${rx.packets} packets (${(rx.bytes / rx.packets).toFixed(0)} B avg)`,
  );
}

async function ours(): Promise<void> {
  const ns = await Namespace.create(`tstcp-prof-${process.pid}`);
  const prof = profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const host = ns.spawn(
    "stack",
    [
      ...deviceEnv,
      process.execPath,
      ...prof,
      ...(gc ? ["--preload", "./bench/profile_gc.ts"] : []),
      "bench/stack_host.ts",
      "--tun",
      "tunp0",
    ],
    { onLine: gcLog.onLine },
  );
  try {
    await host.waitForLine(/^tstcp: .* is up/, 10_000);
    await Bun.sleep(300);
    await bulk(ns, ADDRESS, "ours", host.pid);
    if (only.includes("upload") || only.includes("download")) await linkCounters(ns);
    if (only.includes("ping")) {
      // The bare echo answers for any address routed into its TUN; its own subnet keeps
      // it apart from the stack's 10.0.0.0/24.
      const bare = ns.spawn("bare", [
        ...deviceEnv,
        process.execPath,
        "bench/bare_echo.ts",
        "--tun",
        "barep0",
        "--host",
        "10.9.0.1/24",
      ]);
      await bare.waitForLine(/bare echo up/, 10_000);
      try {
        await floods(ns, host.pid, bare.pid);
      } finally {
        await bare.stop();
      }
    }
  } finally {
    // SIGINT lets `bun --cpu-prof` write its profile on the way out.
    host.child.kill("SIGINT");
    await Promise.race([host.child.exited, Bun.sleep(5000)]);
    if (gc)
      console.log(
        host
          .lastLines(400)
          .split(" | ")
          .find((line) => line.startsWith("gc:")),
      );
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
