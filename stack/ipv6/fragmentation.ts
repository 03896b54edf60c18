/**
 * Fragmentation at the source (RFC 8200 §4.5): only the node that sends a packet may
 * fragment it, never a router on the path (§5), so a packet larger than the path MTU
 * is cut here. Our packets have no extension headers, so the Unfragmentable Part is the
 * fixed header alone and the Fragmentable Part is the upper-layer header and data:
 *
 *    original:   | IPv6 header | upper-layer header and data ...            |
 *    fragments:  | IPv6 header | Fragment (off 0,    M=1, id) | first part  |
 *                | IPv6 header | Fragment (off n,    M=1, id) | next part   |
 *                | IPv6 header | Fragment (off last, M=0, id) | last part   |
 *
 * Each part but the last is a multiple of 8 octets; each fragment fits the path MTU.
 */
import { NextHeader } from "./datagram.ts";
import { emitFragmentHeader, FRAGMENT_HEADER_LENGTH } from "./fragment_header.ts";
import { emitIpv6Header, IPV6_HEADER_LENGTH, type Ipv6Header } from "./header.ts";

/**
 * Sends `packet` (IPV6_HEADER_LENGTH bytes of headroom, then the upper-layer bytes) as
 * fragments of at most `mtu` octets, calling `send` for each in offset order. `header`
 * is the original packet's header (its Next Header the upper layer's).
 */
export function fragmentAndSend(
  packet: Uint8Array,
  header: Ipv6Header,
  options: { readonly mtu: number; readonly identification: number },
  send: (fragment: Uint8Array) => void,
): void {
  const data = packet.subarray(IPV6_HEADER_LENGTH);
  const headroom = IPV6_HEADER_LENGTH + FRAGMENT_HEADER_LENGTH;
  // §4.5: "the lengths of the fragments must be chosen such that the resulting fragment
  // packets fit within the MTU of the path", in whole 8-octet units but for the last.
  const maxData = Math.floor((options.mtu - headroom) / 8) * 8;
  for (let offset = 0; offset < data.length; offset += maxData) {
    const part = data.subarray(offset, Math.min(offset + maxData, data.length));
    // A fresh buffer per fragment: `send` may re-enter the stack (a simulated link).
    const fragment = new Uint8Array(headroom + part.length);
    fragment.set(part, headroom);
    emitIpv6Header(fragment, {
      ...header,
      payloadLength: FRAGMENT_HEADER_LENGTH + part.length,
      nextHeader: NextHeader.FRAGMENT,
    });
    emitFragmentHeader(fragment, IPV6_HEADER_LENGTH, {
      nextHeader: header.nextHeader,
      fragmentOffset: offset,
      moreFragments: offset + part.length < data.length,
      identification: options.identification,
    });
    send(fragment);
  }
}
