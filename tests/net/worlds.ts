/**
 * The two worlds the `net` behaviour suite runs in, so one test checks that our face
 * behaves as the real thing:
 *
 *   kernel  Bun's own node:net over the kernel's TCP, on loopback
 *   ours    our net face (net/) on two hosts joined in memory (lib/host_pair.ts), over
 *           IPv4 and again over IPv6 (the pair is dual-stack)
 *
 * and small helpers to wait for events without depending on timing.
 */
import type { EventEmitter } from "node:events";
import * as nodeNet from "node:net";
import { createHostPair, type PairedHost } from "../../index.ts";

/** What the suite uses of a `net` module; ours is checked to fit it. */
export type NetLike = Pick<typeof nodeNet, "createServer" | "connect" | "Socket">;

export interface World {
  readonly client: NetLike;
  readonly server: NetLike;
  /** Where the server is reached (and may listen). */
  readonly host: string;
  /** Our two hosts, in the simulated world. */
  readonly hosts?: readonly [PairedHost, PairedHost];
  close(): Promise<void>;
}

export const WORLDS: Record<string, () => World> = {
  "kernel (Bun's node:net on loopback)": () => ({
    client: nodeNet,
    server: nodeNet,
    host: "127.0.0.1",
    close: async () => {},
  }),
  "ours (net/ over a simulated link)": () => oursOver("inet"),
  "ours (net/ over IPv6 on a simulated link)": () => oursOver("inet6"),
};

function oursOver(family: "inet" | "inet6"): World {
  const [a, b] = createHostPair({ seed: 7 });
  return {
    client: a.net as unknown as NetLike,
    server: b.net as unknown as NetLike,
    host: family === "inet" ? b.address : b.address6,
    hosts: [a, b],
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

/** Resolves with the event's arguments; rejects after `ms` (generous: the machine is shared). */
export function next(emitter: EventEmitter, event: string, ms = 30_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" event within ${ms} ms`));
    }, ms);
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, listener);
  });
}

/** Appends each of `events` to `log` as it happens ("data:<text>", "close:<hadError>", ...). */
export function record(emitter: EventEmitter, log: string[], events: readonly string[]): void {
  for (const event of events) {
    emitter.on(event, (arg?: unknown) => {
      if (event === "data") log.push(`data:${String(arg)}`);
      else if (event === "close") log.push(`close:${String(arg)}`);
      else if (event === "error") log.push(`error:${(arg as { code?: string }).code}`);
      else log.push(event);
    });
  }
}

/** A server listening on an ephemeral port; resolves with it and the port. */
export async function listening(
  world: World,
  options: nodeNet.ServerOpts,
  onConnection: (socket: nodeNet.Socket) => void,
): Promise<{ server: nodeNet.Server; port: number }> {
  const server = world.server.createServer(options, onConnection);
  server.listen(0, world.host);
  await next(server, "listening");
  return { server, port: (server.address() as nodeNet.AddressInfo).port };
}

/** Closes a server and waits for its close event. */
export async function closeServer(server: nodeNet.Server): Promise<void> {
  if (!server.listening) return;
  const closed = next(server, "close");
  server.close();
  await closed;
}

/**
 * Waits until `condition()` holds, checking every millisecond or so; fails after `ms`
 * (generous: the stack's timers run on the wall clock and the machine is shared).
 */
export async function until(condition: () => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
