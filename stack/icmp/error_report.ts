/**
 * Turning a received ICMP error into an `IcmpErrorReport` for the transport that sent
 * the offending datagram. RFC 1122 says each kind MUST reach the transport layer:
 * Destination Unreachable (§3.2.2.1), Time Exceeded (§3.2.2.4), Parameter Problem
 * (§3.2.2.5). Source Quench (deprecated, RFC 6633) and Redirect (no routes) do not.
 *
 * The message quotes our own datagram: its IP header and at least its first 8 data
 * octets (RFC 792), enough for the two port numbers (and TCP's sequence number). We
 * believe a report only if the quoted header really is one of ours.
 */
import type { IcmpErrorReport } from "../ipv4/datagram.ts";
import { viewOf } from "../ipv4/header.ts";
import { IcmpType, UnreachableCode } from "./header.ts";

/** RFC 1122 §3.2.2.1 codes mapped to the errno a socket sees (Linux icmp_err_convert). */
const ERRNO_BY_CODE: Record<number, IcmpErrorReport["error"]> = {
  [UnreachableCode.NET]: "ENETUNREACH",
  [UnreachableCode.HOST]: "EHOSTUNREACH",
  // Linux reports ENOPROTOOPT; the report type has no such code, and "refused" is what it means.
  [UnreachableCode.PROTOCOL]: "ECONNREFUSED",
  [UnreachableCode.PORT]: "ECONNREFUSED",
  [UnreachableCode.FRAGMENTATION_NEEDED]: "EMSGSIZE",
  [UnreachableCode.SOURCE_ROUTE_FAILED]: "EHOSTUNREACH",
  [UnreachableCode.NET_UNKNOWN]: "ENETUNREACH",
  [UnreachableCode.HOST_UNKNOWN]: "EHOSTUNREACH",
};

/** The errno for an ICMP error of this type and code. */
function errnoOf(type: number, code: number): IcmpErrorReport["error"] {
  if (type === IcmpType.DESTINATION_UNREACHABLE) {
    // Codes 8-15 (RFC 1122 §3.2.2.1, RFC 1812) are all flavours of "host unreachable".
    return ERRNO_BY_CODE[code] ?? "EHOSTUNREACH";
  }
  // Time Exceeded is EHOSTUNREACH in Linux too; Parameter Problem is EPROTO there, which
  // the report type does not have: the datagram did not get through, so "unreachable".
  return "EHOSTUNREACH";
}

/**
 * Parses the datagram quoted by an ICMP error (`quote` is the ICMP data after the
 * 8-octet header). Returns the report, or a sentence saying why not.
 */
export function reportFromIcmpError(
  header: { readonly type: number; readonly code: number; readonly restOfHeader: number },
  quote: Uint8Array,
  ourAddress: number,
): IcmpErrorReport | string {
  const { type, code, restOfHeader } = header;
  if (quote.length < 20) return "quoted header truncated";
  const view = viewOf(quote);
  const versionIhl = view.getUint8(0);
  const headerLength = (versionIhl & 0x0f) * 4;
  if (versionIhl >>> 4 !== 4 || headerLength < 20) return "quoted header is not IPv4";
  // RFC 792: "the internet header plus the first 64 bits of the original datagram's data".
  if (quote.length < headerLength + 8) return "quoted data shorter than 8 octets";
  const source = view.getUint32(12);
  if (source !== ourAddress) return "quoted datagram is not from us";
  const quoted = quote.subarray(headerLength);
  const quotedView = viewOf(quoted);
  return {
    source,
    destination: view.getUint32(16),
    protocol: view.getUint8(9),
    sourcePort: quotedView.getUint16(0),
    destinationPort: quotedView.getUint16(2),
    quoted,
    error: errnoOf(type, code),
    // RFC 1191 §4: the next-hop MTU is in the low 16 bits; 0 from routers predating it.
    nextHopMtu:
      type === IcmpType.DESTINATION_UNREACHABLE && code === UnreachableCode.FRAGMENTATION_NEEDED
        ? restOfHeader & 0xffff
        : 0,
    icmpType: type,
    icmpCode: code,
  };
}
