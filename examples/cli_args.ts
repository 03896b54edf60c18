/**
 * Command-line arguments of `bun run start` (`examples/host.ts`), checked before anything
 * is opened, so that every mistake gets one sentence and exit code 2, not a stack trace.
 *
 * Each option is one entry in `OPTIONS`: its help line and how it sets `HostArgs`. To
 * add an option, add a field to `HostArgs`, its default to `defaults()`, and an entry.
 *
 * @example
 * parseHostArgs(["--tun", "tun1", "--address", "10.1.0.2/24", "--host", "10.1.0.1"])
 * // { kind: "run", args: { tun: "tun1", address: 0x0a010002, prefixLength: 24, ... } }
 */
import { DeviceError } from "../device/libc.ts";
import { formatIpv4, netmask, parseCidr, parseIpv4, sameSubnet } from "../stack/address.ts";
import {
  type Ipv6Address,
  inIpv6Prefix,
  isLinkLocalIpv6,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  parseIpv6,
  parseIpv6Cidr,
} from "../stack/ipv6/address.ts";
import { parseServiceList, SERVICE_NAMES, type ServiceName } from "./services/services.ts";

export interface HostArgs {
  /** TUN interface name. */
  tun: string;
  /** The stack's own address and prefix length. */
  address: number;
  prefixLength: number;
  /** The kernel side's address (same subnet, different host). */
  host: number;
  /**
   * The stack's IPv6 address and prefix length, and the kernel side's; undefined with
   * --no-ipv6 (the host is then IPv4 only, and IPv6 is off on the TUN).
   */
  ipv6: { address: Ipv6Address; prefixLength: number; host: Ipv6Address } | undefined;
  mtu: number;
  /** Record every packet to this pcap file. */
  pcap: string | undefined;
  /** The services to run (ICMP echo is always on). */
  services: ServiceName[];
  /** Print one line per packet, TCP state transition and drop. */
  trace: boolean;
  /**
   * The TUN's IFF_VNET_HDR with TSO/checksum offload (device/offload.ts): true requires it,
   * false turns it off, undefined (the default) uses it when the kernel allows.
   */
  offload: boolean | undefined;
  /** Serve the live inspector (inspector/) on this host socket; absent: no inspector. */
  inspect?: { hostname: string; port: number };
  /** Also serve echo on Unix-domain sockets in this directory (DIR/echo.sock, DIR/echo.dgram). */
  unix?: string;
}

export type ParsedArgs =
  | { kind: "run"; args: HostArgs }
  | { kind: "help"; text: string }
  | { kind: "error"; message: string };

function defaults(): HostArgs {
  return {
    tun: "tun0",
    address: parseIpv4("10.0.0.2")!,
    prefixLength: 24,
    host: parseIpv4("10.0.0.1")!,
    // RFC 4193 unique local addresses: fd00::/8, never routed beyond the site.
    ipv6: { address: parseIpv6("fd00::2")!, prefixLength: 64, host: parseIpv6("fd00::1")! },
    mtu: 1500,
    pcap: undefined,
    services: [...SERVICE_NAMES],
    trace: false,
    offload: undefined,
  };
}

interface OptionSpec {
  /** The value's placeholder in the help text; undefined for a flag without a value. */
  value?: string;
  help: string;
  /** Stores the value into `args`, or returns the sentence saying what is wrong with it. */
  apply(args: HostArgs, value: string): string | undefined;
}

/** A flag without a value: it sets one field of `HostArgs` to one value. */
function flag<K extends keyof HostArgs>(help: string, key: K, value: HostArgs[K]): OptionSpec {
  return {
    help,
    apply(args) {
      args[key] = value;
      return undefined;
    },
  };
}

