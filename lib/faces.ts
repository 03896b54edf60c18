/**
 * The two programming faces of a running stack, built once per host: `sockets`, the
 * BSD-style API (sockets/api.ts), and `net`, the `node:net` face over it (net/index.ts).
 * They share one descriptor table, so a `net.Socket`'s `fd` works with `sockets` calls.
 */
import { createNet, type Net } from "../net/index.ts";
import { createSocketApi, type SocketApi } from "../sockets/api.ts";
import type { Clock } from "../stack/clock.ts";
import type { Stack } from "../stack/stack.ts";

export interface Faces {
  readonly sockets: SocketApi;
  readonly net: Net;
}

export function createFaces(stack: Stack, clock: Clock, kick: () => void): Faces {
  const sockets = createSocketApi(stack, clock, kick);
  return { sockets, net: createNet(sockets) };
}
