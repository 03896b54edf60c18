/**
 * `bun run bench`: the micro benchmarks, then the stack against the Linux kernel in one
 * run of about five minutes, printed as a table and written to
 * `bench/results/<YYYY-MM-DD>-<hostname>.md`.
 *
 *   1. micro benchmarks (bench/micro.ts)
 *   2. namespaces A (our stack on a TUN), R ↔ K (the kernel reference on a veth pair)
 *   3. our stack (`bun examples/host.ts`) in A; the kernel services in K; the bare Bun
 *      echo on a second TUN in A (the floor of the JS path)
 *   4. ping, bulk TCP (with CPU), wrk, 10,000 idle connections: runs alternate ours/kernel
 *
 * Needs root, /dev/net/tun and the kernel tools (ping, curl, nc, wrk). Every load loop is
 * bounded in count and time; the namespaces are removed in `finally` and on Ctrl-C.
 *
 * Usage: bun bench/run.ts [--smoke] [--runs N] [--connections N] [--out FILE] [--no-micro]
 *                         [--offload | --no-offload]   (the TUN offloads are on by default, as
 *                                   in `bun run start`; --no-offload measures the per-packet
 *                                   path: the stack's plain TUN, and the kernel's veth pair
 *                                   with TSO/GSO/GRO off (ethtool -K), written to -plain.md)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, hostname } from "node:os";
import type { Sides } from "./alternate.ts";
import { slabBytes } from "./connections.ts";
import { describeEnvironment, renderEnvironment } from "./environment.ts";
import { runMicro } from "./micro.ts";
import {
  createTopology,
  destroyAll,
  KERNEL_SERVER,
  MTU,
  type Namespace,
  STACK_ADDRESS,
  STACK_HOST_SIDE,
  type Topology,
} from "./netns.ts";
import { type Background, NotAvailable, rssBytes } from "./proc.ts";
import { type Row, reasonOf, renderTable } from "./report.ts";
import { portProblem, type Side } from "./side.ts";
import {
  bulkRows,
  connectionRows,
  FULL_PLAN,
  type Plan,
  pingRows,
  requestRows,
  SMOKE_PLAN,
} from "./system.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BUN = process.execPath;
const STACK_TUN = "tstack0";
const BARE_TUN = "tbare0";
const BARE_HOST_SIDE = "10.3.0.1";
const BARE_ADDRESS = "10.3.0.2";
const MAX_STACK_STARTS = 3;

interface Options {
  smoke: boolean;
  /** TSTCP_TUN_OFFLOAD for the stack: forced on or off, or undefined to inherit. */
  offload: boolean | undefined;
  micro: boolean;
  plan: Plan;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes("--smoke");
  const plan = { ...(smoke ? SMOKE_PLAN : FULL_PLAN) };
  const value = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const runs = value("--runs");
  if (runs !== undefined) plan.runs = Math.max(1, Number(runs));
  const connections = value("--connections");
  if (connections !== undefined) plan.connections = Math.max(1, Number(connections));
  const offload = argv.includes("--offload")
    ? true
    : argv.includes("--no-offload")
      ? false
      : undefined;
  const date = new Date().toISOString().slice(0, 10);
  const defaultOut = smoke
    ? `/tmp/tstcp-bench-smoke-${process.pid}.md`
    : `${ROOT}bench/results/${date}-${hostname()}${offload === false ? "-plain" : ""}.md`;
  const out = value("--out") ?? defaultOut;
  return { smoke, offload, micro: !argv.includes("--no-micro"), plan, out };
}

/** Every process we start, stopped in `cleanup`. */
const started: Background[] = [];

/** Set once cleanup begins: nothing new may start after that (Ctrl-C races the run). */
let stopping = false;

function spawnIn(
  ns: Namespace,
  label: string,
  argv: string[],
  env?: Record<string, string | undefined>,
): Background {
  if (stopping) throw new NotAvailable("interrupted");
  const process = ns.spawn(label, argv, env === undefined ? {} : { env });
  started.push(process);
  return process;
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    for (const process of started) await process.stop(1500).catch(() => {});
    await destroyAll();
    for (const process of started) await process.stop(500).catch(() => {});
  })();
  return cleaning;
}

/** Waits until `ns` has interface `name`, or the process exits, or the deadline passes. */
async function waitForInterface(ns: Namespace, name: string, owner: Background): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline && owner.running) {
    const shown = await ns.exec(["ip", "link", "show", name], { timeoutMs: 5000 });
    if (shown.exitCode === 0) return;
    await Bun.sleep(100);
  }
  throw new NotAvailable(
    `${owner.label} did not bring up ${name} (${owner.running ? "still waiting" : `exit ${owner.exitCode}`}: ${owner.lastLines(3)})`,
  );
}

/**
 * The bare echo, on its own TUN and subnet in A beside the stack (10.3.0.2 behind
 * 10.3.0.1), so its flood runs can alternate with the stack's under the same load.
 */
