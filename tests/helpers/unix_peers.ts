/**
 * Real processes on the other end of our Unix-domain sockets: the Python peer
 * (tests/sockets/fixtures/unix_peer.py) and socat, plus a scratch directory for paths.
 *
 * @example
 * const peer = pythonPeer(["stream-echo-server", path]);
 * await peer.ready;               // the socket exists now
 * ... talk to it ...
 * const result = await peer.result;
 */

import { describe } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tunRequired } from "./tun_env.ts";

const FIXTURE = join(import.meta.dir, "../sockets/fixtures/unix_peer.py");

export interface Peer {
  readonly pid: number;
  /** The first JSON line (`{ ready: true, pid }`): the socket is bound or connected. */
  readonly ready: Promise<Record<string, unknown>>;
  /** The last JSON line, at exit. */
  readonly result: Promise<Record<string, unknown>>;
  kill(signal?: number): void;
}

/** Runs unix_peer.py with `args`; killed after `limitMs` at the latest. */
export function pythonPeer(args: string[], limitMs = 60_000): Peer {
  const child = Bun.spawn(["python3", FIXTURE, ...args], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), limitMs);
  const lines: Record<string, unknown>[] = [];
  let readyResolve: (line: Record<string, unknown>) => void = () => {};
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    readyResolve = resolve;
  });
  const result = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk);
      for (let at = pending.indexOf("\n"); at >= 0; at = pending.indexOf("\n")) {
        const line = JSON.parse(pending.slice(0, at)) as Record<string, unknown>;
        pending = pending.slice(at + 1);
        lines.push(line);
        if (lines.length === 1) readyResolve(line);
      }
    }
    const code = await child.exited;
    clearTimeout(timer);
    const stderr = await new Response(child.stderr).text();
    if (lines.length === 0) throw new Error(`unix_peer.py ${args[0]} exited ${code}: ${stderr}`);
    readyResolve(lines[0]!);
    return lines[lines.length - 1]!;
  })();
  return { pid: child.pid, ready, result, kill: (signal = 9) => child.kill(signal) };
}

/** Runs socat with `args`, feeding `input`; its stdout and exit code. */
export async function socat(
  args: string[],
  input: string,
  limitMs = 20_000,
): Promise<{ stdout: string; code: number }> {
  const child = Bun.spawn(["socat", ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), limitMs);
  child.stdin.write(input);
  await child.stdin.end();
  const stdout = await new Response(child.stdout).text();
  const code = await child.exited;
  clearTimeout(timer);
  return { stdout, code };
}

/** A fresh directory for socket paths, removed by the returned function. */
export function scratchDirectory(): { path: string; remove(): void } {
  const path = mkdtempSync("/tmp/tstcp-unix-");
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Why the real-process tests cannot run here (python3 or socat missing), if so. */
export function peersUnavailable(): string | undefined {
  if (process.platform !== "linux") return "Unix-domain peer tests need Linux";
  for (const command of ["python3", "socat"]) {
    if (Bun.which(command) === null) return `${command} is missing (.ci/deps.sh installs it)`;
  }
  return undefined;
}

/** `describe` that skips without python3/socat, and fails instead under REQUIRE_TUN=1 (CI). */
export function describePeers(name: string, body: () => void): void {
  const reason = peersUnavailable();
  if (reason === undefined || tunRequired()) {
    describe(name, () => {
      if (reason !== undefined) throw new Error(reason);
      body();
    });
    return;
  }
  console.warn(`skipping "${name}": ${reason}`);
  describe.skip(name, body);
}
