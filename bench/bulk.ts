/**
 * TCP bulk transfer with the kernel's own tools as the far end, and the CPU it costs.
 *
 *   download, chargen (19):  nc -d ADDRESS 19 | timeout T head -c N | wc -c
 *   download, HTTP (80):     curl -o /dev/null -w '%{size_download} %{time_total}' /bytes/N
 *   upload, discard (9):     head -c N /dev/zero | timeout T nc -N ADDRESS 9
 *
 * Each transfer records the server process's CPU time (`/proc/PID/stat`) and the whole
 * machine's busy time (`/proc/stat`) around it, for "CPU seconds per GB".
 */
import { rmSync } from "node:fs";
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

async function move(
  side: Side,
  kind: BulkKind,
  bytes: number,
  timeoutSeconds: number,
): Promise<{ bytes: number; seconds: number }> {
  const address = side.address;
  const limitMs = (timeoutSeconds + 10) * 1000;
  const outer = `timeout -k 2 ${timeoutSeconds + 5}`;
  if (kind === "chargen") {
    const script = `${outer} sh -c 'nc -d ${address} 19 | timeout ${timeoutSeconds} head -c ${bytes} | wc -c'`;
    const result = await side.clients.shell(script, limitMs);
    const received = Number(result.stdout.trim());
    if (!(received > 0)) throw new NotAvailable(`chargen sent nothing (${result.stderr.trim()})`);
    return { bytes: received, seconds: result.elapsedMs / 1000 };
  }
  if (kind === "http") {
    const format = "%{http_code} %{size_download} %{time_total}";
    const argv = ["curl", "-s", "-o", "/dev/null", "-m", String(timeoutSeconds), "-w", format];
    const result = await side.clients.exec([...argv, `http://${address}/bytes/${bytes}`], {
      timeoutMs: limitMs,
    });
    const [status, size, total] = result.stdout.trim().split(" ").map(Number);
    if (status !== 200 || !(size! > 0)) {
      throw new NotAvailable(`GET /bytes/${bytes}: status ${status}, curl exit ${result.exitCode}`);
    }
    return { bytes: size!, seconds: total! };
  }
  const script = `head -c ${bytes} /dev/zero | timeout ${timeoutSeconds} nc -N ${address} 9`;
  const result = await side.clients.shell(script, limitMs);
  if (result.exitCode === 124) {
    throw new NotAvailable(`upload of ${bytes} bytes did not finish within ${timeoutSeconds} s`);
  }
  if (result.exitCode !== 0) {
    throw new NotAvailable(`nc to discard: exit ${result.exitCode} ${result.stderr.trim()}`);
  }
  return { bytes, seconds: result.elapsedMs / 1000 };
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
