/**
 * The benchmark's network namespaces, created with unique names and always removed.
 *
 *   A (stack)      kernel tools (ping, curl, nc, wrk) → 10.0.0.2 over the TUN ─→ our stack
 *   R ── veth ── K kernel tools in R → 10.1.0.2 over a veth pair (MTU 1500) ─→ the same
 *                  services on the kernel's TCP/IP (`bench/kernel_services.ts`)
 *
 * Nothing is configured in the root namespace. `destroyAll()` kills every process still
 * inside our namespaces (`ip netns pids`: only processes we started can be there) and
 * deletes them; `run.ts` calls it in `finally` and on SIGINT/SIGTERM.
 */
import { Background, type BackgroundOptions, type RunResult, run } from "./proc.ts";

/** Addresses, all inside the namespaces. */
export const STACK_ADDRESS = "10.0.0.2";
export const STACK_HOST_SIDE = "10.0.0.1";
export const KERNEL_CLIENT = "10.1.0.1";
export const KERNEL_SERVER = "10.1.0.2";
export const MTU = 1500;

const live = new Set<Namespace>();

export class Namespace {
  private constructor(readonly name: string) {}

  static async create(name: string): Promise<Namespace> {
    const added = await run(["ip", "netns", "add", name], { timeoutMs: 10_000 });
    if (added.exitCode !== 0) throw new Error(`ip netns add ${name}: ${added.stderr.trim()}`);
    const ns = new Namespace(name);
    live.add(ns);
    await ns.checked(["ip", "link", "set", "lo", "up"]);
    return ns;
  }

  /** Runs a command inside the namespace, bounded by `timeoutMs`. */
  exec(argv: string[], options: { timeoutMs: number; stdin?: string }): Promise<RunResult> {
    return run(["ip", "netns", "exec", this.name, ...argv], options);
  }

  /** Runs a shell script inside the namespace. */
  shell(script: string, timeoutMs: number): Promise<RunResult> {
    return this.exec(["sh", "-c", script], { timeoutMs });
  }

  /** Starts a background process inside the namespace (`ip netns exec` execs, so its PID is the program's). */
  spawn(label: string, argv: string[], options: BackgroundOptions = {}): Background {
    return new Background(label, ["ip", "netns", "exec", this.name, ...argv], options);
  }

  /** Runs a command that must succeed (setup steps). */
  async checked(argv: string[]): Promise<void> {
    const result = await this.exec(argv, { timeoutMs: 10_000 });
    if (result.exitCode !== 0) {
      throw new Error(`${this.name}: ${argv.join(" ")}: ${result.stderr.trim()}`);
    }
  }

  /** Sets a per-namespace sysctl; failures are ignored (the default is then measured). */
  async sysctl(key: string, value: string): Promise<void> {
    await this.exec(["sysctl", "-q", "-w", `${key}=${value}`], { timeoutMs: 5000 });
  }

  /** Kills what still runs inside, then deletes the namespace. */
  async destroy(): Promise<void> {
    for (const signal of ["TERM", "KILL"]) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      await run(["kill", `-${signal}`, ...pids], { timeoutMs: 5000 });
      await Bun.sleep(300);
    }
    await run(["ip", "netns", "del", this.name], { timeoutMs: 10_000 });
    live.delete(this);
  }

  private async pids(): Promise<string[]> {
    const result = await run(["ip", "netns", "pids", this.name], { timeoutMs: 5000 });
    return result.stdout.split(/\s+/).filter((pid) => /^\d+$/.test(pid));
  }
}

/** Deletes every namespace this process created and still holds. */
export async function destroyAll(): Promise<void> {
  for (const ns of [...live]) {
    try {
      await ns.destroy();
    } catch (error) {
      console.error(`cleanup of ${ns.name} failed: ${error}`);
    }
  }
}

export interface Topology {
  /** Holds the stack's TUN (and the bare echo's); the kernel tools here are its clients. */
  stackSide: Namespace;
  /** Kernel clients of the reference. */
  kernelClients: Namespace;
  /** Kernel server of the reference. */
  kernelServer: Namespace;
}

/** Creates A, R and K (names unique to this process) and the veth pair between R and K. */
export async function createTopology(prefix: string): Promise<Topology> {
  const tag = `${prefix}-${process.pid}`;
  const stackSide = await Namespace.create(`${tag}-a`);
  const kernelClients = await Namespace.create(`${tag}-r`);
  const kernelServer = await Namespace.create(`${tag}-k`);
  await kernelClients.checked([
    "ip",
    "link",
    "add",
    "veth0",
    "mtu",
    String(MTU),
    "type",
    "veth",
    "peer",
    "name",
    "veth1",
    "netns",
    kernelServer.name,
  ]);
  await kernelClients.checked(["ip", "address", "add", `${KERNEL_CLIENT}/24`, "dev", "veth0"]);
  await kernelServer.checked(["ip", "link", "set", "veth1", "mtu", String(MTU)]);
  await kernelServer.checked(["ip", "address", "add", `${KERNEL_SERVER}/24`, "dev", "veth1"]);
  await kernelClients.checked(["ip", "link", "set", "veth0", "up"]);
  await kernelServer.checked(["ip", "link", "set", "veth1", "up"]);
  // Clients open tens of thousands of connections (wrk with Connection: close, 10,000
  // idle ones): give them the whole port range and TIME-WAIT reuse, on both sides alike.
  for (const ns of [stackSide, kernelClients]) {
    await ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
    await ns.sysctl("net.ipv4.tcp_tw_reuse", "1");
  }
  await kernelServer.sysctl("net.core.somaxconn", "65535");
  await kernelServer.sysctl("net.ipv4.tcp_max_syn_backlog", "65535");
  return { stackSide, kernelClients, kernelServer };
}
