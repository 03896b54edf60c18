/**
 * Are Unix-domain sockets faster than network sockets? Measured on our API, in one run:
 *
 *   a1  Unix, our server    native client → DIR/echo.sock served by `bun run start --unix`
 *   a2  Unix, our API both  a socketpair, both ends through our API in this process
 *   b   TCP, our stack      native client → 10.0.0.2:7 over the TUN (the same host process)
 *   c   TCP, kernel         native client → native server on 127.0.0.1 (loopback)
 *   d   Unix, kernel        native client → native server on a Unix-domain path
 *
 * Each side: round trips per second with one byte in flight (rtt) and echo throughput in
 * MB/s (bulk: the client writes while it reads everything back). The native client and
 * server are bench/clients/echo_client.c (cc -O2), so the client is never what limits.
 * Runs alternate between the sides, 3 of each; medians with the range. Everything runs
 * inside one network namespace created here and deleted at the end.
 *
 *   sudo bun bench/unix_compare.ts [--runs N] [--seconds S] [--bytes N]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, loadavg } from "node:os";
import { join } from "node:path";
import { createSocketApi } from "../sockets/api.ts";
import { VirtualClock } from "../stack/clock.ts";
import { Random } from "../stack/random.ts";
import { Stack } from "../stack/stack.ts";
import { destroyAll, Namespace } from "./netns.ts";
import { type Background, NotAvailable } from "./proc.ts";

const SOURCE = new URL("./clients/echo_client.c", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

interface Options {
  runs: number;
  seconds: number;
  bytes: number;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string, fallback: number) => {
    const at = argv.indexOf(name);
    return at >= 0 ? Number(argv[at + 1]) : fallback;
  };
  return {
    runs: value("--runs", 3),
    seconds: value("--seconds", 2),
    bytes: value("--bytes", 256e6),
  };
}

type Side = "a1" | "a2" | "b" | "c" | "d";
const LABELS: Record<Side, string> = {
  a1: "a1 Unix: native client → our API's echo",
  a2: "a2 Unix: socketpair, both ends our API",
  b: "b  TCP: native client → our stack on the TUN",
  c: "c  TCP: kernel loopback, native both ends",
  d: "d  Unix: kernel, native both ends",
};

function build(directory: string): string {
  const cc = Bun.which("cc") ?? Bun.which("gcc");
  if (cc === null) throw new NotAvailable("no C compiler (cc) for bench/clients/echo_client.c");
  const output = join(directory, "echo_client");
  const built = Bun.spawnSync([cc, "-O2", "-pthread", "-o", output, SOURCE]);
  if (built.exitCode !== 0) throw new NotAvailable(`cc echo_client.c: ${built.stderr.toString()}`);
  return output;
}

/** One measurement with the native client in `ns`: [count, seconds]. */
async function native(ns: Namespace, argv: string[]): Promise<[number, number]> {
  const result = await ns.exec(argv, { timeoutMs: 120_000 });
  const [count, seconds] = result.stdout.trim().split(/\s+/).map(Number);
  if (result.exitCode !== 0 || !(seconds! > 0)) {
    throw new Error(`${argv.join(" ")}: exit ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return [count!, seconds!];
}

/** a2: a socketpair through our API in this process, echoing on one end. */
async function ourPair(kind: "rtt" | "bulk", options: Options): Promise<[number, number]> {
  // Unix sockets need no network: a stack that is never driven, on an idle clock.
  const stack = new Stack({
    address: 0x0a000002,
    prefixLength: 24,
    mtu: 1500,
    random: new Random(1),
  });
  const api = createSocketApi(stack, new VirtualClock(), () => {});
  const [client, server] = api.socketpair("unix", "stream");
  const echo = (async () => {
    const buffer = new Uint8Array(256 * 1024);
    for (let n = await api.recvInto(server, buffer); n > 0; n = await api.recvInto(server, buffer))
      await api.send(server, buffer.subarray(0, n));
    api.close(server);
  })();
  const start = performance.now();
  let count = 0;
  if (kind === "rtt") {
    const byte = new Uint8Array(1);
    const end = start + options.seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 64; i++, count++) {
        await api.send(client, byte);
        await api.recvInto(client, byte);
      }
    }
  } else {
    const chunk = new Uint8Array(256 * 1024);
    const reading = (async () => {
      const into = new Uint8Array(256 * 1024);
      for (let n = await api.recvInto(client, into); n > 0; n = await api.recvInto(client, into))
        count += n;
    })();
    for (let sent = 0; sent < options.bytes; sent += chunk.length) await api.send(client, chunk);
    api.shutdown(client, "write");
    await reading;
  }
  const seconds = (performance.now() - start) / 1000;
  api.shutdown(client, "write");
  await echo;
  api.close(client);
  return [count, seconds];
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = mkdtempSync("/tmp/tstcp-unix-bench-");
  const client = build(work);
  const ns = await Namespace.create(`tstcp-unixb-${process.pid}`);
  const processes: Background[] = [];
  const loadBefore = loadavg()[0]!.toFixed(2);
  try {
    const spawn = (label: string, argv: string[]) => {
      const started = ns.spawn(label, argv);
      processes.push(started);
      return started;
    };
    const host = spawn("host", [
      "bun",
      join(REPO, "examples/host.ts"),
      "--tun",
      "tunub0",
      "--services",
      "echo",
      "--unix",
      work,
    ]);
    await host.waitForLine(/echo on Unix-domain sockets/, 30_000);
    await spawn("native tcp", [client, "serve", "tcp", "127.0.0.1", "17007"]).waitForLine(
      /ready/,
      10_000,
    );
    const nativePath = join(work, "native.sock");
    await spawn("native unix", [client, "serve", "unix", nativePath]).waitForLine(/ready/, 10_000);
    const target: Record<Exclude<Side, "a2">, string[]> = {
      a1: ["unix", join(work, "echo.sock")],
      b: ["tcp", "10.0.0.2", "7"],
      c: ["tcp", "127.0.0.1", "17007"],
      d: ["unix", nativePath],
    };
    const results: Record<Side, { rtt: number[]; bulk: number[] }> = {
      a1: { rtt: [], bulk: [] },
      a2: { rtt: [], bulk: [] },
      b: { rtt: [], bulk: [] },
      c: { rtt: [], bulk: [] },
      d: { rtt: [], bulk: [] },
    };
    const sides = Object.keys(results) as Side[];
    for (let run = 0; run < options.runs; run++) {
      for (const side of sides) {
        const measure = (kind: "rtt" | "bulk") =>
          side === "a2"
            ? ourPair(kind, options)
            : native(ns, [
                client,
                kind,
                ...target[side],
                String(kind === "rtt" ? options.seconds : options.bytes),
              ]);
        const [trips, rttSeconds] = await measure("rtt");
        results[side].rtt.push(trips / rttSeconds);
        const [bytes, bulkSeconds] = await measure("bulk");
        results[side].bulk.push(bytes / 1e6 / bulkSeconds);
        console.log(
          `run ${run + 1} ${side}: ${Math.round(trips / rttSeconds)} rt/s, ${(bytes / 1e6 / bulkSeconds).toFixed(0)} MB/s`,
        );
      }
    }
    const report = format(results, options, loadBefore, loadavg()[0]!.toFixed(2));
    console.log(report);
    const file = join(
      REPO,
      "bench/results",
      `${new Date().toISOString().slice(0, 10)}-${hostname()}-unix.md`,
    );
    writeFileSync(file, report);
    console.log(`written to ${file}`);
  } finally {
    for (const started of processes) await started.stop();
    await destroyAll();
    rmSync(work, { recursive: true, force: true });
  }
}

function format(
  results: Record<Side, { rtt: number[]; bulk: number[] }>,
  options: Options,
  loadBefore: string,
  loadAfter: string,
): string {
  const d = { rtt: median(results.d.rtt), bulk: median(results.d.bulk) };
  const range = (values: number[], digits: number) =>
    `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
  const lines = [
    `# Unix-domain sockets against TCP (bench/unix_compare.ts, ${new Date().toISOString()})`,
    "",
    `Load average ${loadBefore} at the start, ${loadAfter} at the end (${navigator.hardwareConcurrency} CPUs). ${options.runs} runs of each side, alternating; rtt: one byte in flight for ${options.seconds} s; bulk: ${options.bytes / 1e6} MB echoed. Medians (range); ratios against d, the kernel's Unix sockets.`,
    "",
    "| Side | Round trips/s | × d | Echo MB/s | × d |",
    "|---|---|---|---|---|",
  ];
  for (const side of Object.keys(results) as Side[]) {
    const rtt = median(results[side].rtt);
    const bulk = median(results[side].bulk);
    lines.push(
      `| ${LABELS[side]} | ${Math.round(rtt).toLocaleString("en")} (${range(results[side].rtt, 0)}) | ${(rtt / d.rtt).toFixed(2)} | ${bulk.toFixed(0)} (${range(results[side].bulk, 0)}) | ${(bulk / d.bulk).toFixed(2)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

await main();
