/**
 * UDP through the gateway: one host UDP socket per inner endpoint (RFC 4787 REQ-1,
 * endpoint-independent mapping): whatever destinations an inner address and port sends
 * to, they all see the same host address and port, which is what lets two peers behind
 * two gateways reach each other by hole punching (RFC 5128 §3.3).
 *
 * Filtering is address-dependent (RFC 4787 REQ-8 leaves the choice; §5 weighs it): a
 * datagram arriving at the host socket is passed in only if the inner endpoint has sent
 * to that address before; others are dropped and counted (`gwUdpFiltered`). Endpoint-
 * independent filtering would let anyone who learns the port send in; address-dependent
 * filtering still lets a punch through once both sides have sent.
 *
 * A mapping lives `udpIdleMs` after its last datagram either way (REQ-5: at least two
 * minutes) and is refreshed by traffic in both directions (REQ-6 allows outbound only;
 * inbound refresh keeps a server's long replies alive).
 *
 * DNS: datagrams to the relay address (10.0.2.3:53) use a mapping of their own whose
 * host socket sends to the upstream resolver; its replies come back from 10.0.2.3:53.
 */
import type { udp } from "bun";
import { formatIpv4, parseIpv4 } from "../stack/address.ts";
import type { ForwardedFlow } from "../stack/forwarding.ts";
import type { Stats } from "../stack/stats.ts";
import type { GatewayLimits } from "./config.ts";
import type { NatEntry, NatTable } from "./nat_table.ts";

export interface UdpRelayContext {
  readonly stats: Stats;
  readonly table: NatTable;
  readonly limits: GatewayLimits;
  now(): number;
  /** Sends `data` into the link from `from` (a forwarded address) to the inner endpoint. */
  sendInner(
    from: { address: number; port: number },
    to: { address: number; port: number },
    data: Uint8Array,
  ): void;
  trace(line: string): void;
}

/** Datagrams held while a mapping's host socket is being opened. */
const MAX_WAITING = 16;

interface Mapping {
  readonly key: string;
  readonly entry: NatEntry;
  socket: udp.Socket<"uint8array"> | undefined;
  readonly waiting: { data: Uint8Array; port: number; address: string }[];
  /** Addresses this inner endpoint has sent to (address-dependent filtering). */
  readonly permitted: Set<string>;
  /** DNS relay: replies appear to come from here, whatever upstream sent them. */
  readonly replyFrom: { address: number; port: number } | undefined;
  lastActive: number;
  closed: boolean;
}

export class UdpRelay {
  private readonly mappings = new Map<string, Mapping>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly context: UdpRelayContext) {
    this.sweeper = setInterval(() => this.expire(), Math.min(10_000, context.limits.udpIdleMs / 2));
    this.sweeper.unref?.();
  }

  get size(): number {
    return this.mappings.size;
  }

  /**
   * A datagram from the inner side to `target` (the flow's destination, or the DNS
   * upstream). `replyFrom` set: a relay whose replies come from that fixed endpoint.
   */
  send(
    flow: ForwardedFlow,
    data: Uint8Array,
    target: { address: string; port: number },
    replyFrom?: { address: number; port: number },
  ): boolean {
    const key = `${replyFrom === undefined ? "" : "relay "}${formatIpv4(flow.source)}:${flow.sourcePort}`;
    let mapping = this.mappings.get(key);
    if (mapping === undefined) {
      if (this.context.table.size >= this.context.limits.maxFlows) {
        this.context.stats.drop("gwLimitFlows", `udp ${key}`);
        return false;
      }
      mapping = this.open(key, flow, replyFrom);
    }
    mapping.lastActive = this.context.now();
    mapping.permitted.add(target.address);
    mapping.entry.bytesOut += data.length;
    if (mapping.socket === undefined) {
      if (mapping.waiting.length < MAX_WAITING)
        mapping.waiting.push({ data: data.slice(), ...target });
      else this.context.stats.drop("gwUdpQueueFull");
      return true;
    }
    if (!mapping.socket.send(data, target.port, target.address)) {
      this.context.stats.drop("gwUdpSendFailed", `to ${target.address}:${target.port}`);
    }
    return true;
  }

  private open(key: string, flow: ForwardedFlow, replyFrom: Mapping["replyFrom"]): Mapping {
    const mapping: Mapping = {
      key,
      entry: {
        protocol: "udp",
        innerAddress: flow.source,
        innerPort: flow.sourcePort,
        destination: flow.destination,
        destinationPort: flow.destinationPort,
        hostSocket: "",
        bytesOut: 0,
        bytesIn: 0,
        createdAt: this.context.now(),
        state: replyFrom === undefined ? "mapped" : "dns relay",
      },
      socket: undefined,
      waiting: [],
      permitted: new Set(),
      replyFrom,
      lastActive: this.context.now(),
      closed: false,
    };
    this.mappings.set(key, mapping);
    this.context.table.add(mapping.entry);
    this.context.stats.count("gwUdpMappings");
    const inner = { address: flow.source, port: flow.sourcePort };
    Bun.udpSocket({
      binaryType: "uint8array",
      socket: {
        data: (_socket, data, port, address) => this.fromHost(mapping, inner, data, port, address),
      },
    }).then(
      (socket) => {
        if (mapping.closed) {
          socket.close();
          return;
        }
        mapping.socket = socket;
        mapping.entry.hostSocket = `0.0.0.0:${socket.port}`;
        this.context.trace(`gateway: udp ${key} mapped to host port ${socket.port}`);
        for (const w of mapping.waiting.splice(0)) socket.send(w.data, w.port, w.address);
      },
      (error: Error) => {
        this.context.stats.drop("gwUdpSocketFailed", error.message);
        this.close(mapping);
      },
    );
    return mapping;
  }

  private fromHost(
    mapping: Mapping,
    inner: { address: number; port: number },
    data: Uint8Array,
    port: number,
    address: string,
  ): void {
    if (!mapping.permitted.has(address)) {
      this.context.stats.drop("gwUdpFiltered", `${address}:${port} to ${mapping.key}`);
      return;
    }
    const from = mapping.replyFrom ?? { address: parseIpv4(address) ?? 0, port };
    if (from.address === 0) return; // not IPv4
    mapping.lastActive = this.context.now();
    mapping.entry.bytesIn += data.length;
    this.context.sendInner(from, inner, data);
  }

  private expire(): void {
    const deadline = this.context.now() - this.context.limits.udpIdleMs;
    for (const mapping of this.mappings.values()) {
      if (mapping.lastActive < deadline) {
        this.context.stats.count("gwUdpExpired");
        this.close(mapping);
      }
    }
  }

  private close(mapping: Mapping): void {
    if (mapping.closed) return;
    mapping.closed = true;
    mapping.socket?.close();
    this.mappings.delete(mapping.key);
    this.context.table.remove(mapping.entry);
    this.context.trace(`gateway: udp ${mapping.key} unmapped`);
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const mapping of [...this.mappings.values()]) this.close(mapping);
  }
}
