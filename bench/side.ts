/**
 * One side of a comparison: a server (our stack, the kernel reference, or the bare echo)
 * and the namespace whose kernel tools are its clients.
 */
import type { Namespace } from "./netns.ts";
import { type Background, NotAvailable } from "./proc.ts";

export interface Side {
  label: "ours" | "kernel" | "bare";
  /** Where ping, curl, nc, wrk run. */
  clients: Namespace;
  /** The server's address, as the clients reach it. */
  address: string;
  /** The server process (stack, kernel services or bare echo). */
  server: Background;
}

/** Throws `NotAvailable` if the server process has exited (a crash mid-run). */
export function checkAlive(side: Side): void {
  if (!side.server.running) {
    throw new NotAvailable(
      `${side.server.label} exited (code ${side.server.exitCode}): ${side.server.lastLines(3)}`,
    );
  }
}

/** Whether a TCP port answers, as `nc -z` sees it; undefined if it does, else why not. */
export async function portProblem(side: Side, port: number): Promise<string | undefined> {
  checkAlive(side);
  const result = await side.clients.exec(["nc", "-z", "-w", "3", side.address, String(port)], {
    timeoutMs: 6000,
  });
  if (result.exitCode === 0) return undefined;
  return `port ${port} does not accept connections${result.stderr.trim() ? ` (${result.stderr.trim()})` : ""}`;
}
