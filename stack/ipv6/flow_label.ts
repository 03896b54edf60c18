/**
 * Flow labels for our flows (RFC 6437).
 *
 * §3: a source labels the packets of one flow with one 20-bit value, and "flow label
 * values should be chosen such that their bits exhibit a high degree of variability",
 * so that routers can hash on them for load balancing; §6.3 (and RFC 7098) says to
 * derive them from a hash of the flow's addresses, ports and protocol with a secret, so
 * that a value is stable for the flow, not guessable by outsiders, and needs no state.
 * A label of zero means "unlabeled" (§2), so a zero hash becomes 1.
 *
 * @example
 * const label = flowLabelOf({ source, destination, protocol: 6, sourcePort, destinationPort }, key);
 */
import { type Ipv6Address, ipv6Bytes } from "./address.ts";

export interface Flow {
  readonly source: Ipv6Address;
  readonly destination: Ipv6Address;
  readonly protocol: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** One step of a keyed 32-bit mix (the multiply and rotate of MurmurHash3's body). */
function mix(hash: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  hash ^= k;
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

function mixAddress(hash: number, address: Ipv6Address): number {
  const b = ipv6Bytes(address);
  for (let i = 0; i < 16; i += 4) {
    hash = mix(hash, (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
  }
  return hash;
}

/** The flow's label under `key` (a secret 32-bit number): 20 bits, never zero. */
export function flowLabelOf(flow: Flow, key: number): number {
  let hash = key | 0;
  hash = mixAddress(hash, flow.source);
  hash = mixAddress(hash, flow.destination);
  hash = mix(hash, (flow.sourcePort << 16) | flow.destinationPort);
  hash = mix(hash, flow.protocol);
  // MurmurHash3's finalizer, so every input bit reaches the 20 kept.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  const label = hash & 0xfffff;
  return label === 0 ? 1 : label;
}

/**
 * The label of the flow a packet we built belongs to: its ports are the first 4
 * octets of the upper-layer header, right after the fixed header (we send no extension
 * headers). Unlabeled (0) when the packet is too short to hold them.
 */
export function packetFlowLabel(
  packet: Uint8Array,
  flow: {
    readonly protocol: number;
    readonly source: Ipv6Address;
    readonly destination: Ipv6Address;
  },
  key: number,
): number {
  const at = 40;
  if (packet.length < at + 4) return 0;
  const sourcePort = (packet[at]! << 8) | packet[at + 1]!;
  const destinationPort = (packet[at + 2]! << 8) | packet[at + 3]!;
  return flowLabelOf({ ...flow, sourcePort, destinationPort }, key);
}
