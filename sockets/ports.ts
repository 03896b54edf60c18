/**
 * Port bookkeeping for bind(): who holds which (address, port), per protocol, and the
 * choice of ephemeral ports.
 *
 * Conflict rules, as Linux applies them (inet_csk_bind_conflict, udp_lib_get_port):
 *  - two bindings on one port clash when their addresses overlap: equal, or either is
 *    the wildcard 0.0.0.0 ("any local address");
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
import type { Random } from "../stack/random.ts";

/** RFC 6056 §2.1: the IANA "Dynamic and/or Private Ports" range. */
export const EPHEMERAL_LOW = 49152;
export const EPHEMERAL_HIGH = 65535;

export interface Binding {
  readonly address: number;
  readonly port: number;
  readonly reuseAddress: boolean;
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
    private readonly heldByStack: (address: number, port: number) => boolean,
  ) {}

  /** True if binding (`address`, `port`) with this SO_REUSEADDR setting would clash. */
  conflicts(address: number, port: number, reuseAddress: boolean): boolean {
    return (
      this.socketConflicts(address, port, reuseAddress) ||
      (!reuseAddress && this.heldByStack(address, port))
    );
  }

  /** Only the clash with other sockets' bindings (not with connections left in the stack). */
  socketConflicts(address: number, port: number, reuseAddress: boolean): boolean {
    for (const other of this.byPort.get(port) ?? []) {
      if (!overlap(address, other.address)) continue;
      const shareable = reuseAddress && other.reuseAddress;
      if (!shareable || (this.protocol === "tcp" && other.listening)) return true;
    }
    return false;
  }

  /** listen(): true if another socket overlapping `binding` already listens on its port. */
  listenerConflicts(binding: Binding): boolean {
    for (const other of this.byPort.get(binding.port) ?? []) {
      if (other !== binding && other.listening && overlap(binding.address, other.address)) {
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
  chooseEphemeral(address: number, random: Random): number | undefined {
    return ephemeralPort(random, (port) => !this.conflicts(address, port, false));
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

/** Two local addresses overlap if they are equal or either is 0.0.0.0 (any). */
function overlap(a: number, b: number): boolean {
  return a === 0 || b === 0 || a === b;
}
