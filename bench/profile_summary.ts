/**
 * Summarises a `.cpuprofile` (Chrome DevTools format, as `bun --cpu-prof` writes it):
 * self time per function and per file, as a share of all samples, idle excluded in a
 * second column. Used for the tables in `docs/performance.md`.
 *
 * Usage: bun bench/profile_summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

function shortUrl(url: string): string {
  const at = url.indexOf("/work/main/");
  return at >= 0 ? url.slice(at + "/work/main/".length) : url.replace(/^.*\//, "");
}

function summarise(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const micros = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    total += micros;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") idle += micros;
    const file = shortUrl(frame.url) || frame.functionName || "(native)";
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + micros);
    selfByFile.set(file, (selfByFile.get(file) ?? 0) + micros);
  }
  const busy = total - idle;
  const table = (entries: Map<string, number>, limit: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, micros]) => {
        const all = ((100 * micros) / total).toFixed(1).padStart(5);
        const busyShare = IDLE.has(name.split(" ")[0]!) ? "" : ((100 * micros) / busy).toFixed(1);
        return `${all}%  ${busyShare.padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`;
      })
      .join("\n");
  return [
    `total ${(total / 1e6).toFixed(2)} s sampled, idle ${((100 * idle) / total).toFixed(1)}%`,
    "  all%  busy%    self  function",
    table(selfByFunction, top),
    "",
    "  all%  busy%    self  file",
    table(selfByFile, 15),
  ].join("\n");
}

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: bun bench/profile_summary.ts FILE.cpuprofile [--top 25]");
  process.exit(2);
}
const topAt = process.argv.indexOf("--top");
const top = topAt >= 0 ? Number(process.argv[topAt + 1]) : 25;
console.log(summarise(JSON.parse(readFileSync(file, "utf8")) as Profile, top));
