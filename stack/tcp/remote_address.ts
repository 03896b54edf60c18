/**
 * Remote Address Validation (RFC 1122 §4.2.3.10; RFC 9293 MUST-46, MUST-57, MUST-63):
 * TCP talks to one host at a time. What arrives from an address that cannot be a source
 * (ipv4/source_address.ts), or is addressed to a broadcast or multicast address, is
 * dropped silently before anything can answer it: no SYN,ACK, and no RST either (a
 * reply would go to nobody, or to everybody). An OPEN to such an address is refused.
 *
 * IPv4 input has dropped bad sources already (RFC 1122 §3.2.1.3 lets either layer do
 * it); TCP checks again so that its own rule holds whatever delivers to it. Linux does
 * the same twice: martian sources in ip_route_input_slow, and tcp_v4_rcv drops a
 * segment whose route is not RTN_LOCAL (broadcast, multicast) before the lookup.
 */
import { isMulticast, LIMITED_BROADCAST } from "../address.ts";
import { invalidSource } from "../ipv4/source_address.ts";
import type { IpDatagram } from "../network.ts";
import type { Stats } from "../stats.ts";

/** False (and counted) when `d` must be discarded for its addresses. */
export function validRemoteAddresses(d: IpDatagram, stats: Stats): boolean {
  // IPv6 datagrams: IPv6 input applies its own address rules (RFC 4291); only the
  // destination's multicast flag is checked here.
  if (typeof d.source !== "number" || typeof d.destination !== "number") {
    if (!d.broadcast) return true;
    stats.drop("tcpInBroadcast", "segment to a multicast address");
    return false;
  }
  // MUST-63: "An incoming SYN with an invalid source address must be ignored either by
  // TCP or by the IP layer". Even 0.0.0.0: TCP has no bootstrap case.
  const badSource = invalidSource(d.source, false);
  if (badSource !== undefined) {
    stats.drop("tcpInInvalidSources", badSource);
    return false;
  }
  // MUST-57: "silently discard an incoming SYN segment that is addressed to a broadcast
  // or multicast address"; any other segment too, since no connection can have one.
  if (d.broadcast || isMulticast(d.destination) || d.destination === LIMITED_BROADCAST) {
    stats.drop("tcpInBroadcast", "segment to a broadcast or multicast address");
    return false;
  }
  return true;
}

/**
 * MUST-46: "A TCP implementation MUST reject as an error a local OPEN call for an
 * invalid remote IP address (e.g., a broadcast or multicast address)": why `remote`
 * cannot be connected to, or undefined. `subnetBroadcast` is our subnet's directed
 * broadcast, if it has one (Linux: ENETUNREACH for RTCF_BROADCAST|RTCF_MULTICAST routes).
 */
export function invalidOpenAddress(remote: number, subnetBroadcast?: number): string | undefined {
  if (remote === 0) return "0.0.0.0 is no host";
  if (remote === LIMITED_BROADCAST || remote === subnetBroadcast) return "a broadcast address";
  if (isMulticast(remote)) return "a multicast address";
  if (remote >>> 28 === 0xf) return "a class E address (RFC 1122 §3.2.1.3)";
  return undefined;
}
