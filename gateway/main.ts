/**
 * `bun run start -- --gateway --netns box`: give namespace `box` its network through
 * our stack. Opens tun0 here, moves it into `box` and configures it there with slirp's
 * addresses (10.0.2.100/24, default route via 10.0.2.2, DNS 10.0.2.3), as slirp4netns
 * does; the TUN's file descriptor stays ours after the move. The host sockets stay in
 * the namespace this process runs in.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { Device } from "../device/device.ts";
import { attachDriver } from "../device/driver.ts";
import { DeviceError } from "../device/libc.ts";
import { PcapWriter, withPcap } from "../device/pcap.ts";
import { RealClock } from "../device/real_clock.ts";
import { systemEntropy } from "../device/system_entropy.ts";
import { TextTrace } from "../device/text_trace.ts";
import { Tun } from "../device/tun.ts";
import { startFromCommandLine } from "../examples/cli_args.ts";
import { serveOnHost } from "../examples/services/on_host.ts";
import { createSocketApi } from "../sockets/api.ts";
import { formatIpv4 } from "../stack/address.ts";
import { Stack } from "../stack/stack.ts";
import { type GatewayArgs, parseGatewayArgs } from "./cli.ts";
import { Gateway } from "./gateway.ts";

export interface RunningGateway {
  readonly args: GatewayArgs;
  readonly gateway: Gateway;
  readonly stack: Stack;
  readonly tun: Tun;
  close(): Promise<void>;
}

export function startGateway(args: GatewayArgs): RunningGateway {
  const { config } = args;
  const clock = new RealClock();
  const inner = `${formatIpv4(config.innerAddress)}/${config.prefixLength}`;
  // Without --netns the kernel side is configured here; with it, after the move.
  const tun = Tun.open({
    name: args.tun,
    mtu: args.mtu,
    ...(args.netns === undefined ? { address: inner } : {}),
  });
  let resolvConf: string | undefined;
  try {
    if (args.netns !== undefined)
      resolvConf = moveIntoNamespace(tun.name, args.netns, inner, config);
  } catch (error) {
    void tun.close();
    throw new DeviceError(
      "EINVAL",
      `Cannot move ${tun.name} into namespace ${args.netns}: ${(error as Error).message}`,
    );
  }
  const trace = args.trace ? new TextTrace() : undefined;
  const gateway = new Gateway(
    config,
    trace === undefined ? undefined : (line) => console.log(line),
  );
  const stack = new Stack({
    address: config.gatewayAddress,
    prefixLength: config.prefixLength,
    mtu: args.mtu,
    entropy: systemEntropy,
    tcp: { ackPerBurst: true },
    // The TUN's offloads, as the demo host uses them: TCP leaves checksums and segmentation to it.
    offload: tun.capabilities.offload,
    forwarder: gateway,
    ...(trace === undefined ? {} : { trace }),
  });
  const device: Device =
    args.pcap === undefined ? tun : withPcap(tun, PcapWriter.toFile(args.pcap), clock);
  const driver = attachDriver(stack, device, clock);
  const api = createSocketApi(stack, clock, driver.kick);
  gateway.attach({ stack, api, now: () => clock.now(), kick: driver.kick });
  const services = serveOnHost({ stack, clock, driver }, args.services);
  const onUsr1 = () => process.stdout.write(gateway.report(clock.now()));
  process.on("SIGUSR1", onUsr1);
  let closing: Promise<void> | undefined;
  return {
    args,
    gateway,
    stack,
    tun,
    close: () =>
      (closing ??= (async () => {
        process.off("SIGUSR1", onUsr1);
        gateway.close();
        await services.stop(200);
        await driver.close();
        if (resolvConf !== undefined) rmSync(resolvConf, { force: true });
      })()),
  };
}

/**
 * ip link set tun0 netns NAME; then in NAME: the address, up, the default route via
 * the gateway; /etc/netns/NAME/resolv.conf (what `ip netns exec` shows as
 * /etc/resolv.conf) names the DNS relay unless one is there. Returns that file if made.
 */
function moveIntoNamespace(
  name: string,
  netns: string,
  inner: string,
  config: GatewayArgs["config"],
): string | undefined {
  const ip = (...argv: string[]) =>
    execFileSync("ip", argv, { stdio: ["ignore", "ignore", "pipe"] });
  ip("link", "set", "dev", name, "netns", netns);
  // IPv6 is not carried through the gateway yet: the interface does not speak it.
  execFileSync(
    "ip",
    ["netns", "exec", netns, "sysctl", "-qw", `net.ipv6.conf.${name}.disable_ipv6=1`],
    {
      stdio: "ignore",
    },
  );
  ip("-n", netns, "addr", "add", inner, "dev", name);
  ip("-n", netns, "link", "set", "dev", name, "up");
  ip("-n", netns, "link", "set", "dev", "lo", "up");
  ip("-n", netns, "route", "add", "default", "via", formatIpv4(config.gatewayAddress), "dev", name);
  const dir = `/etc/netns/${netns}`;
  const file = `${dir}/resolv.conf`;
  if (existsSync(file)) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `nameserver ${formatIpv4(config.dnsAddress)}\n`);
    return file;
  } catch {
    return undefined; // read-only /etc: the namespace keeps the host's resolv.conf
  }
}

export async function gatewayMain(argv: readonly string[]): Promise<number> {
  const running = startFromCommandLine(parseGatewayArgs(argv), startGateway);
  if (typeof running === "number") return running;
  const { config, netns } = running.args;
  const where = netns === undefined ? "this namespace" : `namespace ${netns}`;
  console.log(
    `tstcp gateway: ${running.tun.name} in ${where} as ${formatIpv4(config.innerAddress)}/${config.prefixLength}, ` +
      `gateway ${formatIpv4(config.gatewayAddress)}, DNS ${formatIpv4(config.dnsAddress)}; ` +
      `${config.forwards.map((f) => `forward ${f.protocol} ${f.hostAddress}:${f.hostPort} -> ${f.innerPort}`).join(", ") || "no forwards"} (SIGUSR1: NAT table)`,
  );
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.once("SIGINT", () => process.exit(1));
  process.once("SIGTERM", () => process.exit(1));
  console.log(`${signal}: closing the gateway`);
  await running.close();
  return 0;
}

if (import.meta.main) {
  process.exit(await gatewayMain(process.argv.slice(2)));
}
