/**
 * What the live inspector costs: a 1 GiB download from the host (`curl /bytes/N`) on a
 * TUN in a namespace, with the host started without `--inspect` (no recorder: the stack's
 * trace hooks are off), and with `--inspect` and the page open in headless Chromium in the
 * same namespace, following the transfer live. Runs alternate (off, on, off, on, ...) so
 * a busy moment on a shared machine hits both; medians with the range.
 *
 *   sudo bun bench/inspector.ts [--runs 3] [--bytes 1073741824]
 *
 * Writes bench/results/<date>-inspector.md. Needs root, /dev/net/tun, curl and chromium.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnHost } from "../tests/examples/host_process.ts";
import { type Netns, withNetns } from "../tests/helpers/netns.ts";
import { cpuSeconds } from "./proc.ts";

const STACK = "10.0.0.2";
const PORT = 8091;
const HOST_ARGS = ["--tun", "tbinsp0", "--address", `${STACK}/24`, "--host", "10.0.0.1"];

/** No --inspect; --inspect with no page open (the recorder alone); the page open. */
type Mode = "off" | "recorder" | "page";
const MODES: readonly Mode[] = ["off", "recorder", "page"];
const LABELS: Record<Mode, string> = {
  off: "no inspector",
  recorder: "--inspect, no page open",
  page: "--inspect, page open",
};

interface Run {
  mode: Mode;
  mbPerSecond: number;
  /** CPU seconds the stack's process spent per GB moved (less sensitive to a busy machine). */
  cpuPerGb: number;
  /** Samples the page had drawn when the transfer ended (on runs only). */
  pagePoints?: number;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** MB/s of one download, and the stack process's CPU seconds per GB over it. */
async function download(
  ns: Netns,
  bytes: number,
  pid: number,
): Promise<{ mbPerSecond: number; cpuPerGb: number }> {
  const cpuBefore = cpuSeconds(pid);
  const result = await ns.exec(
    [
      "curl",
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{size_download} %{time_total}",
      `http://${STACK}/bytes/${bytes}`,
    ],
    { timeoutMs: 300_000 },
  );
  const [size, seconds] = result.stdout.trim().split(" ").map(Number);
  if (size !== bytes) throw new Error(`downloaded ${size} of ${bytes} bytes: ${result.stderr}`);
  return {
    mbPerSecond: bytes / 1e6 / seconds!,
    cpuPerGb: (cpuSeconds(pid) - cpuBefore) / (bytes / 1e9),
  };
}

async function oneRun(mode: Mode, bytes: number, dir: string): Promise<Run> {
  return await withNetns("tstcp-bench-insp", async (ns) => {
    const inspect = mode === "off" ? [] : ["--inspect", `127.0.0.1:${PORT}`];
    const host = spawnHost(ns, [...HOST_ARGS, ...inspect]);
    try {
      await host.waitFor(/is up/);
      if (mode !== "page") return { mode, ...(await download(ns, bytes, host.child.pid)) };
      await host.waitFor(/inspector: http/);
      const { chromium } = await import("playwright-core");
      const wrapper = join(dir, "chromium-in-netns");
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.name} /usr/bin/chromium "$@"\n`, {
        mode: 0o755,
      });
      const profile = mkdtempSync(join(dir, "profile-"));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: wrapper,
        headless: true,
        viewport: { width: 1600, height: 2000 },
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        await page.goto(`http://127.0.0.1:${PORT}/`);
        // As a person would: open the page, then start the transfer (the browser's own
        // start-up work is not the inspector's cost).
        await Bun.sleep(3000);
        const moved = await download(ns, bytes, host.child.pid);
        const points = Number(
          await page.evaluate(
            `document.querySelector('#plot-cwnd path.series')?.getAttribute("data-points") ?? 0`,
          ),
        );
        return { mode, ...moved, pagePoints: points };
      } finally {
        await browser.close();
      }
    } finally {
      await host.stop();
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const runs = option("--runs", 3);
  const bytes = option("--bytes", 1 << 30);
  const dir = mkdtempSync(join(tmpdir(), "tstcp-bench-inspector-"));
  const loadBefore = loadavg()[0]!;
  const results: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of MODES) {
        const run = await oneRun(mode, bytes, dir);
        const drew = run.pagePoints === undefined ? "" : ` (page drew ${run.pagePoints} samples)`;
        console.log(
          `${LABELS[mode]}: ${run.mbPerSecond.toFixed(1)} MB/s, ${run.cpuPerGb.toFixed(2)} CPU s/GB${drew}`,
        );
        results.push(run);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rates = (mode: Mode) => results.filter((r) => r.mode === mode).map((r) => r.mbPerSecond);
  const cpu = (mode: Mode) => median(results.filter((r) => r.mode === mode).map((r) => r.cpuPerGb));
  const off = median(rates("off"));
  const range = (v: number[]) => `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`;
  const rows = MODES.map((mode) => {
    const m = median(rates(mode));
    const cost = mode === "off" ? "" : `${((1 - m / off) * 100).toFixed(1)}%`;
    const cpuCost = mode === "off" ? "" : ` (${((cpu(mode) / cpu("off") - 1) * 100).toFixed(1)}%)`;
    return `| ${LABELS[mode]} | ${m.toFixed(1)} | ${range(rates(mode))} | ${rates(mode).length} | ${cost} | ${cpu(mode).toFixed(2)}${cpuCost} |`;
  });
  const report = [
    `# Inspector overhead, ${new Date().toISOString().slice(0, 16)}Z on ${hostname()}`,
    "",
    `\`bun bench/inspector.ts --runs ${runs} --bytes ${bytes}\`: \`curl /bytes/${bytes}\` from the host on a`,
    "TUN in a namespace (TUN offloads as the host defaults to), without `--inspect`, with it",
    "and no page open, and with the page open in headless Chromium in the same namespace",
    "following the transfer live (the browser shares the machine's cores). Runs alternate;",
    "median of each, range, and the cost against the median without the inspector.",
    "",
    "| | MB/s (median) | range | n | throughput cost | stack CPU s per GB (median) |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Load average (1 min) at start ${loadBefore.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)} (2 cores, shared).`,
    `Samples drawn by the page at the end of each open run: ${results
      .filter((r) => r.mode === "page")
      .map((r) => r.pagePoints)
      .join(", ")}.`,
    "",
  ].join("\n");
  console.log(report);
  const out = join(import.meta.dir, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-inspector.md`), report);
}

await main();
