/**
 * Turning a received ICMPv6 error into an `Icmpv6ErrorReport` for the transport that
 * sent the offending packet (RFC 4443 §2.4 (a), (d)), the IPv6 twin of
 * `icmp/error_report.ts`.
 *
 * The message quotes our own packet: its IPv6 header, its extension headers, and as much
 * of the rest as fit. "The upper-layer protocol type is extracted from the original
 * packet" (§2.4 (d)) by walking the quoted chain; if it cannot be (a truncated chain, an
 * unknown header) the message is "silently dropped". We believe a report only if the
 * quoted packet came from our address and quotes the 8 octets that hold the ports.
 */
import { type Ipv6Address, readIpv6 } from "../ipv6/address.ts";
import type { Icmpv6ErrorReport } from "../ipv6/datagram.ts";
import { skipToUpperLayer } from "../ipv6/extension_headers.ts";
import { DESTINATION_ADDRESS, IPV6_HEADER_LENGTH, SOURCE_ADDRESS, viewOf } from "../ipv6/header.ts";
import { Icmpv6Type, Icmpv6UnreachableCode } from "./header.ts";

/** RFC 4443 §3.1 codes mapped to the errno a socket sees (Linux icmpv6_err_convert). */
const ERRNO_BY_UNREACHABLE_CODE: Record<number, Icmpv6ErrorReport["error"]> = {
  [Icmpv6UnreachableCode.NO_ROUTE]: "ENETUNREACH",
  [Icmpv6UnreachableCode.ADMINISTRATIVELY_PROHIBITED]: "EACCES",
  [Icmpv6UnreachableCode.BEYOND_SCOPE]: "EHOSTUNREACH",
  [Icmpv6UnreachableCode.ADDRESS_UNREACHABLE]: "EHOSTUNREACH",
  [Icmpv6UnreachableCode.PORT_UNREACHABLE]: "ECONNREFUSED",
  [Icmpv6UnreachableCode.SOURCE_POLICY_FAILED]: "EACCES",
  [Icmpv6UnreachableCode.REJECT_ROUTE]: "EACCES",
};

/** The errno for an ICMPv6 error of this type and code (Linux icmpv6_err_convert). */
function errnoOf(type: number, code: number): Icmpv6ErrorReport["error"] {
  if (type === Icmpv6Type.DESTINATION_UNREACHABLE) {
    return ERRNO_BY_UNREACHABLE_CODE[code] ?? "EHOSTUNREACH";
  }
  if (type === Icmpv6Type.PACKET_TOO_BIG) return "EMSGSIZE";
  // Time Exceeded is EHOSTUNREACH in Linux; Parameter Problem is EPROTO there, which
  // the report type does not have (as for IPv4): the packet did not get through.
  return "EHOSTUNREACH";
}

/**
 * Parses the packet quoted by an ICMPv6 error (`quote`: the message body after the
 * 8-octet header). For a Packet Too Big, `nextHopMtu` is the MTU the message reports
 * (RFC 4443 §3.2); the caller replaces it with the path MTU it settles on. Returns the
 * report, or a sentence saying why not.
 */
export function reportFromIcmpv6Error(
  header: { readonly type: number; readonly code: number; readonly restOfHeader: number },
  quote: Uint8Array,
  ourAddress: Ipv6Address,
): Icmpv6ErrorReport | string {
  if (quote.length < IPV6_HEADER_LENGTH) return "quoted header truncated";
  if (quote[0]! >>> 4 !== 6) return "quoted packet is not IPv6";
  const source = readIpv6(quote, SOURCE_ADDRESS);
  if (source !== ourAddress) return "quoted packet is not from us";
  // The quote is our own packet: its headers are skipped, not judged. A non-first
  // fragment shows no transport header.
  const chain = skipToUpperLayer(quote);
  if (chain === undefined) return "no upper-layer header in the quote";
  const quoted = quote.subarray(chain.offset);
  if (quoted.length < 8) return "quoted upper-layer header shorter than 8 octets";
  const quotedView = viewOf(quoted);
  return {
    source,
    destination: readIpv6(quote, DESTINATION_ADDRESS),
    protocol: chain.protocol,
    sourcePort: quotedView.getUint16(0),
    destinationPort: quotedView.getUint16(2),
    quoted,
    error: errnoOf(header.type, header.code),
    nextHopMtu: header.type === Icmpv6Type.PACKET_TOO_BIG ? header.restOfHeader >>> 0 : 0,
    icmpType: header.type,
    icmpCode: header.code,
  };
}
