/**
 * Walking the extension-header chain (RFC 8200 §4) to the upper-layer header.
 *
 * Each header names the next in its first octet; the walk follows them in order (§4:
 * "strictly in the order they appear") and stops at the upper layer, at No Next Header
 * (§4.7), or at a Fragment header (§4.5), whose rest is reassembled before the walk
 * goes on (`ipv6.ts`). Every step reads only what the packet has: a header that runs
 * past the end, or a chain longer than `MAX_EXTENSION_HEADERS`, ends the walk with a
 * drop, never an exception. Offsets only grow, so a chain cannot loop.
 *
 * Every extension header but the Fragment header has this shape (§4.3, §4.4, §4.6):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |  Hdr Ext Len  |  (type-specific: options, or  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Routing Type, Segments Left)|
 *    .                                                               .
 * Hdr Ext Len counts 8-octet units beyond the first 8.
 */
import { NextHeader } from "./datagram.ts";
import { NEXT_HEADER } from "./header.ts";
import { type OptionsVerdict, processOptions } from "./options.ts";

/**
 * More extension headers than any real packet carries (RFC 8200 §4.1 recommends at
 * most six); a longer chain is an attack on the walk and is dropped (RFC 8504 §5.3
 * lets a host limit it).
 */
export const MAX_EXTENSION_HEADERS = 16;

/** RFC 4443 §3.4 Parameter Problem codes. */
export const ParameterProblemCode = {
  ERRONEOUS_HEADER_FIELD: 0,
  UNRECOGNIZED_NEXT_HEADER: 1,
  UNRECOGNIZED_OPTION: 2,
  /** RFC 7112 §5: the first fragment lacks the whole header chain. */
  INCOMPLETE_CHAIN: 3,
} as const;

/** Where the walk ended. Offsets count from the start of the fixed header. */
export type ChainEnd =
  /** The upper-layer header `protocol` starts at `offset`. */
  | { readonly kind: "upper"; readonly protocol: number; readonly offset: number }
  /** A Fragment header at `offset`; `nextHeaderAt` is the field that named it. */
  | { readonly kind: "fragment"; readonly offset: number; readonly nextHeaderAt: number }
  /** §4.7: Next Header 59, nothing follows that we should read. */
  | { readonly kind: "noNextHeader" }
  /** Dropped silently, counted under `reason`; `truncated`: the packet ended mid-header. */
  | {
      readonly kind: "drop";
      readonly reason: string;
      readonly detail: string;
      readonly truncated?: boolean;
    }
  /**
   * Dropped, and a Parameter Problem (`code`, `pointer`) is owed to the source; when
   * `evenToMulticast` is false it is sent only if the destination was not multicast.
   */
  | {
      readonly kind: "problem";
      readonly reason: string;
      readonly detail: string;
      readonly code: number;
      readonly pointer: number;
      readonly evenToMulticast: boolean;
    };

/** Where a walk starts: after the fixed header, or after a reassembled Fragment header. */
export interface ChainStart {
  readonly nextHeader: number;
  readonly offset: number;
  /** The offset of the Next Header field that holds `nextHeader` (for the pointer). */
  readonly nextHeaderAt: number;
  /** How many extension headers came before (the walk's budget is shared). */
  readonly headersSoFar: number;
}

/** The start of every packet's walk: the fixed header's Next Header. */
export function chainStartOf(packet: Uint8Array): ChainStart {
  return {
    nextHeader: packet[NEXT_HEADER]!,
    offset: 40,
    nextHeaderAt: NEXT_HEADER,
    headersSoFar: 0,
  };
}

function isUpperLayer(nextHeader: number): boolean {
  return (
    nextHeader === NextHeader.TCP ||
    nextHeader === NextHeader.UDP ||
    nextHeader === NextHeader.ICMPV6
  );
}

/** Walks from `start` to the end of the chain (see `ChainEnd`). */
export function walkChain(packet: Uint8Array, start: ChainStart): ChainEnd {
  let { nextHeader, offset, nextHeaderAt } = start;
  for (let count = start.headersSoFar; ; count++) {
    if (isUpperLayer(nextHeader)) return { kind: "upper", protocol: nextHeader, offset };
    if (nextHeader === NextHeader.NO_NEXT_HEADER) return { kind: "noNextHeader" };
    if (count >= MAX_EXTENSION_HEADERS) {
      return { kind: "drop", reason: "ipv6InHdrErrors", detail: "extension header chain too long" };
    }
    const step = stepOver(packet, { nextHeader, offset, nextHeaderAt, first: count === 0 });
    if (step.kind !== "next") return step;
    nextHeaderAt = offset;
    nextHeader = packet[offset]!;
    offset = step.offset;
  }
}

type Step =
  | { readonly kind: "next"; readonly offset: number }
  | Exclude<ChainEnd, { kind: "upper" }>;

/**
 * One extension header at `offset`: checks it and says where the next starts. `first`:
 * no header came before it (not even a Fragment header since reassembled).
 */
