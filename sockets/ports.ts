/**
 * Port bookkeeping for bind(): who holds which (address, port), per protocol, and the
 * choice of ephemeral ports.
 *
 * Conflict rules, as Linux applies them (inet_csk_bind_conflict, udp_lib_get_port):
 *  - two bindings on one port clash when their addresses overlap: equal, or either is
 *    a wildcard ("any local address") that covers the other's family: 0.0.0.0 covers
 *    IPv4; :: covers IPv6, and IPv4 too unless IPV6_V6ONLY (Linux inet6_bind_conflict:
 *    one port space for both families, a dual-stack :: holds the IPv4 port as well);
 *  - unless both sockets set SO_REUSEADDR and, for TCP, the one already there is not
 *    listening (two listeners on one address never share a port);
 *  - a port still held inside the stack by a connection whose socket is gone (TIME-WAIT,
 *    FIN-WAIT-2, ...) blocks bind() unless the new socket set SO_REUSEADDR: the reason
 *    servers set it, so a restart does not wait 2 MSL (RFC 9293 §3.6.1 TIME-WAIT).
 *
 * Ephemeral ports follow RFC 6056 §3.3.1 (Algorithm 1, "simple port randomization"):
 * start at a random point of 49152–65535 (the IANA dynamic range, RFC 6056 §2.1) and
 * walk up until a port is free. The random source is the stack's: seeded in tests,
 * seeded from the CSPRNG in production.
 */
import { type IpAddress, isAnyAddress } from "../stack/network.ts";
import type { Random } from "../stack/random.ts";

/** RFC 6056 §2.1: the IANA "Dynamic and/or Private Ports" range. */
export const EPHEMERAL_LOW = 49152;
export const EPHEMERAL_HIGH = 65535;

export interface Binding {
  readonly address: IpAddress;
  readonly port: number;
  readonly reuseAddress: boolean;
  /** On ::, IPv6 only (IPV6_V6ONLY): the IPv4 port stays free. */
  readonly v6Only?: boolean;
  /** TCP: the socket is listening (listeners never share a port). */
  listening: boolean;
}

export class PortTable {
  private readonly byPort = new Map<number, Set<Binding>>();

  /**
   * @param protocol "tcp" applies the listener rule.
   * @param heldByStack whether the stack itself still uses the port (e.g. TIME-WAIT).
   */
  constructor(
    readonly protocol: "tcp" | "udp",
    private readonly heldByStack: (address: IpAddress, port: number, v6Only: boolean) => boolean,
  ) {}

  /** True if binding (`address`, `port`) with this SO_REUSEADDR setting would clash. */
  conflicts(address: IpAddress, port: number, reuseAddress: boolean, v6Only = false): boolean {
    return (
      this.socketConflicts(address, port, reuseAddress, v6Only) ||
      (!reuseAddress && this.heldByStack(address, port, v6Only))
    );
  }

  /** Only the clash with other sockets' bindings (not with connections left in the stack). */
  socketConflicts(
    address: IpAddress,
    port: number,
    reuseAddress: boolean,
    v6Only = false,
  ): boolean {
    for (const other of this.byPort.get(port) ?? []) {
      if (!overlap({ address, v6Only }, other)) continue;
      const shareable = reuseAddress && other.reuseAddress;
      if (!shareable || (this.protocol === "tcp" && other.listening)) return true;
    }
    return false;
  }

  /** listen(): true if another socket overlapping `binding` already listens on its port. */
  listenerConflicts(binding: Binding): boolean {
    for (const other of this.byPort.get(binding.port) ?? []) {
      if (other !== binding && other.listening && overlap(binding, other)) {
        return true;
      }
    }
    return false;
  }

  add(binding: Binding): void {
    let set = this.byPort.get(binding.port);
    if (set === undefined) {
      set = new Set();
      this.byPort.set(binding.port, set);
    }
    set.add(binding);
  }

  remove(binding: Binding): void {
    const set = this.byPort.get(binding.port);
    if (set === undefined) return;
    set.delete(binding);
    if (set.size === 0) this.byPort.delete(binding.port);
  }

  /** RFC 6056 §3.3.1 Algorithm 1; undefined when every ephemeral port is taken. */
  chooseEphemeral(address: IpAddress, random: Random, v6Only = false): number | undefined {
    return ephemeralPort(random, (port) => !this.conflicts(address, port, false, v6Only));
  }
}

/** RFC 6056 §3.3.1 Algorithm 1: a random start, then the next suitable port up. */
export function ephemeralPort(
  random: Random,
  suitable: (port: number) => boolean,
): number | undefined {
  const count = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  let next = EPHEMERAL_LOW + (random.nextUint32() % count);
  for (let tried = 0; tried < count; tried++) {
    if (suitable(next)) return next;
    next = next === EPHEMERAL_HIGH ? EPHEMERAL_LOW : next + 1;
  }
  return undefined;
}

type Bound = { readonly address: IpAddress; readonly v6Only?: boolean };

/**
 * Two local addresses overlap if they are equal, or one is a wildcard and the families
 * they take meet: 0.0.0.0 takes IPv4; :: takes IPv6, and IPv4 unless v6-only.
 */
function overlap(a: Bound, b: Bound): boolean {
  if (a.address === b.address) return true;
  if (!isAnyAddress(a.address) && !isAnyAddress(b.address)) return false;
  const fa = familiesOf(a);
  const fb = familiesOf(b);
  return (fa & fb) !== 0;
}

/** The families a binding takes, as bits: 1 IPv4, 2 IPv6. */
function familiesOf(b: Bound): number {
  if (typeof b.address === "number") return 1;
  return b.address === "::" && b.v6Only !== true ? 3 : 2;
}
