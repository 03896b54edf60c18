/**
 * Starts the sample services beside the stack, each a small program on the socket API:
 *
 *   echo     TCP and UDP port 7   (RFC 862)   echo.ts
 *   discard  TCP and UDP port 9   (RFC 863)   discard.ts
 *   chargen  TCP and UDP port 19  (RFC 864)   chargen.ts
 *   http     TCP port 80          (RFC 9110)  ../http/server.ts
 *
 * ICMP echo (ping) needs no service: the stack answers it itself.
 *
 * @example
 * const running = startServices(api, { services: ["echo", "http"], clock, stack });
 * ...
 * await running.stop(); // FIN to every client, RST after a grace period
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import type { Stack } from "../../stack/stack.ts";
import { startHttpServer } from "../http/server.ts";
import { startChargenTcp, startChargenUdp } from "./chargen.ts";
import { startDiscardTcp, startDiscardUdp } from "./discard.ts";
import { startEchoTcp, startEchoUdp } from "./echo.ts";
import type { RunningService } from "./service.ts";

export const SERVICE_NAMES = ["echo", "discard", "chargen", "http"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface StartServicesOptions {
  services?: readonly ServiceName[];
  clock: Clock;
  stack: Stack;
  /** Port overrides, e.g. `{ http: 8080 }`; the well-known ports by default. */
  ports?: Partial<Record<ServiceName, number>>;
  /** Options for the HTTP server's timers. */
  http?: { headerTimeoutMs?: number; idleTimeoutMs?: number };
}

export interface RunningServices {
  readonly running: readonly RunningService[];
  /** One line for the banner: "echo tcp/7 udp/7, discard tcp/9 udp/9, ...". */
  describe(): string;
  /** Stops every service: no more accepts, FIN to each client, RST after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Parses "--services echo,http"; throws a readable error for an unknown name. */
export function parseServiceList(text: string): ServiceName[] {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown service "${name}" (known: ${SERVICE_NAMES.join(", ")})`);
    }
  }
  return names as ServiceName[];
}

export function startServices(api: SocketApi, options: StartServicesOptions): RunningServices {
  const { clock, stack } = options;
  const names = options.services ?? SERVICE_NAMES;
  const port = (name: ServiceName, wellKnown: number) => options.ports?.[name] ?? wellKnown;
  const running: RunningService[] = [];
  const table = () =>
    running.map(({ name, protocol, port, address }) => ({ name, protocol, port, address }));
  for (const name of names) {
    if (name === "echo")
      running.push(startEchoTcp(api, clock, port(name, 7)), startEchoUdp(api, port(name, 7)));
    if (name === "discard") {
      running.push(startDiscardTcp(api, clock, port(name, 9)), startDiscardUdp(api, port(name, 9)));
    }
    if (name === "chargen") {
      running.push(
        startChargenTcp(api, clock, port(name, 19)),
        startChargenUdp(api, port(name, 19)),
      );
    }
    if (name === "http") {
      running.push(
        startHttpServer({
          api,
          stack,
          clock,
          port: port(name, 80),
          services: table,
          ...options.http,
        }),
      );
    }
  }
  return {
    running,
    describe() {
      const byName = new Map<string, string[]>();
      for (const s of running)
        byName.set(s.name, [...(byName.get(s.name) ?? []), `${s.protocol}/${s.port}`]);
      return [...byName].map(([name, ports]) => `${name} ${ports.join(" ")}`).join(", ");
    },
    async stop(graceMs = 1000) {
      await Promise.all(running.map((service) => service.stop(graceMs)));
    },
  };
}
