/**
 * Fragmentation on output (RFC 791 §3.2 "Fragmentation", RFC 1122 §3.3.3).
 *
 * A datagram larger than the link MTU is cut into fragments whose data lengths are
 * multiples of 8 octets (the Fragment Offset counts 8-octet units), except the last.
 * Each fragment gets a copy of the header with its own Total Length, Fragment Offset
 * and More Fragments bit; the identification is shared, which is how the receiver
 * knows the pieces belong together.
 */
import { emitIpv4Header, IPV4_HEADER_LENGTH, type Ipv4HeaderFields } from "./header.ts";

/**
 * Sends `packet` (IPV4_HEADER_LENGTH bytes of headroom, then the data) as fragments of
 * at most `mtu` bytes, calling `send` for each in offset order.
 */
export function fragmentAndSend(
  packet: Uint8Array,
  fields: Ipv4HeaderFields,
  mtu: number,
  send: (fragment: Uint8Array) => void,
): void {
  const data = packet.subarray(IPV4_HEADER_LENGTH);
  // RFC 791 §3.2: "the number of 8-octet blocks" that fit after the header.
  const maxData = Math.floor((mtu - IPV4_HEADER_LENGTH) / 8) * 8;
  for (let offset = 0; offset < data.length; offset += maxData) {
    const chunk = data.subarray(offset, Math.min(offset + maxData, data.length));
    // A fresh buffer per fragment (fragmenting is rare): a shared scratch buffer would be
    // overwritten if `send` re-entered the stack, as a synchronous simulated link can.
    const fragment = new Uint8Array(IPV4_HEADER_LENGTH + chunk.length);
    fragment.set(chunk, IPV4_HEADER_LENGTH);
    emitIpv4Header(fragment, {
      ...fields,
      totalLength: fragment.length,
      fragmentOffset: offset,
      moreFragments: offset + chunk.length < data.length,
    });
    send(fragment);
  }
}