function bareSource(topology: Topology): () => Promise<Side> {
  let ready: Promise<Side> | undefined;
  return () => {
    ready ??= (async () => {
      const ns = topology.stackSide;
      const argv = [
        BUN,
        `${ROOT}bench/bare_echo.ts`,
        "--tun",
        BARE_TUN,
        "--host",
        `${BARE_HOST_SIDE}/24`,
      ];
      const bare = spawnIn(ns, "bare echo", [...argv, "--mtu", String(MTU)]);
      await bare.waitForLine(/bare echo up/, 20_000);
      return { label: "bare", clients: ns, address: BARE_ADDRESS, server: bare };
    })();
    return ready;
  };
}

/**
 * Starts our stack in A, and starts it again if it has crashed (at most a few times).
 * `bun run start` (examples/host.ts) is preferred; while it serves no TCP service yet,
 * `bench/stack_host.ts` (its startHost + the services' serveOnHost) stands in, noted.
 */
function stackSource(
  topology: Topology,
  offload: boolean | undefined,
): { source: () => Promise<Side>; notes: string[]; tunDetails: string[] } {
  let current: Side | undefined;
  const tunDetails: string[] = [];
  // --offload is the host's own flag; the environment variable is what Tun.open reads
  // when the flag is absent, so it also turns offload off for --no-offload.
  const env =
    offload === undefined ? undefined : { ...process.env, TSTCP_TUN_OFFLOAD: offload ? "1" : "0" };
  const offloadFlag = offload === true ? ["--offload"] : [];
  let starts = 0;
  let program = `${ROOT}examples/host.ts`;
  let lastFailure = "";
  const notes: string[] = [];
  const launch = async (): Promise<Side> => {
    starts++;
    const args = [
      "--tun",
      STACK_TUN,
      "--address",
      `${STACK_ADDRESS}/24`,
      "--host",
      STACK_HOST_SIDE,
    ];
    const argv = [BUN, program, ...args, "--mtu", String(MTU), ...offloadFlag];
    const server = spawnIn(topology.stackSide, "stack", argv, env);
    try {
      await waitForInterface(topology.stackSide, STACK_TUN, server);
      tunDetails.push(await tunMode(topology.stackSide, STACK_TUN));
      await Bun.sleep(300);
      if (!server.running) throw new NotAvailable(`stack exited at start: ${server.lastLines(3)}`);
    } catch (error) {
      lastFailure = reasonOf(error);
      await server.stop();
      throw error;
    }
    return { label: "ours", clients: topology.stackSide, address: STACK_ADDRESS, server };
  };
  const source = async (): Promise<Side> => {
    if (current?.server.running) return current;
    if (current !== undefined) {
      notes.push(`stack exited (code ${current.server.exitCode}): ${current.server.lastLines(3)}`);
    }
    if (!existsSync(program)) throw new NotAvailable("examples/host.ts does not exist yet");
    if (starts >= MAX_STACK_STARTS) throw new NotAvailable(`stack not running: ${lastFailure}`);
    if (starts > 0) notes.push(`stack restarted (start ${starts + 1})`);
    let side = await launch();
    if (program.endsWith("examples/host.ts") && (await servesNoTcp(side))) {
      await side.server.stop();
      program = `${ROOT}bench/stack_host.ts`;
      notes.push(
        "examples/host.ts (bun run start) answered on no TCP port yet, so the stack ran as bench/stack_host.ts: the same startHost plus the services' serveOnHost",
      );
      starts--;
      side = await launch();
    }
    current = side;
    return current;
  };
  return { source, notes, tunDetails };
}

/** "tun type tun pi off vnet_hdr on ..." as `ip -details link` shows the stack's TUN. */
async function tunMode(ns: Namespace, name: string): Promise<string> {
  const shown = await ns.exec(["ip", "-details", "link", "show", name], { timeoutMs: 5000 });
  const match = /tun type \S+ pi (on|off) vnet_hdr (on|off)/.exec(shown.stdout);
  if (match === null) return "unknown (ip -details link shows no tun line)";
  return match[2] === "on"
    ? "IFF_VNET_HDR on (the default: checksum and TSO4 offload via virtio-net headers)"
    : `none: plain TUN, IFF_NO_PI (pi ${match[1]}, vnet_hdr off)`;
}

/**
 * For --no-offload: the kernel reference without TSO, GSO and GRO on its veth pair, so
 * both sides pay per packet (the per-packet ceiling). Returns the note for the report.
 */
async function kernelOffloadsOff(topology: Topology): Promise<string> {
  const features = ["tso", "off", "gso", "off", "gro", "off"];
  const results = await Promise.all([
    topology.kernelClients.exec(["ethtool", "-K", "veth0", ...features], { timeoutMs: 5000 }),
    topology.kernelServer.exec(["ethtool", "-K", "veth1", ...features], { timeoutMs: 5000 }),
  ]);
  const failed = results.find((result) => result.exitCode !== 0);
  return failed === undefined
    ? "kernel veth pair: TSO, GSO and GRO off (ethtool -K), the per-packet ceiling"
    : `kernel veth pair: offloads left on, ethtool -K failed (${failed.stderr.trim() || `exit ${failed.exitCode}`})`;
}

