/**
 * TCP bulk transfer with the kernel's own TCP as the far end, and the CPU it costs.
 *
 *   download, chargen (19):  bulk_client download ADDRESS 19 N
 *   download, HTTP (80):     bulk_client http ADDRESS 80 /bytes/N
 *   upload, discard (9):     bulk_client upload ADDRESS 9 N
 *
 * `bulk_client` (bench/clients/bulk_client.c, compiled here at run time) reads and
 * writes 1 MiB per system call. The `nc | head | wc` pipelines used before topped out
 * below the kernel's own TCP on a veth pair, so the kernel column measured the pipeline
 * and flattered every ratio; the run checks the client against the kernel (`bench/run.ts`
 * notes the kernel's download rate, which should reach several GB/s with offloads).
 *
 * Each transfer records the server process's CPU time (`/proc/PID/stat`) and the whole
 * machine's busy time (`/proc/stat`) around it, for "CPU seconds per GB".
 */
import { existsSync, rmSync } from "node:fs";
import { chargenBuffer, chargenError } from "./patterns.ts";
import { cpuSeconds, machineBusySeconds, NotAvailable } from "./proc.ts";
import { checkAlive, type Side } from "./side.ts";

export type BulkKind = "chargen" | "http" | "upload";

export interface Transfer {
  bytes: number;
  seconds: number;
  serverCpuSeconds: number;
  machineCpuSeconds: number;
}

export function megabytesPerSecond(transfer: Transfer): number {
  return transfer.bytes / 1e6 / transfer.seconds;
}

/** One transfer of `bytes` (stopped after `timeoutSeconds`; chargen and HTTP then count what came). */
export async function transfer(
  side: Side,
  kind: BulkKind,
  bytes: number,
  timeoutSeconds: number,
): Promise<Transfer> {
  checkAlive(side);
  const pid = side.server.pid;
  const cpuBefore = cpuSeconds(pid);
  const machineBefore = machineBusySeconds();
  const moved = await move(side, kind, bytes, timeoutSeconds);
  checkAlive(side);
  return {
    ...moved,
    serverCpuSeconds: cpuSeconds(pid) - cpuBefore,
    machineCpuSeconds: machineBusySeconds() - machineBefore,
  };
}

const CLIENT_SOURCE = new URL("./clients/bulk_client.c", import.meta.url).pathname;
let clientPath: string | undefined;

/** Compiles the load client once per run (cc -O2); NotAvailable without a C compiler. */
export function bulkClient(): string {
  if (clientPath !== undefined && existsSync(clientPath)) return clientPath;
  const output = `/tmp/tstcp-bulk-client-${process.pid}`;
  const cc = Bun.which("cc") ?? Bun.which("gcc");
  if (cc === null)
    throw new NotAvailable("no C compiler (cc) to build bench/clients/bulk_client.c");
  const built = Bun.spawnSync([cc, "-O2", "-D_GNU_SOURCE", "-o", output, CLIENT_SOURCE]);
  if (built.exitCode !== 0) {
    throw new NotAvailable(`cc bulk_client.c failed: ${built.stderr.toString().trim()}`);
  }
  process.once("exit", () => rmSync(output, { force: true }));
  clientPath = output;
  return output;
}

async function move(
  side: Side,
  kind: BulkKind,
  bytes: number,
  timeoutSeconds: number,
): Promise<{ bytes: number; seconds: number }> {
  const argv =
    kind === "chargen"
      ? ["download", side.address, "19", String(bytes)]
      : kind === "http"
        ? ["http", side.address, "80", `/bytes/${bytes}`]
        : ["upload", side.address, "9", String(bytes)];
  const result = await side.clients.exec(
    ["timeout", "-k", "2", String(timeoutSeconds), bulkClient(), ...argv],
    { timeoutMs: (timeoutSeconds + 10) * 1000 },
  );
  if (result.exitCode === 124) {
    throw new NotAvailable(`${kind} of ${bytes} bytes did not finish within ${timeoutSeconds} s`);
  }
  const [moved, seconds] = result.stdout.trim().split(" ").map(Number);
  if (result.exitCode !== 0 || !(moved! > 0) || !(seconds! > 0)) {
    throw new NotAvailable(
      `bulk_client ${argv[0]}: exit ${result.exitCode} ${result.stderr.trim()}`,
    );
  }
  if (kind !== "chargen" && moved !== bytes) {
    throw new NotAvailable(`bulk_client ${argv[0]}: ${moved} of ${bytes} bytes`);
  }
  return { bytes: moved!, seconds: seconds! };
}

/**
 * Downloads a few MB from chargen and from /bytes/N once and checks every byte: the
 * chargen pattern's structure (RFC 864) and the /bytes body byte for byte against the chargen stream's start.
 * Returns one line for the notes, e.g. "chargen 4 MiB ok; /bytes 4 MiB ok".
 */
export async function checkPayloads(side: Side, bytes: number): Promise<string> {
  const file = `/tmp/tstcp-bench-${process.pid}-${side.label}.bin`;
  const parts: string[] = [];
  const mib = bytes >= 1048576 ? `${bytes / 1048576} MiB` : `${bytes / 1024} KiB`;
  try {
    const chargen = await side.clients.shell(
      `timeout -k 2 20 sh -c 'nc -d ${side.address} 19 | head -c ${bytes} > ${file}'`,
      30_000,
    );
    const got = await Bun.file(file).bytes();
    const problem =
      got.length !== bytes
        ? `${got.length} of ${bytes} bytes (exit ${chargen.exitCode})`
        : chargenError(got);
    parts.push(
      `chargen ${mib} ${problem === undefined ? `sha256 ${sha256(got).slice(0, 12)} ok` : `BAD: ${problem}`}`,
    );
    const curl = await side.clients.exec(
      ["curl", "-s", "-m", "20", "-o", file, `http://${side.address}/bytes/${bytes}`],
      { timeoutMs: 30_000 },
    );
    const body = await Bun.file(file).bytes();
    const expected = sha256(chargenBuffer(bytes).subarray(0, bytes));
    const actual = sha256(body);
    parts.push(
      actual === expected
        ? `/bytes ${mib} sha256 ${actual.slice(0, 12)} ok`
        : `/bytes ${mib} BAD: ${body.length} bytes, sha256 ${actual.slice(0, 12)} ≠ ${expected.slice(0, 12)} (curl exit ${curl.exitCode})`,
    );
  } catch (error) {
    parts.push(`payload check failed: ${error instanceof Error ? error.message : error}`);
  } finally {
    rmSync(file, { force: true });
  }
  return parts.join("; ");
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}