function stepOver(
  packet: Uint8Array,
  at: {
    readonly nextHeader: number;
    readonly offset: number;
    readonly nextHeaderAt: number;
    readonly first: boolean;
  },
): Step {
  const { nextHeader, offset, nextHeaderAt } = at;
  switch (nextHeader) {
    case NextHeader.HOP_BY_HOP:
      // §4.3: Hop-by-Hop "is restricted to appear immediately after an IPv6 header";
      // Linux answers one anywhere else as an unrecognized Next Header.
      if (!at.first) {
        return unrecognizedNextHeader(nextHeaderAt, "hop-by-hop options not first");
      }
      return optionsHeader(packet, offset);
    case NextHeader.DESTINATION_OPTIONS:
      return optionsHeader(packet, offset);
    case NextHeader.ROUTING:
      return routingHeader(packet, offset);
    case NextHeader.FRAGMENT:
      if (offset + 8 > packet.length) return truncated("fragment header");
      return { kind: "fragment", offset, nextHeaderAt };
    default:
      // §4: "it should discard the packet and send an ICMP Parameter Problem message to
      // the source of the packet, with an ICMP Code value of 1 ... pointer field
      // indicating the offset of the unrecognized value within the original packet".
      // ESP and AH (RFC 4303, RFC 4302) are among them: no IPsec here.
      return unrecognizedNextHeader(nextHeaderAt, `next header ${nextHeader}`);
  }
}

function unrecognizedNextHeader(nextHeaderAt: number, detail: string): Step {
  return {
    kind: "problem",
    reason: "ipv6InUnknownProtos",
    detail,
    code: ParameterProblemCode.UNRECOGNIZED_NEXT_HEADER,
    pointer: nextHeaderAt,
    evenToMulticast: false,
  };
}

function truncated(what: string): Step {
  return {
    kind: "drop",
    reason: "ipv6InHdrErrors",
    detail: `${what} runs past the packet`,
    truncated: true,
  };
}

/** The length of a generic extension header at `offset` (§4.3), if the packet holds it. */
function extensionLength(packet: Uint8Array, offset: number): number | undefined {
  if (offset + 2 > packet.length) return undefined;
  const length = (packet[offset + 1]! + 1) * 8;
  return offset + length > packet.length ? undefined : length;
}

/** Hop-by-Hop (§4.3) or Destination Options (§4.6): the options decide. */
function optionsHeader(packet: Uint8Array, offset: number): Step {
  const length = extensionLength(packet, offset);
  if (length === undefined) return truncated("options header");
  const verdict: OptionsVerdict = processOptions(packet, offset + 2, offset + length);
  if (verdict.kind === "accept") return { kind: "next", offset: offset + length };
  if (verdict.kind === "malformed") {
    return { kind: "drop", reason: "ipv6InHdrErrors", detail: verdict.detail };
  }
  if (verdict.kind === "discard") {
    return { kind: "drop", reason: "ipv6InUnknownOptions", detail: verdict.detail };
  }
  return {
    kind: "problem",
    reason: "ipv6InUnknownOptions",
    detail: verdict.detail,
    code: ParameterProblemCode.UNRECOGNIZED_OPTION,
    pointer: verdict.pointer,
    evenToMulticast: verdict.evenToMulticast,
  };
}

/**
 * The Routing header (§4.4):
 *
 *    | Next Header | Hdr Ext Len | Routing Type | Segments Left |
 *    | type-specific data ...
 *
 * A host is the last hop of every route it accepts: "If Segments Left is zero, the
 * node must ignore the Routing header and proceed to process the next header". With
 * segments left it would have to forward, which a host does not, so every type is
 * handled as unrecognized: a Parameter Problem, code 0, pointing at the Routing Type.
 * RFC 5095 §3 requires exactly that of Type 0 (the source-routing amplification).
 */
function routingHeader(packet: Uint8Array, offset: number): Step {
  const length = extensionLength(packet, offset);
  if (length === undefined) return truncated("routing header");
  const routingType = packet[offset + 2]!;
  const segmentsLeft = packet[offset + 3]!;
  if (segmentsLeft === 0) return { kind: "next", offset: offset + length };
  return {
    kind: "problem",
    reason: "ipv6InHdrErrors",
    detail: `routing header type ${routingType} with ${segmentsLeft} segments left`,
    code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD,
    pointer: offset + 2,
    evenToMulticast: false,
  };
}

/**
 * The upper-layer protocol and where its header starts, found by skipping extension
 * headers by their lengths alone, without judging their contents (as Linux's
 * ipv6_skip_exthdr): what ICMPv6 asks of a packet it might send an error about, even
 * one whose options were refused (RFC 4443 §2.4 (e.1)). Undefined when the chain is
 * truncated, too long, or leads to a non-first fragment or an unknown header.
 */
export function skipToUpperLayer(
  packet: Uint8Array,
): { readonly protocol: number; readonly offset: number } | undefined {
  let nextHeader = packet[NEXT_HEADER];
  let offset = 40;
  for (let count = 0; count <= MAX_EXTENSION_HEADERS && nextHeader !== undefined; count++) {
    if (isUpperLayer(nextHeader)) return { protocol: nextHeader, offset };
    if (nextHeader === NextHeader.FRAGMENT) {
      if (offset + 8 > packet.length) return undefined;
      // Fragment Offset (13 bits) in octets 2-3 above the low 3: only offset 0 shows more.
      if ((((packet[offset + 2]! << 8) | packet[offset + 3]!) & 0xfff8) !== 0) return undefined;
      nextHeader = packet[offset];
      offset += 8;
      continue;
    }
    if (
      nextHeader !== NextHeader.HOP_BY_HOP &&
      nextHeader !== NextHeader.DESTINATION_OPTIONS &&
      nextHeader !== NextHeader.ROUTING
    ) {
      return undefined;
    }
    const length = extensionLength(packet, offset);
    if (length === undefined) return undefined;
    nextHeader = packet[offset];
    offset += length;
  }
  return undefined;
}
