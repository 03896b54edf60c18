/**
 * Network namespaces for tests that send real packets: each test gets a private copy of
 * the kernel's network stack (interfaces, routes, addresses), so nothing it does can
 * reach the host's network, and everything it created vanishes with it.
 *
 * @example
 * await withNetns("tun-echo", async (ns) => {
 *   const out = await ns.runBun("tests/device/fixtures/tun_echo.ts", ["tsttun0"]);
 *   expect(out.exitCode).toBe(0);
 * });
 */
import type { Subprocess } from "bun";

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when the command was killed for running past its timeout. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  stdin?: string;
  env?: Record<string, string | undefined>;
}

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace and waits for it. */
  exec(command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a background process inside the namespace; it is killed when the namespace goes. */
  spawn(
    command: string[],
    options?: { env?: Record<string, string | undefined> },
  ): Subprocess<"pipe", "pipe", "pipe">;
  /** Runs one of our Bun scripts inside the namespace: `bun <script> <args>`. */
  runBun(script: string, args?: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts one of our Bun scripts in the background. */
  spawnBun(script: string, args?: string[]): Subprocess<"pipe", "pipe", "pipe">;
}

let sequence = 0;

/** A name no other test run on this machine is using: prefix, pid, counter, random. */
function uniqueName(prefix: string): string {
  const random = Math.floor(Math.random() * 0x10000).toString(16);
  return `${prefix}-${process.pid}-${++sequence}-${random}`;
}

async function run(command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const child = Bun.spawn(command, {
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 30_000);
  try {
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `command` in the root namespace and throws with its stderr if it fails. */
async function must(command: string[]): Promise<void> {
  const result = await run(command, { timeoutMs: 10_000 });
  if (result.exitCode !== 0) {
    throw new Error(`${command.join(" ")} failed (${result.exitCode}): ${result.stderr.trim()}`);
  }
}

/**
 * Creates a namespace named after `prefix`, brings its loopback up, runs `body`, and
 * always deletes the namespace afterwards, killing every process started through `ns`.
 */
export async function withNetns<T>(prefix: string, body: (ns: Netns) => Promise<T>): Promise<T> {
  const name = uniqueName(prefix);
  const children = new Set<Subprocess>();
  const inside = (command: string[]) => ["ip", "netns", "exec", name, ...command];
  const ns: Netns = {
    name,
    exec: (command, options) => run(inside(command), options),
    spawn(command, options = {}) {
      const child = Bun.spawn(inside(command), {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, ...options.env },
      });
      children.add(child);
      return child;
    },
    runBun: (script, args = [], options) =>
      run(inside([process.execPath, script, ...args]), options),
    spawnBun: (script, args = []) => ns.spawn([process.execPath, script, ...args]),
  };
  await must(["ip", "netns", "add", name]);
  try {
    await must(inside(["ip", "link", "set", "lo", "up"]));
    return await body(ns);
  } finally {
    await cleanUp(name, children);
  }
}

async function cleanUp(name: string, children: Set<Subprocess>): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  await Promise.race([Promise.all([...children].map((c) => c.exited)), Bun.sleep(2000)]);
  // Any process still inside (started by a command we ran) keeps the namespace alive.
  const left = await run(["ip", "netns", "pids", name], { timeoutMs: 5000 });
  for (const pid of left.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await run(["ip", "netns", "delete", name], { timeoutMs: 10_000 });
}

/** Runs a bash script in `ns`; a script still running after `timeoutMs` is an error. */
export async function bashIn(ns: Netns, script: string, timeoutMs: number): Promise<ExecResult> {
  const result = await ns.exec(["bash", "-c", script], { timeoutMs });
  if (result.timedOut) throw new Error(`timed out: ${script}`);
  return result;
}
