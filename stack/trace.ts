/**
 * What a learner sees with `--trace`: packets in and out, TCP state transitions, and
 * drops with their reason. The stack calls these hooks only when `enabled` is true, so a
 * disabled trace costs one property read per packet.
 */
export interface Trace {
  readonly enabled: boolean;
  /** A whole IPv4 packet crossing the device (`direction` as seen from the stack). */
  packet(direction: "in" | "out", packet: Uint8Array): void;
  /**
   * A TCP connection moved between RFC 9293 states, e.g. "LISTEN" -> "SYN-RECEIVED";
   * `rule` is the RFC rule that moved it (stack/tcp/transitions.ts).
   */
  transition(connection: string, from: string, to: string, rule?: string): void;
  /** A packet was dropped; `reason` is the counter it was counted under. */
  drop(reason: string, detail?: string): void;
}

/** The default: tracing off. */
export const NO_TRACE: Trace = {
  enabled: false,
  packet() {},
  transition() {},
  drop() {},
};
