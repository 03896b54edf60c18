/**
 * Two whole hosts (stack, driver, socket API) joined by a memory link on one virtual
 * clock (`tests/helpers/two_hosts.ts`), for running the sample programs end to end
 * without a TUN device.
 *
 *   host a 10.0.0.1 ── memory link (1 ms each way) ── host b 10.0.0.2
 *
 * `run(promise)` lets the programs' async tasks run and moves virtual time forward in
 * small steps until the promise settles (or a virtual-time limit passes).
 */
import type { Driver } from "../../device/driver.ts";
import { createSocketApi, type SocketApi } from "../../sockets/api.ts";
import { formatIpv4 } from "../../stack/address.ts";
import type { VirtualClock } from "../../stack/clock.ts";
import { Random } from "../../stack/random.ts";
import type { Stack } from "../../stack/stack.ts";
import type { Trace } from "../../stack/trace.ts";
import { type DrivenHost, twoHosts as twoStacks } from "../helpers/two_hosts.ts";

export interface Host {
  readonly stack: Stack;
  readonly driver: Driver;
  readonly api: SocketApi;
  readonly address: string;
}

export interface TwoHosts {
  readonly clock: VirtualClock;
  readonly a: Host;
  readonly b: Host;
  /** Runs tasks and advances virtual time until `promise` settles; throws past `limitMs`. */
  run<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
  /** Lets virtual time pass (tasks keep running meanwhile). */
  pass(ms: number): Promise<void>;
}

export function twoHosts(options: { seed?: number; traceB?: Trace; loss?: number } = {}): TwoHosts {
  const seed = options.seed ?? 1;
  const hosts = twoStacks({
    seed,
    faults: { delayMs: 1, loss: options.loss ?? 0 },
    stackA: { random: new Random(seed * 2) },
    stackB: {
      random: new Random(seed * 2 + 1),
      ...(options.traceB ? { trace: options.traceB } : {}),
    },
    driver: {}, // a stack error is logged (console.error), as a real host would
  });
  const { clock } = hosts;
  const withApi = (host: DrivenHost): Host => ({
    stack: host.stack,
    driver: host.driver,
    api: createSocketApi(host.stack, clock, host.driver.kick),
    address: formatIpv4(host.stack.address),
  });
  const a = withApi(hosts.a);
  const b = withApi(hosts.b);

  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  async function run<T>(promise: Promise<T>, limitMs = 120_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const end = clock.now() + limitMs;
    while (!settled) {
      await turn();
      if (settled) break;
      if (clock.now() >= end) throw new Error(`still waiting after ${limitMs} ms of virtual time`);
      clock.advance(1);
    }
    return promise;
  }
  async function pass(ms: number): Promise<void> {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      await turn();
      clock.advance(1);
    }
    await turn();
  }
  return { clock, a, b, run, pass };
}
