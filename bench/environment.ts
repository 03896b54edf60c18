/**
 * What the figures were measured on: machine, kernel, Bun, tools, MTU and offloads.
 */
import { cpus, hostname, totalmem } from "node:os";
import type { Topology } from "./netns.ts";
import { MTU } from "./netns.ts";
import { run } from "./proc.ts";

export async function describeEnvironment(topology: Topology | undefined): Promise<string[][]> {
  const kernel = (await run(["uname", "-r"], { timeoutMs: 5000 })).stdout.trim();
  const commit = (
    await run(
      ["git", "-C", new URL("..", import.meta.url).pathname, "rev-parse", "--short", "HEAD"],
      {
        timeoutMs: 5000,
      },
    )
  ).stdout.trim();
  const curl = (await run(["curl", "--version"], { timeoutMs: 5000 })).stdout.split("\n")[0] ?? "";
  const wrk = (await run(["wrk", "-v"], { timeoutMs: 5000 })).stdout.split("\n")[0] ?? "";
  return [
    ["Date (UTC)", new Date().toISOString().replace("T", " ").slice(0, 19)],
    ["Host", hostname()],
    ["CPU", `${cpus()[0]?.model ?? "unknown"} × ${cpus().length}`],
    ["Memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ["Linux kernel", kernel],
    ["Bun", Bun.version],
    ["Commit", commit || "unknown"],
    ["MTU", `${MTU} (TUN of the stack, veth pair of the kernel reference)`],
    [
      "Offloads, our TUN",
      "none: plain TUN, IFF_NO_PI (no vnet header, so no TSO/GSO/checksum offload)",
    ],
    ["Offloads, kernel veth", await vethOffloads(topology)],
    [
      "Tools",
      `${curl.split(" ").slice(0, 2).join(" ")}; ${wrk.split(" ").slice(0, 2).join(" ")}; iputils ping; OpenBSD nc`,
    ],
  ];
}

async function vethOffloads(topology: Topology | undefined): Promise<string> {
  if (Bun.which("ethtool") === null || topology === undefined) {
    return "ethtool not installed: veth defaults (Linux sets checksum offload, TSO and GSO on veth; GRO as the kernel defaults)";
  }
  const result = await topology.kernelClients.exec(["ethtool", "-k", "veth0"], { timeoutMs: 5000 });
  const wanted = [
    "tx-checksumming",
    "tcp-segmentation-offload",
    "generic-segmentation-offload",
    "generic-receive-offload",
  ];
  return result.stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => wanted.some((name) => line.startsWith(`${name}:`)))
    .join(", ");
}

export function renderEnvironment(rows: string[][]): string {
  return ["| | |", "|---|---|", ...rows.map(([key, value]) => `| ${key} | ${value} |`)].join("\n");
}
