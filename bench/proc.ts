/**
 * Processes for the benchmarks: run a command with a hard time limit, keep a background
 * process's output, and read a process's memory and CPU time from /proc.
 *
 * Every command is bounded in time: `run` kills its child (by PID) at the limit, and
 * the shell pipelines the measurements build are wrapped in coreutils `timeout`, which
 * signals its whole process group.
 */
import { readFileSync } from "node:fs";

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  elapsedMs: number;
}

/** Runs `argv` to completion, or kills it after `timeoutMs`. Never throws for a failing command. */
export async function run(
  argv: string[],
  options: { timeoutMs: number; stdin?: string },
): Promise<RunResult> {
  const started = performance.now();
  const child = Bun.spawn(argv, {
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const [stdout, stderr] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  const exitCode = await child.exited;
  clearTimeout(timer);
  return { exitCode, stdout, stderr, timedOut, elapsedMs: performance.now() - started };
}

/** Like `run`, but throws `NotAvailable` with the command's own words when it fails. */
export async function runChecked(
  argv: string[],
  options: { timeoutMs: number; stdin?: string },
): Promise<RunResult> {
  const result = await run(argv, options);
  if (result.timedOut) throw new NotAvailable(`${argv.join(" ")}: timed out`);
  if (result.exitCode !== 0) {
    const why = lastLine(result.stderr) || lastLine(result.stdout) || `exit ${result.exitCode}`;
    throw new NotAvailable(`${shortCommand(argv)}: ${why}`);
  }
  return result;
}

/**
 * A figure that could not be measured, with the reason printed as "n/a: reason" in the
 * table (a service not up yet, a tool missing, a stack that crashed).
 */
export class NotAvailable extends Error {}

export interface BackgroundOptions {
  stdin?: "pipe" | "ignore";
  env?: Record<string, string | undefined>;
  /** Sees every output line (stdout and stderr) as it arrives, e.g. to total a log. */
  onLine?: (line: string) => void;
}

/** A background process whose last output lines are kept for diagnostics. */
export class Background {
  readonly child: ReturnType<typeof Bun.spawn>;
  private readonly tail: string[] = [];
  private readonly onLine: ((line: string) => void) | undefined;
  exitCode: number | null = null;

  constructor(
    readonly label: string,
    argv: string[],
    options: BackgroundOptions = {},
  ) {
    this.onLine = options.onLine;
    this.child = Bun.spawn(argv, {
      stdin: options.stdin ?? "ignore",
      env: options.env ?? process.env,
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.collect(this.child.stdout as ReadableStream<Uint8Array>);
    void this.collect(this.child.stderr as ReadableStream<Uint8Array>);
    void this.child.exited.then((code) => {
      this.exitCode = code;
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  /** The last lines the process printed (stdout and stderr interleaved). */
  lastLines(count = 5): string {
    return this.tail.slice(-count).join(" | ");
  }

  /** Resolves with the first output line matching `pattern`, or rejects at the deadline. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let seen = 0;
    while (performance.now() < deadline) {
      for (; seen < this.tail.length; seen++) {
        const line = this.tail[seen]!;
        if (pattern.test(line)) return line;
      }
      if (!this.running) break;
      await Bun.sleep(20);
    }
    throw new NotAvailable(
      `${this.label} never printed ${pattern} (${this.running ? "still running" : `exit ${this.exitCode}`}: ${this.lastLines()})`,
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const exited = await Promise.race([
      this.child.exited.then(() => true),
      Bun.sleep(graceMs).then(() => false),
    ]);
    if (!exited) {
      this.child.kill("SIGKILL");
      await this.child.exited;
    }
  }

  private async collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      partial += decoder.decode(chunk, { stream: true });
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        this.tail.push(line);
        this.onLine?.(line);
      }
      // Bounded: a chatty process must not grow the harness's memory.
      if (this.tail.length > 4000) this.tail.splice(0, 2000);
    }
    if (partial !== "") this.tail.push(partial);
  }
}

/** VmRSS of a process in bytes (`/proc/PID/status`). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) throw new NotAvailable(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** User plus system CPU time of a process in seconds (`/proc/PID/stat` utime + stime). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; the fields after it follow ") ".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of proc(5) are the 12th and 13th after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Busy (non-idle) CPU seconds of the whole machine, all cores (`/proc/stat`). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  let busy = 0;
  for (let i = 0; i < Math.min(values.length, 8); i++) {
    if (i !== 3 && i !== 4) busy += values[i] ?? 0;
  }
  return busy / CLOCK_TICKS_PER_SECOND;
}

// USER_HZ is 100 on every Linux architecture Bun runs on.
const CLOCK_TICKS_PER_SECOND = 100;

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return (lines[lines.length - 1] ?? "").trim();
}

function shortCommand(argv: string[]): string {
  // Drop the "ip netns exec NAME" prefix and shell wrappers from messages.
  const start = argv[0] === "ip" && argv[1] === "netns" ? 4 : 0;
  const rest = argv.slice(start);
  if (rest[0] === "sh" && rest[1] === "-c") return rest[2] ?? "sh";
  return rest.join(" ");
}
