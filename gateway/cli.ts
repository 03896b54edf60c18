/**
 * `bun run start -- --gateway ...`: the gateway's command line, checked before anything
 * is opened (one sentence and exit code 2 per mistake, as examples/cli_args.ts does).
 *
 * @example
 * parseGatewayArgs(["--gateway", "--netns", "box", "--forward", "tcp:8080:80"])
 */

import { parseServiceList, type ServiceName } from "../examples/services/services.ts";
import { parseCidr, parseIpv4 } from "../stack/address.ts";
import { defaultGatewayConfig, type GatewayConfig } from "./config.ts";
import { parseRule } from "./firewall.ts";
import { parseForward } from "./forwards.ts";

export interface GatewayArgs {
  config: GatewayConfig;
  tun: string;
  /** Move tun0 into this namespace and configure it there. */
  netns: string | undefined;
  mtu: number;
  trace: boolean;
  pcap: string | undefined;
  services: ServiceName[];
}

export type ParsedGatewayArgs =
  | { kind: "run"; args: GatewayArgs }
  | { kind: "help"; text: string }
  | { kind: "error"; message: string };

type Apply = (args: GatewayArgs, value: string) => string | undefined;

const OPTIONS: Record<string, { value?: string; help: string; apply: Apply }> = {
  "--gateway": { help: "run as a gateway (this mode)", apply: () => undefined },
  "--netns": {
    value: "NAME",
    help: "move tun0 into namespace NAME and configure it there",
    apply: (a, v) => void (a.netns = v),
  },
  "--tun": {
    value: "NAME",
    help: "TUN interface to create (default tun0)",
    apply: (a, v) => void (a.tun = v),
  },
  "--forward": {
    value: "tcp|udp:[ADDR:]HPORT:IPORT",
    help: "inbound forward from a host port to the namespace (repeatable)",
    apply(a, v) {
      const spec = parseForward(v);
      if (typeof spec === "string") return spec;
      a.config.forwards.push(spec);
      return undefined;
    },
  },
  "--allow": {
    value: "RULE",
    help: "allow [tcp:|udp:]ADDR[/LEN][:PORT] (first match wins)",
    apply: rule("allow"),
  },
  "--deny": {
    value: "RULE",
    help: "deny [tcp:|udp:]ADDR[/LEN][:PORT] (first match wins)",
    apply: rule("deny"),
  },
  "--allow-host-loopback": {
    help: "let the namespace reach this host's own addresses (off by default)",
    apply: (a) => void (a.config.allowHostLoopback = true),
  },
  "--dns-upstream": {
    value: "ADDR[:PORT]",
    help: "where 10.0.2.3 relays DNS (default: /etc/resolv.conf's first nameserver)",
    apply(a, v) {
      const [address, port = "53"] = v.split(":");
      if (parseIpv4(address ?? "") === undefined || !/^\d+$/.test(port))
        return `--dns-upstream ${v} is not ADDR[:PORT].`;
      a.config.dnsUpstream = { address: address!, port: Number(port) };
      return undefined;
    },
  },
  "--address": {
    value: "CIDR",
    help: "the gateway's own address (default 10.0.2.2/24)",
    apply(a, v) {
      const cidr = parseCidr(v);
      if (cidr === undefined)
        return `--address ${v} is not an IPv4 address with a prefix, like 10.0.2.2/24.`;
      a.config.gatewayAddress = cidr.address;
      a.config.prefixLength = cidr.prefixLength;
      return undefined;
    },
  },
  "--inner": {
    value: "ADDR",
    help: "the namespace's address (default 10.0.2.100)",
    apply: address("innerAddress"),
  },
  "--dns": {
    value: "ADDR",
    help: "the DNS relay's address (default 10.0.2.3)",
    apply: address("dnsAddress"),
  },
  "--mtu": {
    value: "BYTES",
    help: "MTU of tun0 (default 65520, as slirp4netns)",
    apply(a, v) {
      const mtu = Number(v);
      if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65520)
        return `--mtu ${v} is not 576 to 65520.`;
      a.mtu = mtu;
      return undefined;
    },
  },
  "--max-flows": { value: "N", help: "concurrent flows (default 4096)", apply: limit("maxFlows") },
  "--max-pending-connects": {
    value: "N",
    help: "host connects under way (default 256)",
    apply: limit("maxPendingConnects"),
  },
  "--flow-buffer": {
    value: "BYTES",
    help: "bytes held per TCP flow and direction (default 262144)",
    apply: limit("flowBufferBytes"),
  },
  "--socket-buffer": {
    value: "BYTES",
    help: "SO_SNDBUF/SO_RCVBUF of our side of each TCP flow (default 1048576)",
    apply: limit("socketBufferBytes"),
  },
  "--udp-idle": {
    value: "MS",
    help: "UDP mapping idle timeout (default 120000)",
    apply: limit("udpIdleMs"),
  },
  "--trace": {
    help: "one line per packet, state change, drop and flow",
    apply: (a) => void (a.trace = true),
  },
  "--pcap": {
    value: "FILE",
    help: "record every packet on tun0",
    apply: (a, v) => void (a.pcap = v),
  },
  "--services": {
    value: "LIST",
    help: "demo services on the gateway's address (default none)",
    apply(a, v) {
      try {
        a.services = v === "none" ? [] : parseServiceList(v);
      } catch (error) {
        return `--services ${v}: ${(error as Error).message}.`;
      }
      return undefined;
    },
  },
};

function rule(action: "allow" | "deny"): Apply {
  return (a, v) => {
    const parsed = parseRule(action, v);
    if (typeof parsed === "string") return parsed;
    a.config.rules.push(parsed);
    return undefined;
  };
}

function address(field: "innerAddress" | "dnsAddress"): Apply {
  return (a, v) => {
    const parsed = parseIpv4(v);
    if (parsed === undefined) return `${v} is not an IPv4 address.`;
    a.config[field] = parsed;
    return undefined;
  };
}

function limit(field: keyof GatewayConfig["limits"]): Apply {
  return (a, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) return `${v} is not a whole number above 0.`;
    a.config.limits[field] = n;
    return undefined;
  };
}

export function gatewayHelp(): string {
  const lines = ["usage: bun run start -- --gateway [--netns NAME] [options]", ""];
  for (const [name, spec] of Object.entries(OPTIONS)) {
    lines.push(`  ${`${name}${spec.value ? ` ${spec.value}` : ""}`.padEnd(38)}${spec.help}`);
  }
  return lines.join("\n");
}

export function parseGatewayArgs(argv: readonly string[]): ParsedGatewayArgs {
  const args: GatewayArgs = {
    config: defaultGatewayConfig(),
    tun: "tun0",
    netns: undefined,
    mtu: 65520,
    trace: false,
    pcap: undefined,
    services: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    if (name === "--help" || name === "-h") return { kind: "help", text: gatewayHelp() };
    const spec = OPTIONS[name];
    if (spec === undefined)
      return { kind: "error", message: `Unknown option ${name}; see --gateway --help.` };
    let value = "";
    if (spec.value !== undefined) {
      if (i + 1 >= argv.length)
        return { kind: "error", message: `${name} needs a value (${spec.value}).` };
      value = argv[++i]!;
    }
    const problem = spec.apply(args, value);
    if (problem !== undefined) return { kind: "error", message: problem };
  }
  return { kind: "run", args };
}
