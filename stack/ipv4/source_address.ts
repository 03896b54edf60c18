/**
 * Which addresses can be a datagram's source (RFC 1122 §3.2.1.3): "A host MUST silently
 * discard an incoming datagram containing an IP source address that is invalid by the
 * rules of this section. This validation could be done in either the IP layer or by
 * each protocol in the transport layer." We do both: IPv4 input drops them all
 * (`ipInInvalidSources`), and TCP, UDP and ICMP check again before they answer anything
 * (`tcpInInvalidSources`, `udpInInvalidSources`, `icmpInInvalidSources`), since a reply
 * to such a source goes to nobody, or to everybody (RFC 1122 §4.1.3.6, §4.2.3.10).
 *
 *   0.0.0.0/8      {0, 0} and {0, Host}: only "as a source address as part of an
 *                  initialization procedure" (§3.2.1.3 (a), (b)): accepted only to the
 *                  limited broadcast, the bootstrap case (a DHCP/BOOTP client)
 *   255.255.255.255 and a subnet's directed broadcast: "MUST NOT be used as a source
 *                  address" (§3.2.1.3 (c), (d))
 *   224.0.0.0/4    multicast: §3.2.1.3 "(but not a broadcast or multicast address)"
 *   127.0.0.0/8    loopback: "MUST NOT appear outside a host" (§3.2.1.3 (g))
 *   240.0.0.0/4    class E, "reserved for experimental use" (§3.2.1.3; §3.2.2 lists it
 *                  among sources that do not "define a single host")
 *
 * Linux, for comparison (ip_route_input_slow, fib_validate_source): drops the same
 * broadcast, multicast, 0/8 (except to 255.255.255.255) and 127/8 sources as "martian"
 * and counts them in /proc/net/stat/rt_cache in_martian_src; a source that is one of its
 * own addresses, or a local subnet broadcast, fails fib_validate_source likewise. It
 * treats class E as ordinary unicast (since 2.6.25). We follow RFC 1122 there: nothing
 * routes 240/4 today, so a datagram from it is a spoof or a misconfiguration.
 */
import { isMulticast, LIMITED_BROADCAST, netmask } from "../address.ts";

/**
 * The rules that need nothing but the address: why `source` cannot be a source, or
 * undefined if it can. `toLimitedBroadcast`: the datagram was sent to 255.255.255.255,
 * where a host without an address yet may send from 0.0.0.0/8.
 */
export function invalidSource(source: number, toLimitedBroadcast: boolean): string | undefined {
  const first = source >>> 24;
  if (first === 0)
    return toLimitedBroadcast ? undefined : "source in 0.0.0.0/8 outside bootstrap (§3.2.1.3 a/b)";
  if (source === LIMITED_BROADCAST) return "broadcast source (RFC 1122 §3.2.1.3 c)";
  if (isMulticast(source)) return "multicast source (RFC 1122 §3.2.1.3)";
  if (first === 127) return "loopback source on a link (RFC 1122 §3.2.1.3 g)";
  if (source >>> 28 === 0xf) return "class E source (RFC 1122 §3.2.1.3)";
  return undefined;
}

/** The directed broadcast of our subnet, or its obsolete all-zeros form (RFC 1122 §3.3.6). */
export function isSubnetBroadcast(
  address: number,
  host: { readonly address: number; readonly prefixLength: number },
): boolean {
  if (host.prefixLength >= 31) return false; // RFC 3021: a /31 or /32 has no broadcast.
  const mask = netmask(host.prefixLength);
  if ((address & mask) >>> 0 !== (host.address & mask) >>> 0) return false;
  const hostPart = (address & ~mask) >>> 0;
  return hostPart === ~mask >>> 0 || hostPart === 0;
}

/**
 * RFC 1122 §3.2.2: a source that defines a single host, the only kind an ICMP error
 * may be sent to: not "a zero address, a loopback address, a broadcast address, a
 * multicast address, or a Class E address".
 */
export function isSingleHost(
  source: number,
  host: { readonly address: number; readonly prefixLength: number },
): boolean {
  return invalidSource(source, false) === undefined && !isSubnetBroadcast(source, host);
}
