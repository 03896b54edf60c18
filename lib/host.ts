/**
 * `createHost(options)`: the library's entry to a host on a TUN device. The options are
 * the command line's flags by name (`tun`, `address`, `host`, `mtu`, `pcap`, `trace`,
 * `offload`, `services`), checked by the same parser (examples/cli_args.ts), so a
 * mistake gets the same sentence; the host is set up by the same code (lib/tun_host.ts).
 * Unlike the command line it starts no services unless `services` names some.
 *
 * @example
 * const host = createHost({ tun: "tun0", address: "10.0.0.2/24", host: "10.0.0.1" });
 * host.net.createServer((socket) => socket.pipe(socket)).listen(7);
 * // ... later
 * await host.close();
 */
import { type HostArgs, parseHostArgs, usage } from "../examples/cli_args.ts";
import { serveOnHost } from "../examples/services/on_host.ts";
import type { ServiceName } from "../examples/services/services.ts";
import type { Net } from "../net/index.ts";
import type { SocketApi } from "../sockets/api.ts";
import type { Clock } from "../stack/clock.ts";
import type { Stack } from "../stack/stack.ts";
import { createFaces } from "./faces.ts";
import { startHost } from "./tun_host.ts";

/** The command line's flags as options: `{ address: "10.0.0.2/24" }` is `--address 10.0.0.2/24`. */
export interface HostOptions {
  /** TUN interface name (default tun0). */
  tun?: string;
  /** The stack's own address with its prefix (default "10.0.0.2/24"). */
  address?: string;
  /** The kernel side's address, in the same subnet (default "10.0.0.1"). */
  host?: string;
  /** The stack's IPv6 address with its prefix (default "fd00::2/64"). */
  address6?: string;
  /** The kernel side's IPv6 address (default "fd00::1"). */
  host6?: string;
  /** false: IPv4 only (--no-ipv6); the host is dual-stack by default. */
  ipv6?: boolean;
  mtu?: number;
  /** Record every packet to this pcap file. */
  pcap?: string;
  /** Print every packet, state transition and drop. */
  trace?: boolean;
  /** TUN offloads (IFF_VNET_HDR, TSO): true requires them, false refuses them; default: used when the kernel allows. */
  offload?: boolean;
  /** Demo services to start ("echo", "discard", "http", ...); none by default. */
  services?: readonly ServiceName[];
  /** Any flag the command line gained later, by its name without "--". */
  [flag: string]: string | number | boolean | readonly string[] | undefined;
}

/** A running host: its two faces, its stack, and how to stop it. */
export interface TcpHost {
  /** The `node:net` face. */
  readonly net: Net;
  /** The BSD-style socket API. */
  readonly sockets: SocketApi;
  readonly stack: Stack;
  readonly clock: Clock;
  /** Stops the services, the driver, and removes the interface. Idempotent. */
  close(): Promise<void>;
}

/** Turns options into the command line they stand for, and parses it as the CLI does. */
export function hostArgsFromOptions(options: HostOptions = {}): HostArgs {
  const argv: string[] = [];
  const known = usage();
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    // false is the flag's "--no-" form where the command line has one (--no-offload),
    // else the default.
    if (value === false) {
      if (known.includes(`--no-${flag.slice(2)} `)) argv.push(`--no-${flag.slice(2)}`);
    } else if (value === true) argv.push(flag);
    else argv.push(flag, Array.isArray(value) ? value.join(",") : String(value));
  }
  // The library starts no services unless asked; the command line starts them all.
  if (options.services === undefined) argv.push("--services", "");
  const parsed = parseHostArgs(argv);
  if (parsed.kind === "error") throw new TypeError(parsed.message);
  if (parsed.kind === "help") throw new TypeError("help is not an option of createHost");
  return parsed.args;
}

/** Opens the TUN and starts the stack. Needs root; throws DeviceError if the TUN cannot open. */
export function createHost(options: HostOptions = {}): TcpHost {
  const args = hostArgsFromOptions(options);
  const host = startHost(args);
  const faces = createFaces(host.stack, host.clock, host.driver.kick);
  const services =
    args.services.length > 0 ? serveOnHost(host, args.services, faces.sockets) : undefined;
  let closing: Promise<void> | undefined;
  return {
    ...faces,
    stack: host.stack,
    clock: host.clock,
    close: () =>
      (closing ??= (async () => {
        await services?.stop(1000);
        await host.close();
      })()),
  };
}
