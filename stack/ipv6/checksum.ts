/**
 * The IPv6 pseudo-header (RFC 8200 §8.1) that TCP, UDP and ICMPv6 (RFC 4443 §2.3)
 * prefix to their checksums:
 *
 *    +                         Source Address (128 bits)                           +
 *    +                      Destination Address (128 bits)                         +
 *    |                   Upper-Layer Packet Length (32 bits)                         |
 *    |                      zero (24 bits)                    |  Next Header (8)   |
 *
 * Summed as 16-bit words it is the two addresses, plus the length, plus the next
 * header: `addressSum + protocol + length`, the same shape as IPv4's (`checksum.ts`
 * `pseudoHeaderSum`), so the transports compute it one way for both families.
 *
 * RFC 8200 §8.1: unlike IPv4, a UDP checksum is mandatory over IPv6; a zero checksum
 * means "none" and the datagram is discarded (the transport enforces that).
 */
import { type Ipv6Address, ipv6Bytes } from "./address.ts";

/** The 16-bit words of 16 address bytes at `offset`, summed (unfolded). */
export function addressWordsSum(bytes: Uint8Array, offset: number): number {
  let sum = 0;
  for (let i = offset; i < offset + 16; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  return sum;
}

/** Both addresses' words summed (unfolded): `Ipv6Datagram.addressSum`. */
export function ipv6AddressSum(source: Ipv6Address, destination: Ipv6Address): number {
  return addressWordsSum(ipv6Bytes(source), 0) + addressWordsSum(ipv6Bytes(destination), 0);
}

/**
 * The partial sum of the IPv6 pseudo-header, unfolded; pass it as `initial` to
 * `internetChecksum`. `length` is the upper-layer length (header and data) in octets.
 */
export function ipv6PseudoHeaderSum(
  source: Ipv6Address,
  destination: Ipv6Address,
  protocol: number,
  length: number,
): number {
  // The 32-bit length is two words; the zero octets add nothing.
  return ipv6AddressSum(source, destination) + (length >>> 16) + (length & 0xffff) + protocol;
}
