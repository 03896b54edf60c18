/**
 * The gateway benchmark: our gateway against slirp4netns and pasta, in the topology the
 * gateway tests use (tests/helpers/gateway_topology.ts: inner namespace → gateway
 * namespace → veth → server namespace), with the same Bun clients and servers
 * (bench/gateway_peer.ts) for each:
 *
 *   download  the client in the inner namespace reads N bytes from the server
 *   upload    the client writes N bytes to the server, which answers after the FIN
 *   conn/s    32 clients open, read the close of, and reopen connections for 5 s
 *
 * Each figure is the median of 3 runs (range shown); runs alternate between the
 * gateways, whose topologies are all up at once. Run as root:
 *   bun bench/gateway.ts [--smoke]
 * Results go to bench/results/gateway-<date>.md.
 */
import { writeFileSync } from "node:fs";
import { hostname, loadavg } from "node:os";
import {
  type GatewayKind,
  type GatewayTopology,
  SERVER,
  withGatewayTopology,
} from "../tests/helpers/gateway_topology.ts";

const smoke = process.argv.includes("--smoke");
const DOWNLOAD_BYTES = smoke ? 4e6 : 300e6;
const UPLOAD_BYTES = smoke ? 4e6 : 100e6;
const CONNECT_SECONDS = smoke ? 1 : 5;
const RUNS = smoke ? 1 : 3;
const PEER = "bench/gateway_peer.ts";

interface Figures {
  download: number[];
  upload: number[];
  connections: number[];
  failedConnections: number;
}

async function client(t: GatewayTopology, args: string[]): Promise<Record<string, number>> {
  const r = await t.inner.runBun(PEER, args, { timeoutMs: 180_000 });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** One run of each figure through `t`, added to `figures`. */
async function measureOnce(
  kind: GatewayKind,
  t: GatewayTopology,
  figures: Figures,
  run: number,
): Promise<void> {
  const down = await client(t, ["download", SERVER, String(DOWNLOAD_BYTES)]);
  figures.download.push(down.bytes! / down.seconds! / 1e6);
  const up = await client(t, ["upload", SERVER, String(UPLOAD_BYTES)]);
  figures.upload.push(up.bytes! / up.seconds! / 1e6);
  const conns = await client(t, ["connect", SERVER, String(CONNECT_SECONDS), "32"]);
  figures.connections.push(conns.connections! / conns.seconds!);
  figures.failedConnections += conns.failed!;
  console.error(
    `${kind} run ${run + 1}: down ${figures.download.at(-1)!.toFixed(0)} MB/s, up ${figures.upload.at(-1)!.toFixed(0)} MB/s, ${figures.connections.at(-1)!.toFixed(0)} conn/s`,
  );
}

/**
 * Brings up every gateway's topology at once (each its own namespaces and server), then
 * alternates the runs between them, so a busy moment on a shared machine hits all.
 */
async function measureAll(
  kinds: GatewayKind[],
  up: [GatewayKind, GatewayTopology][] = [],
): Promise<Map<GatewayKind, Figures>> {
  if (up.length < kinds.length) {
    const kind = kinds[up.length]!;
    return withGatewayTopology(kind, [], async (t) => {
      const server = t.server.spawnBun(PEER, ["server", SERVER]);
      await server.stdout.getReader().read(); // "ready"
      return measureAll(kinds, [...up, [kind, t]]);
    });
  }
  const results = new Map<GatewayKind, Figures>();
  for (const [kind] of up)
    results.set(kind, { download: [], upload: [], connections: [], failedConnections: 0 });
  for (let run = 0; run < RUNS; run++) {
    for (const [kind, t] of up) await measureOnce(kind, t, results.get(kind)!, run);
  }
  return results;
}

function median(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  const range = sorted.length > 1 ? ` (${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)})` : "";
  return `${mid.toFixed(0)}${range}`;
}

const only = process.argv.indexOf("--only");
const wanted =
  only > 0
    ? [process.argv[only + 1] as GatewayKind]
    : (["tstcp", "slirp4netns", "pasta"] as GatewayKind[]);
const kinds = wanted.filter((kind) => {
  const present = kind === "tstcp" || Bun.which(kind) !== null;
  if (!present) console.error(`${kind} is not installed: skipped`);
  return present;
});
const loadBefore = loadavg()[0]!.toFixed(2);
const results = await measureAll(kinds);
const loadAfter = loadavg()[0]!.toFixed(2);
const lines = [
  `# Gateway benchmark, ${new Date().toISOString().slice(0, 16)} on ${hostname()}`,
  "",
  `Topology: tests/helpers/gateway_topology.ts (inner ns → gateway → veth → server ns); clients and servers: bench/gateway_peer.ts (Bun sockets). ` +
    `Download ${DOWNLOAD_BYTES / 1e6} MB, upload ${UPLOAD_BYTES / 1e6} MB, connections for ${CONNECT_SECONDS} s with 32 clients; median of ${RUNS} (range), runs alternating between the gateways. ` +
    `Load average ${loadBefore} before, ${loadAfter} after. MTU: ours 65520, slirp4netns 65520, pasta its default (65520).`,
  "",
  "| Gateway | Download MB/s | Upload MB/s | Connections/s | Failed connects |",
  "|---|---|---|---|---|",
  ...[...results].map(
    ([kind, f]) =>
      `| ${kind} | ${median(f.download)} | ${median(f.upload)} | ${median(f.connections)} | ${f.failedConnections} |`,
  ),
  "",
];
const text = lines.join("\n");
console.log(text);
// A partial run (--smoke, --only) is not a result.
if (!smoke && only < 0)
  writeFileSync(`bench/results/gateway-${new Date().toISOString().slice(0, 10)}.md`, text);
