/**
 * Forwarding: how a stack that is a gateway for the hosts on its link takes in TCP and
 * UDP addressed to other hosts, as gVisor's tcp.Forwarder / udp.Forwarder do, and as
 * Linux's IP_TRANSPARENT sockets do behind a TPROXY rule.
 *
 * A host does not forward (RFC 1122 §3.2.1.3: a datagram for another address is
 * discarded). With `StackOptions.forwarder` set, IPv4 asks it about each such datagram
 * and, where it claims the address, hands it up as if it were ours:
 *
 *   SYN to a claimed address, no TCB → forwarder.tcpSyn(request) → a verdict:
 *     "pending"     drop it: the forwarder is connecting on the host (connect first) and
 *                   will hand `request.packet` back to `stack.receive` when it knows
 *     "accept"      complete the handshake; the connection joins the IP_TRANSPARENT
 *                   listener (sockets/options.ts), local address = the destination
 *     "reset"       RST, as the destination itself would refuse it (RFC 9293 §3.10.7.1)
 *     "unreachable" ICMP Destination Unreachable with `code` (RFC 792, RFC 1812 §5.2.7.1)
 *   UDP to a claimed address, no socket bound there → forwarder.udpDatagram(flow, data)
 *   any other protocol to a claimed address → ICMP administratively prohibited
 *
 * Replies leave from the original destination: a TCB's local address is that address;
 * a UDP reply goes out with `udp.sendFrom`. Everything above this (the NAT table, host
 * sockets, policy) lives in gateway/.
 */

/** A flow seen on the link: the inner host's endpoint and the one it addressed. */
export interface ForwardedFlow {
  readonly source: number;
  readonly sourcePort: number;
  readonly destination: number;
  readonly destinationPort: number;
}

/** A SYN the forwarder is asked about. */
export interface SynRequest extends ForwardedFlow {
  /** A copy of the whole IPv4 datagram, to hand back to `Stack.receive` later ... */
  readonly packet: Uint8Array;
  /**
   * ... with this: the device vouched for its checksum (a TUN with offloads may hand up
   * a partial one, `device/offload.ts`), so it is not summed again.
   */
  readonly checksumValid: boolean;
}

export type SynVerdict =
  | { readonly kind: "pending" }
  | { readonly kind: "accept" }
  | { readonly kind: "reset" }
  | { readonly kind: "unreachable"; readonly code: number };

export interface Forwarder {
  /** Whether a unicast datagram for `destination`, not this stack's address, is taken in. */
  claims(destination: number): boolean;
  /** A SYN (no ACK) to a claimed address that has no connection. */
  tcpSyn(request: SynRequest, now: number): SynVerdict;
  /**
   * A datagram to a claimed address with no socket bound there; `data` is valid only
   * during the call. A code: answer with that ICMP Destination Unreachable.
   */
  udpDatagram(flow: ForwardedFlow, data: Uint8Array, now: number): number | undefined;
  /** What /stats shows of the forwarder (a gateway: its NAT table); optional. */
  snapshot?(now: number): Record<string, unknown>;
}

/** RFC 1812 §5.2.7.1: Destination Unreachable code 13, communication administratively prohibited. */
export const ADMINISTRATIVELY_PROHIBITED = 13;
/** RFC 792: Destination Unreachable codes 1 (host unreachable) and 3 (port unreachable). */
export const HOST_UNREACHABLE = 1;
export const PORT_UNREACHABLE = 3;

/** The datagram's bytes (header and transport) copied out of the receive buffer. */
export function copyDatagram(header: Uint8Array, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(header.length + payload.length);
  packet.set(header);
  packet.set(payload, header.length);
  return packet;
}
