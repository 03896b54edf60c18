/**
 * Two whole hosts, each a `Stack` with its socket API, joined by the simulated link on a
 * virtual clock (`two_hosts.ts`, with A and B's addresses swapped): host A is 10.0.0.2,
 * host B is 10.0.0.1.
 *
 * Time moves only in `run(promise)`: it lets every pending promise continuation run,
 * then advances the clock (delivering packets, firing TCP timers) until the promise
 * settles, and returns its value (or throws its error). A test reads like
 * the program it tests:
 *
 * @example
 * const { a, b, run } = socketHosts();
 * const server = b.api.socket("inet", "stream");
 * b.api.bind(server, "0.0.0.0", 7); b.api.listen(server);
 * const client = a.api.socket("inet", "stream");
 * await run(a.api.connect(client, "10.0.0.1", 7));
 */
import type { Driver } from "../../device/driver.ts";
import type { FaultOptions } from "../../device/faults.ts";
import type { MemoryLinkEnd } from "../../device/memory_link.ts";
import { createSocketApi, type SocketApi } from "../../sockets/api.ts";
import { parseIpv4 } from "../../stack/address.ts";
import type { VirtualClock } from "../../stack/clock.ts";
import type { Stack, StackOptions } from "../../stack/stack.ts";
import type { TcpConfig } from "../../stack/tcp/tcp.ts";
import { type DrivenHost, twoHosts } from "./two_hosts.ts";

export const ADDRESS_A = "10.0.0.2";
export const ADDRESS_B = "10.0.0.1";

export interface SocketHost {
  readonly stack: Stack;
  readonly api: SocketApi;
  readonly driver: Driver;
  readonly link: MemoryLinkEnd;
}

export interface SocketHostsOptions {
  seed?: number;
  mtu?: number;
  faults?: FaultOptions;
  tcp?: Partial<TcpConfig>;
  /** More options for host A's stack (e.g. a gateway's forwarder). */
  stackA?: Partial<StackOptions>;
}

export interface SocketHosts {
  readonly clock: VirtualClock;
  readonly a: SocketHost;
  readonly b: SocketHost;
  /** Drives time until `promise` settles (at most `limitMs` of virtual time); its value. */
  run<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
  /** Lets promise continuations run and advances the clock by `ms`, 1 ms at a time. */
  advance(ms: number): Promise<void>;
}

/** Lets every queued promise continuation run (setImmediate comes after all microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function socketHosts(options: SocketHostsOptions = {}): SocketHosts {
  const seed = options.seed ?? 1;
  const hosts = twoHosts({
    seed,
    mtu: options.mtu ?? 1500,
    faults: options.faults ?? { delayMs: 1 },
    tcpA: options.tcp ?? {},
    tcpB: options.tcp ?? {},
    startMs: 0,
    stackA: { address: parseIpv4(ADDRESS_A)!, ...options.stackA },
    stackB: { address: parseIpv4(ADDRESS_B)! },
    driver: {}, // a stack error is logged (console.error), as a real host would
  });
  const { clock } = hosts;
  const withApi = (host: DrivenHost): SocketHost => ({
    stack: host.stack,
    api: createSocketApi(host.stack, clock, host.driver.kick),
    driver: host.driver,
    link: host.device,
  });
  const a = withApi(hosts.a);
  const b = withApi(hosts.b);

  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      await settle();
      clock.advance(1);
    }
    await settle();
  };

  const run = async <T>(promise: Promise<T>, limitMs = 60_000): Promise<T> => {
    let done = false;
    const watched = promise.finally(() => {
      done = true;
    });
    watched.catch(() => {}); // the caller gets the rejection from `await watched` below
    const end = clock.now() + limitMs;
    // 1 ms steps while packets flow; while the link is quiet (waiting for a timer),
    // steps double up to 64 ms so a minute of retransmission back-off runs quickly.
    const packetsSent = () => a.link.faults.sent + b.link.faults.sent;
    let step = 1;
    await settle();
    while (!done && clock.now() < end) {
      const before = packetsSent();
      clock.advance(Math.min(step, end - clock.now()));
      await settle();
      step = packetsSent() === before ? Math.min(step * 2, 64) : 1;
    }
    if (!done) throw new Error(`run: still pending after ${limitMs} ms of virtual time`);
    return watched;
  };

  return { clock, a, b, run, advance };
}

/** `n` bytes of a simple pattern (`seed` shifts it), to check what arrives. */
export const patternBytes = (n: number, seed = 0) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** B listens on `port`; A connects; returns both ends' descriptors. */
export async function connectedPair(hosts: SocketHosts, port = 7) {
  const { a, b, run } = hosts;
  const server = b.api.socket("inet", "stream");
  b.api.bind(server, "0.0.0.0", port);
  b.api.listen(server);
  const client = a.api.socket("inet", "stream");
  await run(a.api.connect(client, ADDRESS_B, port));
  const accepted = await run(b.api.accept(server));
  return { server, client, accepted };
}
