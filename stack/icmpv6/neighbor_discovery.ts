/**
 * Neighbour Discovery (RFC 4861) and Multicast Listener Discovery (RFC 2710, RFC 3810)
 * on a TUN link: counted, never answered. Why that is right:
 *
 * - ND resolves IPv6 addresses to link-layer addresses (§7.2). A TUN device carries bare
 *   IP packets: it has no link-layer addresses, and Linux brings it up as
 *   POINTOPOINT|NOARP (`ip link` shows `link/none`). For a NOARP device the kernel's
 *   neighbour entries are NUD_NOARP, so it sends to us directly, never asking with a
 *   Neighbour Solicitation first; we likewise send without asking. Checked in a
 *   namespace: after `ip -6 addr add fd00::1/64 dev tun0`, `ping -6 fd00::2` put the
 *   Echo Request on the TUN at once, with no NS before it.
 * - Duplicate Address Detection (RFC 4862 §5.4) is skipped by Linux on NOARP devices
 *   (addrconf_dad_begin), so no DAD probe arrives; and since we never answer a
 *   Neighbour Solicitation, an NS the kernel did send (with the unspecified source of
 *   DAD, or for our address) could never make it believe an address duplicated, which
 *   a Neighbour Advertisement for its own tentative address would (§5.4.4).
 * - Router Solicitations (§6.3.7) go to all-routers, ff02::2, every few seconds after
 *   bring-up (seen in the namespace: from the kernel's fe80:: address, Hop Limit 255).
 *   A host is not a router (§6.2: a host MUST NOT send Router Advertisements) and is not
 *   in ff02::2, so the IPv6 layer drops them as for a group not joined.
 * - MLD reports go to ff02::16 (MLDv2) or the group itself (MLDv1); a host without
 *   multicast routing has nothing to do with them, and one sent to a group we are in
 *   (all-nodes) arrives here and is counted. Router Advertisements, Redirects and MLD
 *   queries are counted and ignored: there is one link and no routing table to update.
 *
 * The counters take the names of RFC 2466's ipv6IfIcmpIn* objects.
 */
import { Icmpv6Type } from "./header.ts";

export const NEIGHBOR_DISCOVERY_COUNTERS: Readonly<Record<number, string>> = {
  [Icmpv6Type.ROUTER_SOLICITATION]: "icmpv6InRouterSolicits",
  [Icmpv6Type.ROUTER_ADVERTISEMENT]: "icmpv6InRouterAdvertisements",
  [Icmpv6Type.NEIGHBOR_SOLICITATION]: "icmpv6InNeighborSolicits",
  [Icmpv6Type.NEIGHBOR_ADVERTISEMENT]: "icmpv6InNeighborAdvertisements",
  [Icmpv6Type.REDIRECT]: "icmpv6InRedirects",
  [Icmpv6Type.MULTICAST_LISTENER_QUERY]: "icmpv6InGroupMembQueries",
  [Icmpv6Type.MULTICAST_LISTENER_REPORT]: "icmpv6InGroupMembResponses",
  [Icmpv6Type.MULTICAST_LISTENER_DONE]: "icmpv6InGroupMembReductions",
  [Icmpv6Type.MULTICAST_LISTENER_REPORT_V2]: "icmpv6InMLDv2Reports",
};
