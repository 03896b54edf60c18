/**
 * The gateway's settings: slirp's well-known addresses (the same as slirp4netns and
 * QEMU's user networking use), the firewall rules, the inbound forwards and the limits.
 * Every limit is counted when it is hit (`Gateway.stats`).
 */
import { parseIpv4 } from "../stack/address.ts";
import type { FirewallRule } from "./firewall.ts";
import type { ForwardSpec } from "./forwards.ts";

export interface GatewayLimits {
  /** Flows in the NAT table at once, TCP and UDP together. */
  maxFlows: number;
  /** Host connects under way at once: a SYN flood from inside is not a connect flood outside. */
  maxPendingConnects: number;
  /** Bytes a TCP flow holds in the gateway beyond our socket buffers, each way. */
  flowBufferBytes: number;
  /** SO_SNDBUF and SO_RCVBUF of our side of each forwarded connection. */
  socketBufferBytes: number;
  /** A host connect that has not finished by then is given up (the inner SYN goes unanswered). */
  connectTimeoutMs: number;
  /** RFC 4787 REQ-5: a UDP mapping lives at least two minutes without traffic. */
  udpIdleMs: number;
  /** A connected host socket whose inner handshake never completes is closed after this. */
  acceptTimeoutMs: number;
}

export interface GatewayConfig {
  /** The stack's own address on the link (slirp: 10.0.2.2), and the link's prefix. */
  gatewayAddress: number;
  prefixLength: number;
  /** The inner namespace's address (slirp: 10.0.2.100): where inbound forwards go. */
  innerAddress: number;
  /** The DNS relay's address (slirp: 10.0.2.3). */
  dnsAddress: number;
  /** Where DNS is relayed; undefined: the first nameserver of /etc/resolv.conf. */
  dnsUpstream: { address: string; port: number } | undefined;
  /** Checked in order, first match wins; then the built-in rules (firewall.ts). */
  rules: FirewallRule[];
  /** Let the inner side reach this namespace's own addresses (its loopback services). */
  allowHostLoopback: boolean;
  forwards: ForwardSpec[];
  limits: GatewayLimits;
}

export function defaultGatewayLimits(): GatewayLimits {
  return {
    maxFlows: 4096,
    maxPendingConnects: 256,
    flowBufferBytes: 256 * 1024,
    socketBufferBytes: 1024 * 1024,
    connectTimeoutMs: 30_000,
    udpIdleMs: 120_000,
    acceptTimeoutMs: 30_000,
  };
}

export function defaultGatewayConfig(): GatewayConfig {
  return {
    gatewayAddress: parseIpv4("10.0.2.2")!,
    prefixLength: 24,
    innerAddress: parseIpv4("10.0.2.100")!,
    dnsAddress: parseIpv4("10.0.2.3")!,
    dnsUpstream: undefined,
    rules: [],
    allowHostLoopback: false,
    forwards: [],
    limits: defaultGatewayLimits(),
  };
}
