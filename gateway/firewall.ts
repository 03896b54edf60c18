/**
 * The gateway's firewall: which destinations the inner side may reach through host
 * sockets. Rules are checked in order and the first that matches decides; when none
 * does, the built-in rule keeps the host's own addresses (its loopback and every
 * address of the namespace the gateway runs in) out of reach, as slirp4netns's
 * --disable-host-loopback does, but by default; everything else is allowed.
 *
 * A refused flow gets what a rejecting firewall sends: a RST for TCP, ICMP
 * administratively prohibited for UDP (RFC 1812 §5.2.7.1, code 13); both are counted.
 *
 * @example
 * parseRule("deny", "198.18.0.0/16:22") // { action: "deny", prefix: 0xc6120000, prefixLength: 16, port: 22 }
 */
import { networkInterfaces } from "node:os";
import { formatIpv4, netmask, parseCidr, parseIpv4 } from "../stack/address.ts";

export interface FirewallRule {
  readonly action: "allow" | "deny";
  readonly protocol?: "tcp" | "udp";
  readonly prefix: number;
  readonly prefixLength: number;
  /** Undefined: every port. */
  readonly port?: number;
}

export type FirewallDecision = { allowed: true } | { allowed: false; reason: string };

/** `[tcp:|udp:]ADDRESS[/LEN][:PORT]`, or a sentence saying what is wrong. */
export function parseRule(action: "allow" | "deny", text: string): FirewallRule | string {
  let rest = text;
  let protocol: "tcp" | "udp" | undefined;
  const proto = /^(tcp|udp):/.exec(rest);
  if (proto !== null) {
    protocol = proto[1] as "tcp" | "udp";
    rest = rest.slice(proto[0].length);
  }
  let port: number | undefined;
  const portMatch = /:(\d+)$/.exec(rest);
  if (portMatch !== null) {
    port = Number(portMatch[1]);
    rest = rest.slice(0, -portMatch[0].length);
    if (port < 1 || port > 65535) return `--${action} ${text}: port ${port} is not in 1-65535.`;
  }
  const cidr = rest.includes("/") ? parseCidr(rest) : addressAsCidr(rest);
  if (cidr === undefined) {
    return `--${action} ${text} is not [tcp:|udp:]ADDRESS[/LEN][:PORT], like 198.18.0.0/15:80.`;
  }
  const rule: FirewallRule = {
    action,
    prefix: (cidr.address & netmask(cidr.prefixLength)) >>> 0,
    prefixLength: cidr.prefixLength,
    ...(protocol === undefined ? {} : { protocol }),
    ...(port === undefined ? {} : { port }),
  };
  return rule;
}

function addressAsCidr(text: string): { address: number; prefixLength: number } | undefined {
  const address = parseIpv4(text);
  return address === undefined ? undefined : { address, prefixLength: 32 };
}

export class Firewall {
  private readonly hostAddresses: Set<number>;

  constructor(
    private readonly rules: readonly FirewallRule[],
    private readonly allowHostLoopback: boolean,
    hostAddresses: Iterable<number> = localAddresses(),
  ) {
    this.hostAddresses = new Set(hostAddresses);
  }

  check(protocol: "tcp" | "udp", destination: number, port: number): FirewallDecision {
    for (const rule of this.rules) {
      if (!matches(rule, protocol, destination, port)) continue;
      if (rule.action === "allow") return { allowed: true };
      return { allowed: false, reason: `denied by --deny ${describe(rule)}` };
    }
    if (!this.allowHostLoopback && this.isHost(destination)) {
      return {
        allowed: false,
        reason: `${formatIpv4(destination)} is this host (--allow-host-loopback)`,
      };
    }
    return { allowed: true };
  }

  private isHost(destination: number): boolean {
    return (
      destination >>> 24 === 127 || destination >>> 24 === 0 || this.hostAddresses.has(destination)
    );
  }
}

function matches(rule: FirewallRule, protocol: string, destination: number, port: number): boolean {
  if (rule.protocol !== undefined && rule.protocol !== protocol) return false;
  if (rule.port !== undefined && rule.port !== port) return false;
  return (destination & netmask(rule.prefixLength)) >>> 0 === rule.prefix;
}

function describe(rule: FirewallRule): string {
  const proto = rule.protocol === undefined ? "" : `${rule.protocol}:`;
  const port = rule.port === undefined ? "" : `:${rule.port}`;
  return `${proto}${formatIpv4(rule.prefix)}/${rule.prefixLength}${port}`;
}

/** The IPv4 addresses of this namespace's interfaces, read when the gateway starts. */
export function localAddresses(): number[] {
  const out: number[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.family !== "IPv4") continue;
      const address = parseIpv4(entry.address);
      if (address !== undefined) out.push(address);
    }
  }
  return out;
}
