/**
 * IPv6 TCP against IPv4 TCP, on the same run: one dual-stack host (`bun run start`) in a
 * namespace of its own, and the kernel's clients beside it moving bulk data to and from
 * it over 10.0.0.2 and over fd00::2 in turn (the order swaps every round, so a drift in
 * the machine's load hits both families alike). One TCP serves both: the difference is
 * the network layer under the connection (40 octets of header instead of 20, an MSS 20
 * octets smaller, the IPv6 pseudo-header; with --offload TSO6 as TSO4).
 *
 *   sudo bun bench/ipv6.ts [--rounds 5] [--bytes 100000000] [--offload]
 *
 * Transfers: chargen download (port 19) and discard upload (port 9) with the native
 * client of bench/bulk.ts; MB/s per run, medians with min–max. The result goes to
 * bench/results/<date>-ipv6.md.
 */
import { writeFileSync } from "node:fs";
import { hostname, loadavg } from "node:os";
import { bulkClient, megabytesPerSecond, transfer } from "./bulk.ts";
import { Namespace } from "./netns.ts";
import { median } from "./report.ts";
import type { Side } from "./side.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TUN = "tstb6";
const FAMILIES = [
  { name: "IPv4", address: "10.0.0.2" },
  { name: "IPv6", address: "fd00::2" },
] as const;
const KINDS = ["chargen", "upload"] as const;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const rounds = option("--rounds", 5);
const bytes = option("--bytes", 100_000_000);
const offload = process.argv.includes("--offload");

async function main(): Promise<void> {
  const ns = await Namespace.create(`tstcp-b6-${process.pid}`);
  try {
    const args = [
      "--tun",
      TUN,
      offload ? "--offload" : "--no-offload",
      "--services",
      "discard,chargen",
    ];
    const server = ns.spawn("stack", [process.execPath, `${ROOT}examples/host.ts`, ...args]);
    await server.waitForLine(/is up/, 20_000);
    bulkClient();
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? FAMILIES : [...FAMILIES].reverse();
      for (const kind of KINDS) {
        for (const family of order) {
          const side: Side = { label: "ours", clients: ns, address: family.address, server };
          const moved = await transfer(side, kind, bytes, 60);
          const key = `${kind} ${family.name}`;
          samples.set(key, [...(samples.get(key) ?? []), megabytesPerSecond(moved)]);
          console.log(`round ${round + 1} ${key}: ${megabytesPerSecond(moved).toFixed(1)} MB/s`);
        }
      }
    }
    await server.stop();
    writeReport(samples);
  } finally {
    await ns.destroy();
  }
}

function writeReport(samples: Map<string, number[]>): void {
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# IPv6 TCP against IPv4 TCP, same run (${date}, ${hostname()})`,
    "",
    `\`sudo bun bench/ipv6.ts --rounds ${rounds} --bytes ${bytes}${offload ? " --offload" : ""}\`: one dual-stack host,`,
    `the kernel's native bulk client moving ${bytes / 1e6} MB per run over 10.0.0.2 and fd00::2 in`,
    `turn (order swapped every round), ${offload ? "TUN offloads required (TSO and checksum offload for both families: TSO4 and TSO6)" : "plain TUN (no offloads for either family)"}.`,
    `Load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(", ")}.`,
    "",
    "| transfer | IPv4 MB/s, median (min–max) | IPv6 MB/s, median (min–max) | IPv6 / IPv4 |",
    "| --- | --- | --- | --- |",
  ];
  for (const kind of KINDS) {
    const v4 = samples.get(`${kind} IPv4`) ?? [];
    const v6 = samples.get(`${kind} IPv6`) ?? [];
    const cell = (xs: number[]) =>
      `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
    const name = kind === "chargen" ? "download, chargen (19)" : "upload, discard (9)";
    lines.push(`| ${name} | ${cell(v4)} | ${cell(v6)} | ${(median(v6) / median(v4)).toFixed(2)} |`);
  }
  lines.push("", "Every run, in MB/s:", "");
  for (const [key, xs] of samples)
    lines.push(`- ${key}: ${xs.map((x) => x.toFixed(1)).join(", ")}`);
  const suffix = offload ? "ipv6-offload" : "ipv6";
  const path = `${ROOT}bench/results/${date}-${suffix}.md`;
  writeFileSync(path, `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
  console.log(`written to ${path}`);
}

await main();
