/**
 * The gateway: our stack as the user-mode network of a namespace, as slirp4netns and
 * pasta are. The namespace's default route points at the stack (10.0.2.2) over tun0;
 * every TCP connection and UDP flow it starts toward any address is terminated by our
 * stack and re-originated from an ordinary host socket in the gateway's namespace.
 *
 *   inner ns                     gateway process (this namespace)
 *   curl ─▶ tun0 ═══▶ Stack ──forwarder (stack/forwarding.ts)──▶ Gateway
 *                       │ IP_TRANSPARENT listener ─accept─▶ TcpFlow ─▶ Bun.connect ─▶ server
 *                       └ udp.sendFrom ◀──────────────────── UdpRelay ◀─ Bun.udpSocket ◀─
 *
 * This class is the Forwarder: it answers the stack's questions (claim this address?
 * what to do with this SYN, this datagram?) from the firewall, the limits and the NAT
 * table. Read next: tcp_relay.ts (connect first, flow control), udp_relay.ts (mappings,
 * filtering, DNS), firewall.ts, forwards.ts, nat_table.ts; docs/gateway.md.
 */
import { readFileSync } from "node:fs";
import type { SocketApi } from "../sockets/api.ts";
import { formatIpv4, isMulticast, LIMITED_BROADCAST, sameSubnet } from "../stack/address.ts";
import {
  ADMINISTRATIVELY_PROHIBITED,
  type ForwardedFlow,
  type Forwarder,
  HOST_UNREACHABLE,
  PORT_UNREACHABLE,
  type SynRequest,
  type SynVerdict,
} from "../stack/forwarding.ts";
import type { Stack } from "../stack/stack.ts";
import type { GatewayConfig } from "./config.ts";
import { Firewall } from "./firewall.ts";
import { type ForwardSpec, type RunningForward, startForward } from "./forwards.ts";
import { NatTable } from "./nat_table.ts";
import { TcpFlow, type TcpRelayContext } from "./tcp_relay.ts";
import { startUdpForward } from "./udp_forward.ts";
import { UdpRelay } from "./udp_relay.ts";

const PENDING: SynVerdict = { kind: "pending" };
const ACCEPT: SynVerdict = { kind: "accept" };
const RESET: SynVerdict = { kind: "reset" };
const HOST_UNREACHABLE_VERDICT: SynVerdict = { kind: "unreachable", code: HOST_UNREACHABLE };
const DNS_PORT = 53;

/** What the gateway drives: the stack, its socket API and the driver's kick. */
export interface GatewayHost {
  readonly stack: Stack;
  readonly api: SocketApi;
  now(): number;
  kick(): void;
}

export class Gateway implements Forwarder {
  readonly table = new NatTable();
  private readonly flows = new Map<string, TcpFlow>();
  private readonly firewall: Firewall;
  private readonly running: RunningForward[] = [];
  private host: GatewayHost | undefined;
  private relayContext: TcpRelayContext | undefined;
  private udp: UdpRelay | undefined;
  private listenFd = -1;
  private readonly upstream: { address: string; port: number } | undefined;

  constructor(
    readonly config: GatewayConfig,
    private readonly traceLine: ((line: string) => void) | undefined = undefined,
  ) {
    this.firewall = new Firewall(config.rules, config.allowHostLoopback);
    this.upstream = config.dnsUpstream ?? systemResolver();
  }

