/**
 * Two whole hosts (stack, driver, socket API) joined by a memory link on one virtual
 * clock, for running the sample programs end to end without a TUN device.
 *
 *   host a 10.0.0.1 ── memory link (1 ms each way) ── host b 10.0.0.2
 *
 * `run(promise)` lets the programs' async tasks run and moves virtual time forward in
 * small steps until the promise settles (or a virtual-time limit passes).
 */
import { attachDriver, type Driver } from "../../device/driver.ts";
import { createMemoryLink } from "../../device/memory_link.ts";
import { createSocketApi, type SocketApi } from "../../sockets/api.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { Random } from "../../stack/random.ts";
import { Stack } from "../../stack/stack.ts";
import type { Trace } from "../../stack/trace.ts";

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
  const clock = new VirtualClock(1_000_000);
  const seed = options.seed ?? 1;
  const faults = { delayMs: 1, loss: options.loss ?? 0 };
  const [linkA, linkB] = createMemoryLink(clock, { seed, faults });
  const host = (address: string, link: typeof linkA, hostSeed: number, trace?: Trace): Host => {
    const stack = new Stack({
      address: parseIpv4(address)!,
      prefixLength: 24,
      mtu: 1500,
      random: new Random(hostSeed),
      ...(trace ? { trace } : {}),
    });
    const driver = attachDriver(stack, link, clock);
    return { stack, driver, api: createSocketApi(stack, clock, driver.kick), address };
  };
  const a = host("10.0.0.1", linkA, seed * 2);
  const b = host("10.0.0.2", linkB, seed * 2 + 1, options.traceB);

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
