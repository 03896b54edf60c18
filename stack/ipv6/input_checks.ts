/**
 * The checks IPv6 input makes before it acts on a packet: whether it is ours to take
 * (RFC 4291's rules for sources and destinations), and whether a fragment may be queued
 * for reassembly (RFC 8200 §4.5, RFC 7112); and the one check of output, whether a
 * destination can be sent to on a link. Each returns why not, or undefined.
 */
import {
  type Ipv6Address,
  isMulticastIpv6,
  isV4MappedIpv6,
  LOOPBACK_IPV6,
  multicastScope,
  UNSPECIFIED_IPV6,
} from "./address.ts";
import { type ChainStart, ParameterProblemCode, walkChain } from "./extension_headers.ts";
import { IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD, PAYLOAD_LENGTH } from "./header.ts";

/** A fragment refused: the counter, a detail, and the Parameter Problem owed (RFC 4443 §3.4). */
export interface FragmentProblem {
  readonly reason: string;
  readonly detail: string;
  readonly code: number;
  readonly pointer: number;
}

/**
 * Which packets a host takes (RFC 4291): sources that can be a sender, destinations
 * that are ours. Returns why not, or undefined.
 */
export function whyNotForUs(
  header: { readonly source: Ipv6Address; readonly destination: Ipv6Address },
  us: { readonly address: Ipv6Address; readonly groups: ReadonlySet<Ipv6Address> },
): string | undefined {
  const { source, destination } = header;
  const { address: ourAddress, groups } = us;
  // §2.7: "Multicast addresses must not be used as source addresses".
  if (isMulticastIpv6(source)) return "multicast source";
  // §2.5.3: the loopback address "must never be sent outside a single node".
  if (source === LOOPBACK_IPV6) return "loopback source on a link";
  // RFC 4291 §2.5.5.2 / RFC 4038 §4.2: v4-mapped addresses never appear on the wire
  // (Linux ipv6_rcv drops them too): one could pass for an IPv4 peer of a dual socket.
  if (isV4MappedIpv6(source)) return "v4-mapped source";
  if (source === ourAddress) return "our own address as source";
  if (destination === ourAddress) return undefined;
  if (!isMulticastIpv6(destination)) return "not addressed to this host";
  // §2.7: interface-local scope (1) never crosses a link; other groups we did not join.
  if (multicastScope(destination) === 1) return "interface-local multicast from a link";
  return groups.has(destination) ? undefined : `multicast group ${destination} not joined`;
}

/** The checks RFC 8200 §4.5 and RFC 7112 ask of a fragment before it is queued. */
export function whyNotQueueFragment(
  packet: Uint8Array,
  fragment: {
    /** Where the Fragment header is. */
    readonly fragmentAt: number;
    readonly fragmentOffset: number;
    readonly moreFragments: boolean;
    /** The Fragmentable Part's bytes this fragment carries. */
    readonly data: Uint8Array;
    /** Where the chain goes on after the Fragment header. */
    readonly resume: ChainStart;
  },
): FragmentProblem | undefined {
  const { fragmentAt, data, resume } = fragment;
  const { ERRONEOUS_HEADER_FIELD, INCOMPLETE_CHAIN } = ParameterProblemCode;
  // §4.5: a fragment with M = 1 whose length is not a multiple of 8: "discarded and an
  // ICMP Parameter Problem, Code 0 ... pointing to the Payload Length field".
  if (fragment.moreFragments && (data.length === 0 || data.length % 8 !== 0)) {
    const detail = `fragment of ${data.length} octets with more to come`;
    return {
      reason: "ipv6ReasmFails",
      detail,
      code: ERRONEOUS_HEADER_FIELD,
      pointer: PAYLOAD_LENGTH,
    };
  }
  // §4.5: a reassembled Payload Length over 65,535: "pointing to the Fragment Offset field".
  const payloadEnd = fragmentAt - IPV6_HEADER_LENGTH + fragment.fragmentOffset + data.length;
  if (payloadEnd > IPV6_MAX_PAYLOAD) {
    const detail = "fragment reaches past 65535";
    return {
      reason: "ipv6ReasmFails",
      detail,
      code: ERRONEOUS_HEADER_FIELD,
      pointer: fragmentAt + 2,
    };
  }
  // RFC 7112 §5 (and RFC 8200 §4.5): the first fragment must hold the whole chain up to
  // the upper-layer header, or it is discarded with Parameter Problem code 3.
  if (fragment.fragmentOffset === 0) {
    const chain = walkChain(packet, resume);
    if (chain.kind === "drop" && chain.truncated === true) {
      return {
        reason: "ipv6ReasmFails",
        detail: "first fragment without the whole header chain",
        code: INCOMPLETE_CHAIN,
        pointer: 0,
      };
    }
    if (chain.kind === "upper" && chain.offset >= packet.length) {
      return {
        reason: "ipv6ReasmFails",
        detail: "first fragment without the upper-layer header",
        code: INCOMPLETE_CHAIN,
        pointer: 0,
      };
    }
  }
  return undefined;
}

/**
 * Destinations that never go on a link: the unspecified address (RFC 4291 §2.5.2: "must
 * not be used as the destination address"), loopback (§2.5.3), and v4-mapped addresses
 * (§2.5.5.2), which a dual-stack socket layer sends over IPv4 instead.
 */
export function whyNotSendTo(destination: Ipv6Address): string | undefined {
  if (destination === UNSPECIFIED_IPV6) return "to the unspecified address";
  if (destination === LOOPBACK_IPV6) return "to the loopback address on a link";
  if (isV4MappedIpv6(destination)) return "to a v4-mapped address (IPv4's to send)";
  return undefined;
}
