/**
 * The Fragment header (RFC 8200 §4.5), 8 octets:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Identification                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The offset counts 8-octet units of the Fragmentable Part; M is "more fragments".
 */
import { viewOf } from "./header.ts";

export const FRAGMENT_HEADER_LENGTH = 8;

// Offsets within the Fragment header.
export const FRAGMENT_NEXT_HEADER = 0;
export const FRAGMENT_OFFSET_FLAGS = 2;
export const FRAGMENT_IDENTIFICATION = 4;

const OFFSET_MASK = 0xfff8;
const MORE_FRAGMENTS = 0x0001;

export interface FragmentHeader {
  readonly nextHeader: number;
  /** In octets (the field times 8). */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  readonly identification: number;
}

/** Reads the Fragment header at `offset`; the caller has checked the 8 octets are there. */
export function parseFragmentHeader(packet: Uint8Array, offset: number): FragmentHeader {
  const view = viewOf(packet);
  const offsetFlags = view.getUint16(offset + FRAGMENT_OFFSET_FLAGS);
  return {
    nextHeader: view.getUint8(offset + FRAGMENT_NEXT_HEADER),
    fragmentOffset: offsetFlags & OFFSET_MASK,
    moreFragments: (offsetFlags & MORE_FRAGMENTS) !== 0,
    identification: view.getUint32(offset + FRAGMENT_IDENTIFICATION),
  };
}

/** Writes a Fragment header at `offset` (the Reserved fields zero, §4.5). */
export function emitFragmentHeader(
  packet: Uint8Array,
  offset: number,
  header: FragmentHeader,
): void {
  const view = viewOf(packet);
  view.setUint8(offset + FRAGMENT_NEXT_HEADER, header.nextHeader);
  view.setUint8(offset + 1, 0);
  view.setUint16(
    offset + FRAGMENT_OFFSET_FLAGS,
    (header.fragmentOffset & OFFSET_MASK) | (header.moreFragments ? MORE_FRAGMENTS : 0),
  );
  view.setUint32(offset + FRAGMENT_IDENTIFICATION, header.identification >>> 0);
}