async function servesNoTcp(side: Side): Promise<boolean> {
  for (const port of [7, 80]) {
    if ((await portProblem(side, port)) === undefined) return false;
  }
  return true;
}

function kernelSource(topology: Topology): () => Promise<Side> {
  let ready: Promise<Side> | undefined;
  return () => {
    ready ??= (async () => {
      const command = `ulimit -n $(ulimit -Hn) && exec ${BUN} ${ROOT}bench/kernel_services.ts --address ${KERNEL_SERVER}`;
      const server = spawnIn(topology.kernelServer, "kernel services", ["sh", "-c", command]);
      await server.waitForLine(/kernel services up/, 20_000);
      return { label: "kernel", clients: topology.kernelClients, address: KERNEL_SERVER, server };
    })();
    return ready;
  };
}

async function measureSystem(
  topology: Topology,
  options: Options,
  notes: string[],
  tunDetails: string[],
): Promise<Row[]> {
  const plan = options.plan;
  const stack = stackSource(topology, options.offload);
  const sides: Sides = { ours: stack.source, kernel: kernelSource(topology) };
  const rows: Row[] = [];
  rows.push(...(await pingRows(sides, plan, bareSource(topology))));
  rows.push(...(await bulkRows(sides, plan)));
  console.error("payload check...");
  for (const side of [sides.ours, sides.kernel]) {
    try {
      const s = await side();
      const { checkPayloads } = await import("./bulk.ts");
      notes.push(`payload check, ${s.label}: ${await checkPayloads(s, plan.checkBytes)}`);
    } catch (error) {
      notes.push(`payload check: ${reasonOf(error)}`);
    }
  }
  rows.push(...(await requestRows(sides, plan)));
  let slabBefore: number | undefined;
  rows.push(
    ...(await connectionRows(sides, plan, {
      ours: (side) => rssBytes(side.server.pid),
      // Read once before and once after: the second reading adds half the slab growth.
      kernel: (side) => {
        const slab = slabBytes();
        const rss = rssBytes(side.server.pid);
        if (slabBefore === undefined) {
          slabBefore = slab;
          return rss;
        }
        return rss + (slab - slabBefore) / 2;
      },
    })),
  );
  notes.push(...stack.notes);
  tunDetails.push(...new Set(stack.tunDetails));
  return rows;
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function summarize(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    if (row.target === undefined) continue;
    const value = "value" in row.ours ? row.ours.value : undefined;
    const verdict =
      value === undefined ? "not measured" : row.target.met(value) ? "met" : "NOT met";
    lines.push(`- ${row.section} / ${row.name}: target ${row.target.text}: ${verdict}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const begun = performance.now();
  const loadAtStart = loadAverage();
  const onSignal = () => {
    console.error("\ninterrupted: removing the namespaces");
    void cleanup().then(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const rows: Row[] = [];
  const notes: string[] = [];
  const tunDetails: string[] = [];
  if (options.micro) {
    console.error("micro benchmarks...");
    rows.push(...(await runMicro({ timeMs: options.smoke ? 20 : 250 })));
  }
  let environment: string[][] | undefined;
  try {
    console.error("namespaces...");
    const topology = await createTopology(options.smoke ? "tstcp-smoke" : "tstcp-bench");
    if (options.offload === false) notes.push(await kernelOffloadsOff(topology));
    environment = await describeEnvironment(topology);
    rows.push(...(await measureSystem(topology, options, notes, tunDetails)));
  } catch (error) {
    notes.push(`system benchmarks stopped: ${reasonOf(error)}`);
  } finally {
    await cleanup();
  }
  environment ??= await describeEnvironment(undefined);
  const tunRow = environment.find(([key]) => key === "Offloads, our TUN");
  if (tunRow !== undefined && tunDetails.length > 0) tunRow[1] = tunDetails.join("; ");
  environment.push([
    "Load average (1, 5, 15 min)",
    `${loadAtStart} at the start, ${loadAverage()} at the end, on ${cpus().length} CPUs (other work on the machine shows here)`,
  ]);
  const seconds = ((performance.now() - begun) / 1000).toFixed(0);
  const report = [
    `# Benchmarks: the stack against the Linux kernel${options.smoke ? " (smoke run: tiny volumes, figures meaningless)" : ""}`,
    "",
    renderEnvironment(environment),
    "",
    `Each figure is the median of ${options.plan.runs} run(s) unless noted (range and n in brackets). "Kernel" is the same services (bench/kernel_services.ts) on the kernel's TCP/IP over a veth pair, measured in the same run with the same tools. gVisor netstack figures are from earlier measurements on this machine kind, for scale. Whole run: ${seconds} s.`,
    "",
    renderTable(rows),
    "",
    "## Targets",
    "",
    ...summarize(rows),
    "",
    "## Notes",
    "",
    ...notes.map((note) => `- ${note}`),
    "",
  ].join("\n");
  console.log(report);
  mkdirSync(new URL(".", `file://${options.out}`).pathname, { recursive: true });
  writeFileSync(options.out, report);
  console.error(`written to ${options.out}`);
}

await main();
