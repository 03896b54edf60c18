/**
 * Which listener a segment is for, and whether a new one would overlap another, with
 * the listeners of both families on one port space (as Linux keeps them).
 *
 * A listener on a specific address wins over its family's wildcard (RFC 9293 §3.10.7.2
 * picks "the" listening connection; Linux prefers the more specific socket). An IPv4
 * segment may also find a listener on :: that is not IPv6-only: dual stack (RFC 3493
 * §3.7), the connection then being IPv4, its peer named IPv4-mapped (RFC 4291
 * §2.5.5.2) by the socket layer.
 */
import type { IpAddress } from "../network.ts";
import { isAnyAddress } from "../network.ts";
import type { Listener } from "./listener.ts";

const ANY6 = "::" as IpAddress;

/** The listener of one port (`byAddress`) for a segment to `address`, if any. */
export function listenerFor(
  byAddress: ReadonlyMap<IpAddress, Listener>,
  address: IpAddress,
): Listener | undefined {
  const found = byAddress.get(address);
  if (found !== undefined) return found;
  if (typeof address === "string") return byAddress.get(ANY6);
  const any4 = byAddress.get(0);
  if (any4 !== undefined) return any4;
  const any6 = byAddress.get(ANY6);
  return any6 !== undefined && !any6.v6Only ? any6 : undefined;
}

/**
 * Whether binding `address` (on ::, IPv6-only when `v6Only`) would overlap `listener`:
 * the same address, or a wildcard whose families meet the other's (0.0.0.0 takes IPv4;
 * :: takes IPv6, and IPv4 too unless IPv6-only), as Linux's inet6_bind_conflict.
 */
export function listenersOverlap(address: IpAddress, v6Only: boolean, listener: Listener): boolean {
  const other = listener.localAddress;
  if (address === other) return true;
  if (!isAnyAddress(address) && !isAnyAddress(other)) return false;
  return (familiesOf(address, v6Only) & familiesOf(other, listener.v6Only)) !== 0;
}

/** The families a local address takes, as bits: 1 IPv4, 2 IPv6. */
function familiesOf(address: IpAddress, v6Only: boolean): number {
  if (typeof address === "number") return 1;
  return address === ANY6 && !v6Only ? 3 : 2;
}
