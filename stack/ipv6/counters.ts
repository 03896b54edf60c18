/**
 * The names of the IPv6 and ICMPv6 counters, each with what it counts. They follow the
 * MIBs as the IPv4 ones do (`stats.ts`): RFC 4293's ipSystemStats objects (which cover
 * both versions) and RFC 2466's ipv6IfIcmp objects, with the version as a prefix
 * (`ipv6InReceives`, `icmpv6InEchos`) so that the two families sit side by side in
 * `/stats`. Names without a MIB object are spelled in the same style. The tests check
 * that the code counts under no name missing here.
 */
export const IPV6_COUNTERS = {
  // IPv6 (RFC 4293 ipSystemStats*, with RFC 8200 references).
  ipv6InReceives: "packets received from the link",
  ipv6InHdrErrors: "malformed headers: version, extension headers that overrun, chains too long",
  ipv6InTruncatedPkts: "shorter than 40 octets or than the Payload Length says",
  ipv6InAddrErrors: "not for us: another address, a group not joined, a source that cannot send",
  ipv6InUnknownProtos: "an unrecognized Next Header (Parameter Problem code 1)",
  ipv6InUnknownOptions: "an unrecognized option whose action is to discard (RFC 8200 §4.2)",
  ipv6InDiscards: "dropped for want of resources or by policy (link MTU under 1280, duplicates)",
  ipv6InDelivers: "packets handed to ICMPv6, UDP or TCP",
  ipv6InNoNextHeaders: "packets ending in No Next Header (RFC 8200 §4.7)",
  ipv6InAtomicFragments: "fragments with offset 0 and M = 0, processed alone (RFC 6946)",
  ipv6ReasmReqds: "fragments queued for reassembly",
  ipv6ReasmOKs: "packets reassembled",
  ipv6ReasmFails: "reassembly failures: overlaps, bad lengths, timeouts, evictions",
  ipv6ReasmTimeout: "packets whose 60 s reassembly time ran out (RFC 8200 §4.5)",
  ipv6OutRequests: "packets the upper layers asked to send",
  ipv6OutDiscards: "packets not sent: over 65,535 octets, or IPv6 off",
  ipv6OutFragOKs: "packets sent as fragments",
  ipv6OutFragCreates: "fragments sent",
  ipv6OutFragFails: "packets over the path MTU that must not be fragmented (TCP)",
  // ICMPv6 (RFC 2466 ipv6IfIcmp*, RFC 4443).
  icmpv6InMsgs: "messages received",
  icmpv6InErrors: "messages refused: short, bad checksum, a quote that is not ours",
  icmpv6InCsumErrors: "messages with a bad checksum (also in icmpv6InErrors)",
  icmpv6InUnknownTypes: "informational messages of unknown type (RFC 4443 §2.4 (b))",
  icmpv6InDestUnreachs: "Destination Unreachable received",
  icmpv6InPktTooBigs: "Packet Too Big received",
  icmpv6InTimeExcds: "Time Exceeded received",
  icmpv6InParmProblems: "Parameter Problem received",
  icmpv6InEchos: "Echo Requests received",
  icmpv6InEchoReplies: "Echo Replies received",
  icmpv6InRouterSolicits: "Router Solicitations received (to a group we are in)",
  icmpv6InRouterAdvertisements: "Router Advertisements received",
  icmpv6InNeighborSolicits: "Neighbour Solicitations received",
  icmpv6InNeighborAdvertisements: "Neighbour Advertisements received",
  icmpv6InRedirects: "Redirects received",
  icmpv6InGroupMembQueries: "MLD queries received",
  icmpv6InGroupMembResponses: "MLDv1 reports received",
  icmpv6InGroupMembReductions: "MLDv1 done messages received",
  icmpv6InMLDv2Reports: "MLDv2 reports received",
  icmpv6PathMtuUpdates: "Packet Too Big messages that reached the path MTU cache",
  icmpv6OutMsgs: "messages sent",
  icmpv6OutEchoReplies: "Echo Replies sent",
  icmpv6OutDestUnreachs: "Destination Unreachable sent",
  icmpv6OutPktTooBigs: "Packet Too Big sent",
  icmpv6OutTimeExcds: "Time Exceeded sent",
  icmpv6OutParmProblems: "Parameter Problem sent",
  icmpv6OutErrors: "errors of other types sent",
  icmpv6OutErrorsSuppressed: "errors not sent by the rules of RFC 4443 §2.4 (e)",
  icmpv6OutRateLimited: "errors not sent by the rate limit (RFC 4443 §2.4 (f))",
} as const;

export type Ipv6CounterName = keyof typeof IPV6_COUNTERS;
