/**
 * Many idle connections: the server's memory per connection, then whether every one
 * still echoes a byte. The clients are `bench/many_clients.ts` on kernel sockets, in the
 * clients' namespace, with `ulimit -n` raised.
 */
import { readFileSync } from "node:fs";
import { NotAvailable } from "./proc.ts";
import { checkAlive, type Side } from "./side.ts";

export interface ManyConnectionsResult {
  requested: number;
  connected: number;
  connectSeconds: number;
  /** Server memory growth per established connection, bytes, before any data. */
  bytesPerConnection: number;
  /** The same once each connection has echoed one byte (what an operator's RSS shows). */
  bytesPerConnectionAfterEcho: number;
  echoed: number;
  lost: number;
  closedWhileIdle: number;
  /** SYNs the clients' kernel sent again (a SYN or SYN-ACK lost, or a listener that dropped it). */
  synRetransmits: number;
}

const CLIENT_SCRIPT = new URL("./many_clients.ts", import.meta.url).pathname;

/**
 * `memoryBytes` reads the server's memory (the stack's RSS, or the reference's RSS plus
 * kernel memory); it is read before the clients connect and again once they idle.
 */
export async function manyConnections(
  side: Side,
  options: { count: number; seconds: number; memoryBytes: () => number },
): Promise<ManyConnectionsResult> {
  checkAlive(side);
  const synsBefore = await clientCounter(side, "TcpExtTCPSynRetrans");
  const before = options.memoryBytes();
  // Raised to the hard limit (root without CAP_SYS_RESOURCE cannot go past it).
  const command =
    `ulimit -n $(ulimit -Hn) && exec ${process.execPath} ${CLIENT_SCRIPT} --address ${side.address}` +
    ` --port 7 --count ${options.count} --seconds ${options.seconds}`;
  const clients = side.clients.spawn("many_clients", ["sh", "-c", command], { stdin: "pipe" });
  try {
    const limitMs = options.seconds * 1000 + 15_000;
    const connected = JSON.parse(await clients.waitForLine(/"phase":"connected"/, limitMs));
    if (connected.connected === 0) throw new NotAvailable("no connection to the echo port");
    // Let the server finish handshakes and settle before reading its memory.
    await Bun.sleep(1000);
    checkAlive(side);
    const after = options.memoryBytes();
    const stdin = clients.child.stdin;
    if (stdin === undefined || typeof stdin === "number") throw new Error("clients without stdin");
    stdin.write("go\n");
    stdin.flush();
    const echoed = JSON.parse(await clients.waitForLine(/"phase":"echoed"/, limitMs));
    await Bun.sleep(1000);
    checkAlive(side);
    const afterEcho = options.memoryBytes();
    stdin.write("go\n");
    stdin.flush();
    return {
      requested: options.count,
      connected: connected.connected,
      connectSeconds: connected.connectSeconds,
      bytesPerConnection: (after - before) / connected.connected,
      bytesPerConnectionAfterEcho: (afterEcho - before) / connected.connected,
      echoed: echoed.echoed,
      lost: echoed.lost,
      closedWhileIdle: echoed.closedWhileIdle,
      synRetransmits: (await clientCounter(side, "TcpExtTCPSynRetrans")) - synsBefore,
    };
  } finally {
    await clients.stop();
  }
}

/** A counter of the clients' kernel (`nstat -az NAME` in their namespace); NaN if unknown. */
export async function clientCounter(side: Side, name: string): Promise<number> {
  const result = await side.clients.exec(["nstat", "-az", name], { timeoutMs: 5000 });
  const match = new RegExp(`^${name}\\s+(\\d+)`, "m").exec(result.stdout);
  return match === null ? Number.NaN : Number(match[1]);
}

/** The machine's kernel slab memory in bytes (`/proc/meminfo` Slab): where sockets live. */
export function slabBytes(): number {
  const match = /^Slab:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return match === null ? 0 : Number(match[1]) * 1024;
}
