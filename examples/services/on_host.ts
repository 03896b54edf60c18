/**
 * What `bun run start` adds on top of a bare host (`examples/host.ts` `startHost`): the
 * socket API, the sample services, the banner that says what to try, the `ss`-like view
 * on SIGUSR1, and an orderly stop. One call, so the host program stays short:
 *
 *   const host = startHost(args);
 *   const services = serveOnHost(host, args.services);
 *   console.log(services.banner());
 *   ...on SIGINT: await services.stop(); await host.close();
 */
import type { Driver } from "../../device/driver.ts";
import { createSocketApi, type SocketApi } from "../../sockets/api.ts";
import { formatIpv4 } from "../../stack/address.ts";
import type { Clock } from "../../stack/clock.ts";
import type { Stack } from "../../stack/stack.ts";
import { formatSs } from "../ss.ts";
import {
  type RunningServices,
  SERVICE_NAMES,
  type ServiceName,
  startServices,
} from "./services.ts";

export interface ServedHost {
  readonly stack: Stack;
  readonly clock: Clock;
  readonly driver: Pick<Driver, "kick">;
}

export interface HostServices {
  readonly api: SocketApi;
  readonly services: RunningServices;
  /**
   * The first line a person sees: "tstcp: 10.0.0.2/24 is up{where}: icmp echo, echo tcp/7
   * udp/7, ...; try: ping 10.0.0.2, curl http://10.0.0.2/, nc 10.0.0.2 7".
   */
  banner(where?: string): string;
  /** The connection table and counters, as SIGUSR1 prints them. */
  ss(): string;
  /** Stop accepting, FIN every connection, RST what is left after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** `api`: the host's socket API when it already has one (the library's createHost). */
export function serveOnHost(
  host: ServedHost,
  names: readonly ServiceName[] = SERVICE_NAMES,
  api: SocketApi = createSocketApi(host.stack, host.clock, host.driver.kick),
): HostServices {
  const services = startServices(api, { services: names, clock: host.clock, stack: host.stack });
  const address = formatIpv4(host.stack.address);
  const ss = () => formatSs(host.stack, host.clock.now(), services.running);
  const removeSignal = onSignal("SIGUSR1", () => process.stdout.write(ss()));
  return {
    api,
    services,
    banner(where = "") {
      const running = services.describe();
      const tries = [`ping ${address}`];
      if (names.includes("http")) tries.push(`curl http://${address}/`);
      if (names.includes("echo")) tries.push(`nc ${address} 7`);
      const { stack } = host;
      const v6 = stack.hasIpv6 ? stack.address6 : undefined;
      if (v6 !== undefined) {
        tries.push(`ping -6 ${v6}`);
        if (names.includes("http")) tries.push(`curl -g 'http://[${v6}]/'`);
      }
      const addresses = `${address}/${stack.prefixLength}${v6 === undefined ? "" : ` ${v6}/${stack.prefixLength6}`}`;
      return `tstcp: ${addresses} is up${where}: icmp echo${running ? `, ${running}` : ""}; try: ${tries.join(", ")} (SIGUSR1: connection table)`;
    },
    ss,
    async stop(graceMs = 1000) {
      removeSignal();
      await services.stop(graceMs);
    },
  };
}

function onSignal(signal: NodeJS.Signals, handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}
