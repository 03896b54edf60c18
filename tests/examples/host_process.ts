/**
 * Runs `bun examples/host.ts` inside a test's network namespace and reads its output
 * line by line, so a test can wait for the banner, run curl or nmap beside it, then stop
 * it with a signal and check how it left.
 */
import type { Subprocess } from "bun";
import { collectLines } from "../helpers/lines.ts";
import type { Netns } from "../helpers/netns.ts";

export const HOST_SCRIPT = `${import.meta.dir}/../../examples/host.ts`;

export interface HostProcess {
  readonly child: Subprocess<"pipe", "pipe", "pipe">;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Waits until a stdout line matches; throws with the output so far after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and waits for the exit code (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  stderr(): Promise<string>;
}

export function spawnHost(ns: Netns, args: string[]): HostProcess {
  const child = ns.spawnBun(HOST_SCRIPT, args);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  void collectLines(child.stdout, lines, () => {
    for (const listener of listeners) listener();
  });
  const stderrText = new Response(child.stderr).text();
  return {
    child,
    lines,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (line === undefined) return false;
          cleanup();
          resolve(line);
          return true;
        };
        const timer = setTimeout(async () => {
          cleanup();
          const exited = child.exitCode !== null ? ` (exited ${child.exitCode})` : "";
          reject(new Error(`no line matching ${pattern}${exited}; stdout:\n${lines.join("\n")}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = () => void check();
        listeners.add(listener);
        check();
        child.exited.then(() => setTimeout(listener, 50));
      });
    },
    async stop(signal = "SIGINT", timeoutMs = 10_000) {
      if (child.exitCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await child.exited;
      clearTimeout(killer);
      return code;
    },
    stderr: () => stderrText,
  };
}