  /** Starts serving: the IP_TRANSPARENT listener, the UDP relay, the forwards. */
  attach(host: GatewayHost): void {
    this.host = host;
    const { stack, api } = host;
    const trace = (line: string) => this.traceLine?.(line);
    this.relayContext = {
      api,
      stats: stack.stats,
      table: this.table,
      limits: this.config.limits,
      now: () => host.now(),
      redeliver: (syn) =>
        queueMicrotask(() => {
          stack.receive(syn.packet, host.now(), syn.checksumValid);
          host.kick();
        }),
      forget: (flow) => {
        if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
      },
      trace,
    };
    this.udp = new UdpRelay({
      stats: stack.stats,
      table: this.table,
      limits: this.config.limits,
      now: () => host.now(),
      sendInner: (from, to, data) => {
        stack.udp.sendFrom(from, data, to.address, to.port);
        host.kick();
      },
      trace,
    });
    this.listenFd = api.socket("inet", "stream");
    api.setsockopt(this.listenFd, "IP_TRANSPARENT", true);
    // Accepted connections inherit these: the window toward the client (send) and the
    // one we advertise to it (receive), each part of the per-flow bound.
    api.setsockopt(this.listenFd, "SO_SNDBUF", this.config.limits.socketBufferBytes);
    api.setsockopt(this.listenFd, "SO_RCVBUF", this.config.limits.socketBufferBytes);
    api.listen(this.listenFd, 1024);
    void this.acceptLoop(api, this.listenFd);
    for (const spec of this.config.forwards) {
      this.addForward(spec).catch((error: Error) => {
        console.error(
          `--forward ${spec.protocol}:${spec.hostAddress}:${spec.hostPort}: ${error.message}`,
        );
      });
    }
  }

  /** Adds an inbound forward while running (forwards.ts, udp_forward.ts). */
  async addForward(spec: ForwardSpec): Promise<void> {
    const context = this.relayContext!;
    const inner = this.config.innerAddress;
    if (spec.protocol === "udp") {
      this.running.push(await startUdpForward(context, spec, inner));
      return;
    }
    const register = (flow: TcpFlow) => this.flows.set(flow.key, flow);
    this.running.push(startForward(context, spec, inner, register));
  }

  /** Removes the forward of `protocol` listening on `hostPort`; TCP connections go on. */
  removeForward(protocol: "tcp" | "udp", hostPort: number): boolean {
    const index = this.running.findIndex(
      (f) => f.spec.protocol === protocol && f.spec.hostPort === hostPort,
    );
    if (index < 0) return false;
    this.running[index]!.stop();
    this.running.splice(index, 1);
    return true;
  }

  // ---- Forwarder (stack/forwarding.ts) ----

  /**
   * Every unicast address off the link (the inner side's default route is us), and the
   * DNS relay's. Other addresses on the link are nobody's: never looked for on the host.
   */
  claims(destination: number): boolean {
    const { gatewayAddress, prefixLength, dnsAddress } = this.config;
    if (destination === dnsAddress) return true;
    if (sameSubnet(destination, gatewayAddress, prefixLength)) return false;
    return !(
      destination === 0 ||
      destination === LIMITED_BROADCAST ||
      isMulticast(destination) ||
      destination >>> 24 === 127
    );
  }

  tcpSyn(request: SynRequest, _now: number): SynVerdict {
    const key = flowKey(request);
    const existing = this.flows.get(key);
    if (existing !== undefined) {
      switch (existing.phase) {
        case "connecting":
          return PENDING; // a retransmitted SYN while the host connect runs
        case "connected":
          return ACCEPT;
        case "refused":
          this.flows.delete(key);
          return RESET;
        case "unreachable":
          this.flows.delete(key);
          return HOST_UNREACHABLE_VERDICT;
        default:
          existing.abort("a new SYN for the same four-tuple"); // our TCB is gone
      }
    }
    const stats = this.host!.stack.stats;
    const target = this.tcpTarget(request);
    if (typeof target === "string") {
      stats.drop("gwDenied", `tcp ${key}: ${target}`);
      return RESET;
    }
    if (this.table.size >= this.config.limits.maxFlows) {
      stats.drop("gwLimitFlows", `tcp ${key}`);
      return PENDING; // dropped, as a full conntrack table drops
    }
    if (this.connectingCount() >= this.config.limits.maxPendingConnects) {
      stats.drop("gwLimitPendingConnects", `tcp ${key}`);
      return PENDING;
    }
    const flow = new TcpFlow(this.relayContext!, key, request, target, request);
    this.flows.set(key, flow);
    flow.start();
    return PENDING;
  }

