#!/usr/bin/env bun
/**
 * `bun run start`: one dual-stack host on a TUN device. The kernel gets one end of a
 * point-to-point link (`--host`, default 10.0.0.1, and `--host6`, fd00::1) and this
 * process is the other (`--address`, default 10.0.0.2, and `--address6`, fd00::2; IPv4
 * only with `--no-ipv6`), with every packet in between handled by our own stack:
 *
 *   ping/curl ─▶ kernel ─▶ tun0 ─▶ Tun (device/tun.ts) ─▶ driver ─▶ Stack (stack/stack.ts)
 *
 * `startHost` (lib/tun_host.ts, shared with the library's `createHost`) wires device,
 * stack, clock and driver; `main` adds the command line, the services, logging and signals.
 *
 * Run as root: sudo bun run start -- --tun tun0 --address 10.0.0.2/24 --host 10.0.0.1
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Tun } from "../device/tun.ts";
import { startInspector } from "../inspector/server.ts";
import { type Host, startHost } from "../lib/tun_host.ts";
import { formatIpv4 } from "../stack/address.ts";
import { type HostArgs, parseHostArgs, startFromCommandLine } from "./cli_args.ts";
import { startEchoUnix } from "./services/echo.ts";
import { serveOnHost } from "./services/on_host.ts";
import type { RunningService } from "./services/service.ts";

export { type Host, startHost };

/** "10.0.0.1 and fd00::1", or the IPv4 address alone with --no-ipv6. */
function kernelSide(args: HostArgs): string {
  const v4 = formatIpv4(args.host);
  return args.ipv6 === undefined ? v4 : `${v4} and ${args.ipv6.host}`;
}

/** One line every `intervalMs` while traffic flows: "packets: 12 in, 12 out". */
function logPacketCounts(tun: Tun, intervalMs: number): () => void {
  let last = "";
  const line = () => `packets: ${tun.counters.packetsIn} in, ${tun.counters.packetsOut} out`;
  const timer = setInterval(() => {
    const now = line();
    if (now !== last) console.log(now);
    last = now;
  }, intervalMs);
  return () => {
    clearInterval(timer);
    console.log(line());
  };
}

/** Runs the host until SIGINT or SIGTERM; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const host = startFromCommandLine(parseHostArgs(argv), startHost);
  if (typeof host === "number") return host;
  const { args, tun } = host;
  const services = serveOnHost(host, args.services);
  let unix: RunningService[] = [];
  if (args.unix !== undefined) {
    try {
      mkdirSync(args.unix, { recursive: true });
      unix = await startEchoUnix(services.api, host.clock, args.unix);
    } catch (error) {
      console.error(`--unix ${args.unix}: ${(error as Error).message}`);
      await services.stop(0);
      await host.close();
      return 1;
    }
  }
  console.log(
    services.banner(` on ${tun.name} (kernel side ${kernelSide(args)}, MTU ${args.mtu})`),
  );
  const inspector =
    host.recorder === undefined || args.inspect === undefined
      ? undefined
      : await startInspector(
          {
            stack: host.stack,
            clock: host.clock,
            recorder: host.recorder,
            listening: () => services.services.running,
          },
          args.inspect,
        );
  if (inspector !== undefined) console.log(`inspector: ${inspector.url}`);
  if (tun.offloadFallback !== undefined) {
    console.log(`TUN offloads unavailable, using the plain TUN: ${tun.offloadFallback}`);
  }
  if (args.unix !== undefined) {
    const stream = join(args.unix, "echo.sock");
    console.log(
      `tstcp: echo on Unix-domain sockets ${stream} and ${join(args.unix, "echo.dgram")}; try: nc -U ${stream}`,
    );
  }
  // With --trace every packet is already on the terminal; the counts would only interleave.
  const stopLogging = args.trace ? () => {} : logPacketCounts(tun, 10_000);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  // A second signal while closing means "now": leave at once.
  const hurry = () => process.exit(1);
  process.once("SIGINT", hurry);
  process.once("SIGTERM", hurry);
  console.log(`${signal}: closing connections and ${tun.name}`);
  stopLogging();
  inspector?.stop();
  // Stop accepting, FIN every connection, RST what is left after a short grace.
  await Promise.all([services.stop(1000), ...unix.map((service) => service.stop(1000))]);
  await host.close();
  return 0;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  // --gateway: the stack as a namespace's user-mode network (gateway/main.ts).
  if (argv.includes("--gateway"))
    process.exit(await (await import("../gateway/main.ts")).gatewayMain(argv));
  process.exit(await main(process.argv.slice(2)));
}