const OPTIONS: Record<string, OptionSpec> = {
  "--tun": {
    value: "NAME",
    help: "TUN interface to create (default tun0)",
    apply(args, value) {
      const bytes = new TextEncoder().encode(value).byteLength;
      if (bytes === 0 || bytes > 15 || /[/:\s]/.test(value)) {
        return `--tun ${value} is not a valid interface name: use 1 to 15 characters without "/", ":" or spaces.`;
      }
      args.tun = value;
      return undefined;
    },
  },
  "--address": {
    value: "CIDR",
    help: "the stack's own address and prefix (default 10.0.0.2/24)",
    apply(args, value) {
      const cidr = parseCidr(value);
      if (cidr === undefined || cidr.prefixLength < 1 || cidr.prefixLength > 30) {
        return `--address ${value} is not an IPv4 address with a prefix length of 1 to 30, like 10.0.0.2/24.`;
      }
      args.address = cidr.address;
      args.prefixLength = cidr.prefixLength;
      return undefined;
    },
  },
  "--host": {
    value: "ADDRESS",
    help: "the kernel side's address, in the same subnet (default 10.0.0.1)",
    apply(args, value) {
      const address = parseIpv4(value);
      if (address === undefined) return `--host ${value} is not an IPv4 address, like 10.0.0.1.`;
      args.host = address;
      return undefined;
    },
  },
  "--address6": {
    value: "CIDR",
    help: "the stack's own IPv6 address and prefix (default fd00::2/64)",
    apply(args, value) {
      const cidr = parseIpv6Cidr(value);
      if (cidr === undefined || cidr.prefixLength < 1 || cidr.prefixLength > 126) {
        return `--address6 ${value} is not an IPv6 address with a prefix length of 1 to 126, like fd00::2/64.`;
      }
      const host = args.ipv6?.host ?? parseIpv6("fd00::1")!;
      args.ipv6 = { address: cidr.address, prefixLength: cidr.prefixLength, host };
      return undefined;
    },
  },
  "--host6": {
    value: "ADDRESS",
    help: "the kernel side's IPv6 address, in the same prefix (default fd00::1)",
    apply(args, value) {
      const address = parseIpv6(value);
      if (address === undefined) return `--host6 ${value} is not an IPv6 address, like fd00::1.`;
      const own = args.ipv6 ?? { address: parseIpv6("fd00::2")!, prefixLength: 64 };
      args.ipv6 = { ...own, host: address };
      return undefined;
    },
  },
  "--no-ipv6": flag(
    "IPv4 only: no IPv6 address, and IPv6 turned off on the TUN",
    "ipv6",
    undefined,
  ),
  "--mtu": {
    value: "BYTES",
    help: "MTU of the link, 68 to 65535 (default 1500)",
    apply(args, value) {
      const mtu = Number(value);
      // RFC 791 §3.2: every internet module must handle 68-octet datagrams.
      if (!/^[0-9]+$/.test(value) || mtu < 68 || mtu > 65535) {
        return `--mtu ${value} is out of range: it must be a whole number from 68 to 65535.`;
      }
      args.mtu = mtu;
      return undefined;
    },
  },
  "--pcap": {
    value: "FILE",
    help: "record every packet in both directions to FILE (open it with Wireshark)",
    apply(args, value) {
      args.pcap = value;
      return undefined;
    },
  },
  "--services": {
    value: "LIST",
    help: `services to run, comma-separated (default ${SERVICE_NAMES.join(",")}; ICMP echo is always on)`,
    apply(args, value) {
      try {
        args.services = parseServiceList(value);
      } catch (error) {
        return `--services ${value}: ${(error as Error).message}.`;
      }
      return undefined;
    },
  },
  "--trace": flag(
    "print each packet in and out, each TCP state transition and each drop",
    "trace",
    true,
  ),
  "--offload": flag(
    "require the TUN offloads: 64 KB TCP segments both ways (IFF_VNET_HDR, TSO; default: used when the kernel allows)",
    "offload",
    true,
  ),
  "--unix": {
    value: "DIR",
    help: "also serve echo on Unix-domain sockets DIR/echo.sock (stream) and DIR/echo.dgram",
    apply(args, value) {
      // unix(7): sun_path holds 107 bytes and a NUL; "/echo.dgram" is the longer name.
      const bytes = new TextEncoder().encode(`${value}/echo.dgram`).byteLength;
      if (value === "" || bytes > 107) {
        return `--unix ${value} is too long for a Unix-domain socket: DIR/echo.dgram must fit in 107 bytes.`;
      }
      args.unix = value;
      return undefined;
    },
  },
  "--no-offload": flag(
    "the plain TUN: one packet per read and write, checksums computed here",
    "offload",
    false,
  ),
  "--inspect": {
    value: "[ADDR:]PORT",
    help: "serve the live inspector on this host address (default 127.0.0.1) and port",
    apply(args, value) {
      const inspect = parseListenAddress(value);
      if (inspect === undefined) {
        return `--inspect ${value} is not a port or an ADDRESS:PORT, like 8080 or 127.0.0.1:8080.`;
      }
      args.inspect = inspect;
      return undefined;
    },
  },
  "--help": {
    help: "show this help",
    apply: () => undefined,
  },
};

export function usage(): string {
  const lines = [
    "Usage: bun run start [options]",
    "",
    "A userspace TCP/IP stack on a TUN device.",
    "",
  ];
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const left = spec.value === undefined ? name : `${name} ${spec.value}`;
    lines.push(`  ${left.padEnd(20)} ${spec.help}`);
  }
  return lines.join("\n");
}