  udpDatagram(flow: ForwardedFlow, data: Uint8Array, _now: number): number | undefined {
    const stats = this.host!.stack.stats;
    if (flow.destination === this.config.dnsAddress) {
      if (flow.destinationPort !== DNS_PORT || this.upstream === undefined) return PORT_UNREACHABLE;
      stats.count("gwDnsQueries");
      const replyFrom = { address: this.config.dnsAddress, port: DNS_PORT };
      this.udp!.send(flow, data, this.upstream, replyFrom);
      return undefined;
    }
    const decision = this.firewall.check("udp", flow.destination, flow.destinationPort);
    if (!decision.allowed) {
      stats.drop("gwDenied", `udp ${flowKey(flow)}: ${decision.reason}`);
      return ADMINISTRATIVELY_PROHIBITED;
    }
    const target = { address: formatIpv4(flow.destination), port: flow.destinationPort };
    this.udp!.send(flow, data, target);
    return undefined;
  }

  /** Where the host socket connects, or why it may not. */
  private tcpTarget(request: ForwardedFlow): { hostname: string; port: number } | string {
    if (request.destination === this.config.dnsAddress) {
      if (request.destinationPort !== DNS_PORT || this.upstream === undefined) {
        return "only port 53 at the DNS address";
      }
      return { hostname: this.upstream.address, port: this.upstream.port };
    }
    const decision = this.firewall.check("tcp", request.destination, request.destinationPort);
    if (!decision.allowed) return decision.reason;
    return { hostname: formatIpv4(request.destination), port: request.destinationPort };
  }

  private connectingCount(): number {
    let n = 0;
    for (const flow of this.flows.values()) if (flow.phase === "connecting") n++;
    return n;
  }

  /** The IP_TRANSPARENT listener's accept loop: each connection meets its host socket. */
  private async acceptLoop(api: SocketApi, listenFd: number): Promise<void> {
    for (;;) {
      let fd: number;
      try {
        fd = await api.accept(listenFd);
      } catch {
        return; // closed
      }
      const local = api.getsockname(fd);
      let peer: { address: string; port: number };
      try {
        peer = api.getpeername(fd);
      } catch {
        api.close(fd); // reset before we got to it
        continue;
      }
      const flow = this.flows.get(`${peer.address}:${peer.port}>${local.address}:${local.port}`);
      if (flow === undefined || flow.phase !== "connected") {
        api.setsockopt(fd, "SO_LINGER", { onoff: true, linger: 0 });
        api.close(fd);
        continue;
      }
      flow.attach(fd);
    }
  }

  /** For /stats: the NAT table and the gateway's counts. */
  snapshot(now: number): Record<string, unknown> {
    return {
      tcpFlows: this.table.count("tcp"),
      udpMappings: this.table.count("udp"),
      nat: this.table.rows(now),
    };
  }

  /** The NAT table and the gateway's counters as text (SIGUSR1). */
  report(now: number): string {
    const counters = Object.entries(this.host?.stack.stats.snapshot() ?? {})
      .filter(([name]) => name.startsWith("gw"))
      .map(([name, value]) => `  ${name} ${value}`);
    return `${this.table.format(now)}gateway counters:\n${counters.join("\n")}\n`;
  }

  close(): void {
    for (const forward of this.running.splice(0)) forward.stop();
    for (const flow of [...this.flows.values()]) flow.abort("gateway closing");
    this.udp?.closeAll();
    if (this.listenFd >= 0) this.host?.api.close(this.listenFd);
    this.listenFd = -1;
  }
}

function flowKey(flow: ForwardedFlow): string {
  return `${formatIpv4(flow.source)}:${flow.sourcePort}>${formatIpv4(flow.destination)}:${flow.destinationPort}`;
}

/** The first IPv4 nameserver of /etc/resolv.conf (in this namespace), port 53. */
export function systemResolver(
  path = "/etc/resolv.conf",
): { address: string; port: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const match = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (match !== null) return { address: match[1]!, port: DNS_PORT };
  }
  return undefined;
}
