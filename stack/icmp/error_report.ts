/**
 * Turning a received Destination Unreachable into an `IcmpErrorReport` for the
 * transport that sent the offending datagram (RFC 1122 §3.2.2.1: "A Destination
 * Unreachable message that is received MUST be reported to the transport layer").
 *
 * The message quotes our own datagram: its IP header and at least its first 8 data
 * octets (RFC 792), enough for the two port numbers (and TCP's sequence number). We
 * believe a report only if the quoted header really is one of ours.
 */
import type { IcmpErrorReport } from "../ipv4/datagram.ts";
import { viewOf } from "../ipv4/header.ts";
import { UnreachableCode } from "./header.ts";

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

/**
 * Parses the quoted datagram of a Destination Unreachable (`quote` is the ICMP data
 * after the 8-octet header). Returns the report, or a sentence saying why not.
 */
export function reportFromUnreachable(
  code: number,
  restOfHeader: number,
  quote: Uint8Array,
  ourAddress: number,
): IcmpErrorReport | string {
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
    // Codes 8-15 (RFC 1122 §3.2.2.1, RFC 1812) are all flavours of "host unreachable".
    error: ERRNO_BY_CODE[code] ?? "EHOSTUNREACH",
    // RFC 1191 §4: the next-hop MTU is in the low 16 bits; 0 from routers predating it.
    nextHopMtu: code === UnreachableCode.FRAGMENTATION_NEEDED ? restOfHeader & 0xffff : 0,
  };
}