/** Parses `--name value` and `--name=value`; checks each value, then how they fit together. */
export function parseHostArgs(argv: readonly string[]): ParsedArgs {
  const args = defaults();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const equals = word.indexOf("=");
    const name = equals > 0 ? word.slice(0, equals) : word;
    const spec = OPTIONS[name];
    if (spec === undefined)
      return { kind: "error", message: `Unknown option ${name}: see --help.` };
    if (name === "--help") return { kind: "help", text: usage() };
    if (spec.value === undefined) {
      spec.apply(args, "");
      continue;
    }
    const value = equals > 0 ? word.slice(equals + 1) : argv[++i];
    if (value === undefined)
      return { kind: "error", message: `${name} needs a value (${spec.value}).` };
    const problem = spec.apply(args, value);
    if (problem !== undefined) return { kind: "error", message: problem };
  }
  const problem = checkSubnet(args) ?? checkPrefix6(args);
  return problem === undefined ? { kind: "run", args } : { kind: "error", message: problem };
}

/** "8080", "0.0.0.0:8080", "[::1]:8080": where the inspector listens (loopback by default). */
export function parseListenAddress(value: string): { hostname: string; port: number } | undefined {
  const match = /^(?:(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):)?([0-9]{1,5})$/.exec(value);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  const host = match[1] ?? "127.0.0.1";
  if (/^[0-9.]+$/.test(host) && parseIpv4(host) === undefined) return undefined;
  return { hostname: host.replace(/^\[|\]$/g, ""), port };
}

/** The stack and the kernel side must be two different hosts of one subnet. */
function checkSubnet(args: HostArgs): string | undefined {
  const mask = netmask(args.prefixLength);
  const subnet = `${formatIpv4((args.address & mask) >>> 0)}/${args.prefixLength}`;
  const isHostAddress = (address: number) => {
    const hostBits = (address & ~mask) >>> 0;
    return hostBits !== 0 && hostBits !== ~mask >>> 0;
  };
  if (!isHostAddress(args.address)) {
    return `--address ${formatIpv4(args.address)} is the network or broadcast address of ${subnet}: choose a host address.`;
  }
  if (!sameSubnet(args.address, args.host, args.prefixLength)) {
    return `--host ${formatIpv4(args.host)} is not in ${subnet}, the subnet of --address ${formatIpv4(args.address)}/${args.prefixLength}.`;
  }
  if (!isHostAddress(args.host)) {
    return `--host ${formatIpv4(args.host)} is the network or broadcast address of ${subnet}: choose a host address.`;
  }
  if (args.address === args.host) {
    return `--host and --address must be different hosts, but both are ${formatIpv4(args.host)}.`;
  }
  return undefined;
}

/** The IPv6 addresses: two different unicast hosts of one prefix (RFC 4291 §2.5). */
function checkPrefix6(args: HostArgs): string | undefined {
  const v6 = args.ipv6;
  if (v6 === undefined) return undefined;
  // --no-ipv6 given before --address6/--host6 turns it back on; the flags' order decides.
  for (const [flag, address] of [
    ["--address6", v6.address],
    ["--host6", v6.host],
  ] as const) {
    if (isUnspecifiedIpv6(address) || isMulticastIpv6(address) || isLinkLocalIpv6(address)) {
      return `${flag} ${address} is not a unicast address a host can use here: choose one like fd00::2.`;
    }
  }
  if (!inIpv6Prefix(v6.host, v6.address, v6.prefixLength)) {
    return `--host6 ${v6.host} is outside ${v6.address}/${v6.prefixLength}: the kernel side must be in the stack's prefix.`;
  }
  if (v6.host === v6.address) {
    return `--host6 ${v6.host} is the stack's own address: the kernel side needs another.`;
  }
  return undefined;
}

/** What a command line parses to: the arguments to run with, the help, or one mistake. */
export type Parsed<A> =
  | { kind: "run"; args: A }
  | { kind: "help"; text: string }
  | { kind: "error"; message: string };

/**
 * The first steps every command here takes (the host and the gateway): print the help
 * (exit 0) or the mistake (exit 2), else `start`, whose DeviceError becomes its one
 * sentence and exit code 1. Returns what `start` made, or the exit code.
 */
export function startFromCommandLine<A, R extends object>(
  parsed: Parsed<A>,
  start: (args: A) => R,
): R | number {
  if (parsed.kind === "help") {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.kind === "error") {
    console.error(parsed.message);
    return 2;
  }
  try {
    return start(parsed.args);
  } catch (error) {
    if (!(error instanceof DeviceError)) throw error;
    console.error(error.message);
    return 1;
  }
}
