/**
 * The gateway tests' topology, all in namespaces made here and deleted afterwards:
 *
 *   inner ns            gateway ns                     server ns
 *   10.0.2.100 ─tun0─▶  gateway process  198.18.0.1 ─veth─ 198.18.0.2 (servers, dnsmasq)
 *                       (ours, slirp4netns or pasta)    everything routed to the server
 *                                                       ns; 198.19.0.1 is a black hole there
 *
 * The gateway process runs in the gateway namespace (ip netns exec); its resolv.conf
 * (/etc/netns/GW/resolv.conf) names the server, so DNS relays to dnsmasq there.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { type Netns, withNetns } from "./netns.ts";

export type GatewayKind = "tstcp" | "slirp4netns" | "pasta";

export interface GatewayTopology {
  readonly inner: Netns;
  readonly gw: Netns;
  readonly server: Netns;
  /** The gateway process (ours or the reference one). */
  readonly process: Subprocess<"pipe", "pipe", "pipe">;
  /** Everything the gateway printed so far. */
  output(): string;
}

export const SERVER = "198.18.0.2";
export const GATEWAY_OUTSIDE = "198.18.0.1";
export const BLACK_HOLE = "198.19.0.1";

async function must(ns: Netns, command: string[]): Promise<void> {
  const r = await ns.exec(command, { timeoutMs: 10_000 });
  if (r.exitCode !== 0) throw new Error(`${command.join(" ")} in ${ns.name}: ${r.stderr}`);
}

/** Collects a child's stdout+stderr and resolves when `pattern` shows up in it. */
export function collect(child: Subprocess<"pipe", "pipe", "pipe">): {
  text: () => string;
  waitFor: (p: RegExp, ms: number) => Promise<void>;
} {
  let text = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk);
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(text)) w.resolve();
        else waiters.push(w);
      }
    }
  };
  void pump(child.stdout);
  void pump(child.stderr);
  return {
    text: () => text,
    waitFor: (pattern, ms) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(text)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`gateway did not print ${pattern} in ${ms} ms:\n${text}`)),
          ms,
        );
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ pattern, resolve: done });
      }),
  };
}

export async function withGatewayTopology<T>(
  kind: GatewayKind,
  extraArgs: string[],
  body: (t: GatewayTopology) => Promise<T>,
): Promise<T> {
  return withNetns("gwin", (inner) =>
    withNetns("gwgw", (gw) =>
      withNetns("gwsrv", async (server) => {
        await must(gw, [
          "ip",
          "link",
          "add",
          "vgw",
          "type",
          "veth",
          "peer",
          "name",
          "vsrv",
          "netns",
          server.name,
        ]);
        await must(gw, ["ip", "addr", "add", `${GATEWAY_OUTSIDE}/24`, "dev", "vgw"]);
        await must(gw, ["ip", "link", "set", "vgw", "up"]);
        await must(gw, ["ip", "route", "add", "default", "via", SERVER]);
        await must(server, ["ip", "addr", "add", `${SERVER}/24`, "dev", "vsrv"]);
        await must(server, ["ip", "link", "set", "vsrv", "up"]);
        await must(server, ["ip", "route", "add", "default", "via", GATEWAY_OUTSIDE]);
        const etc = `/etc/netns/${gw.name}`;
        mkdirSync(etc, { recursive: true });
        writeFileSync(`${etc}/resolv.conf`, `nameserver ${SERVER}\n`);
        let child: Subprocess<"pipe", "pipe", "pipe"> | undefined;
        try {
          child = startGateway(kind, inner, gw, extraArgs);
          const out = collect(child);
          await waitReady(kind, inner, out.waitFor);
          return await body({ inner, gw, server, process: child, output: out.text });
        } finally {
          if (child !== undefined) await stopGateway(child, inner);
          rmSync(etc, { recursive: true, force: true });
        }
      }),
    ),
  );
}

/**
 * SIGTERM, so the gateway closes as a user's Ctrl-C would; then whatever it left of the
 * inner namespace's /etc/netns/NAME (its resolv.conf) goes, also after a SIGKILL.
 */
export async function stopGateway(child: Subprocess, inner: Netns): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await Promise.race([child.exited, Bun.sleep(5000)]);
  rmSync(`/etc/netns/${inner.name}`, { recursive: true, force: true });
}

function startGateway(
  kind: GatewayKind,
  inner: Netns,
  gw: Netns,
  extra: string[],
): Subprocess<"pipe", "pipe", "pipe"> {
  const path = `/var/run/netns/${inner.name}`;
  if (kind === "tstcp")
    return gw.spawnBun("examples/host.ts", ["--gateway", "--netns", inner.name, ...extra]);
  if (kind === "slirp4netns") {
    return gw.spawn([
      "slirp4netns",
      "--netns-type=path",
      "--configure",
      "--mtu=65520",
      "--disable-host-loopback",
      path,
      "tap0",
      ...extra,
    ]);
  }
  // pasta: -f foreground, IPv4 only, stays root (it could not enter the namespace as
  // nobody); --config-net configures the namespace's side with slirp-like addresses.
  return gw.spawn([
    "pasta",
    "-f",
    "-4",
    "--runas",
    "0",
    "--config-net",
    "-a",
    "10.0.2.100",
    "-n",
    "24",
    "-g",
    "10.0.2.2",
    "--dns-forward",
    "10.0.2.3",
    "--netns",
    path,
    ...extra,
  ]);
}

async function waitReady(
  kind: GatewayKind,
  inner: Netns,
  waitFor: (p: RegExp, ms: number) => Promise<void>,
): Promise<void> {
  if (kind === "tstcp") return waitFor(/tstcp gateway:/, 30_000);
  // The references print nothing useful: wait until the default route is in place.
  for (let i = 0; i < 100; i++) {
    const r = await inner.exec(["ip", "route", "show", "default"]);
    if (r.stdout.includes("default")) return;
    await Bun.sleep(100);
  }
  throw new Error(`${kind} did not configure the inner namespace`);
}
