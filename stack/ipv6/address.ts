/**
 * IPv6 addresses (RFC 4291) as their canonical text (RFC 5952), in a branded string.
 *
 * The whole stack carries an IPv6 address as the one text RFC 5952 allows for it: a
 * string compares with `===`, keys a `Map`, and prints in traces and errors as it is,
 * and the brand makes sure only `parseIpv6`/`readIpv6` (which canonicalize) make one.
 * IPv4 addresses stay unsigned 32-bit numbers (`stack/address.ts`), so `typeof` tells
 * the families apart. Bytes on the wire are converted here, with a small memo of the
 * addresses seen last, since one link sees the same few addresses over and over.
 *
 * @example
 * parseIpv6("FD00:0:0:0:0:0:0:2") === "fd00::2"
 * parseIpv6("::ffff:10.0.0.1") === v4Mapped(0x0a000001)
 * v4MappedToIpv4(parseIpv6("::ffff:10.0.0.1")!) === 0x0a000001
 */

/** An IPv6 address in RFC 5952 canonical text. Made only by this file's functions. */
export type Ipv6Address = string & { readonly __ipv6Address: true };

/** RFC 4291 §2.1: 128 bits. */
export const IPV6_ADDRESS_LENGTH = 16;

/** RFC 4291 §2.5.2: the unspecified address, `::` ("any" in bind(), never a destination). */
export const UNSPECIFIED_IPV6 = "::" as Ipv6Address;
/** RFC 4291 §2.5.3: the loopback address. */
export const LOOPBACK_IPV6 = "::1" as Ipv6Address;
/** RFC 4291 §2.7.1: all nodes, link-local scope. */
export const ALL_NODES = "ff02::1" as Ipv6Address;
/** RFC 4291 §2.7.1: all routers, link-local scope. */
export const ALL_ROUTERS = "ff02::2" as Ipv6Address;
/** RFC 3810 §5.2.14: where MLDv2 reports go (all MLDv2-capable routers). */
export const ALL_MLDV2_ROUTERS = "ff02::16" as Ipv6Address;

// ---------------------------------------------------------------------------------
// Text (RFC 4291 §2.2) to eight 16-bit pieces.

const HEX_PIECE = /^[0-9a-fA-F]{1,4}$/;

/** Parses dotted-quad text into two 16-bit pieces, or undefined (RFC 4291 §2.2 form 3). */
function dottedQuadPieces(text: string): [number, number] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused, as inet_pton does: "010" could be read as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    octets.push(octet);
  }
  return [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
}

/** The pieces of one side of a `::` (or of a whole address without one). */
function piecesOf(text: string, mayEndInIpv4: boolean): number[] | undefined {
  if (text === "") return [];
  const groups = text.split(":");
  const pieces: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (i === groups.length - 1 && mayEndInIpv4 && group.includes(".")) {
      const quad = dottedQuadPieces(group);
      if (quad === undefined) return undefined;
      pieces.push(...quad);
    } else if (HEX_PIECE.test(group)) {
      pieces.push(parseInt(group, 16));
    } else {
      return undefined;
    }
  }
  return pieces;
}

/**
 * The eight pieces of an address in any RFC 4291 §2.2 form: `x:x:x:x:x:x:x:x`, with
 * one `::` for a run of zero pieces, and with the last 32 bits as a dotted quad.
 */
function parsePieces(text: string): number[] | undefined {
  if (text.length > 45 || text.length < 2) return undefined; // "ffff:...:255.255.255.255"
  const gap = text.indexOf("::");
  if (gap < 0) {
    const pieces = piecesOf(text, true);
    return pieces?.length === 8 ? pieces : undefined;
  }
  if (text.indexOf("::", gap + 1) >= 0) return undefined; // §2.2: "::" appears once.
  const head = piecesOf(text.slice(0, gap), false);
  const tail = piecesOf(text.slice(gap + 2), true);
  if (head === undefined || tail === undefined) return undefined;
  // §2.2: "::" stands for one or more groups of zeros.
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

// ---------------------------------------------------------------------------------
// Eight pieces to RFC 5952 text.

/** RFC 5952 §4.2.3: the longest run of two or more zero pieces (the first if tied). */
function longestZeroRun(pieces: ArrayLike<number>): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (pieces[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && pieces[end] === 0) end++;
    if (end - i > best.length) best = { start: i, length: end - i };
    i = end;
  }
  // §4.2.2: "::" MUST NOT be used to shorten just one 16-bit 0 field.
  return best.length >= 2 ? best : { start: -1, length: 0 };
}

/**
 * RFC 5952 §4: hex in lowercase (§4.3), leading zeros suppressed (§4.1), the longest
 * run of zero pieces as `::` (§4.2); §5: an IPv4-mapped address ends in a dotted quad.
 */
function formatPieces(pieces: ArrayLike<number>): Ipv6Address {
  if (isV4MappedPieces(pieces)) {
    const high = pieces[6]!;
    const low = pieces[7]!;
    return `::ffff:${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}` as Ipv6Address;
  }
  const run = longestZeroRun(pieces);
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === run.start) {
      text += "::";
      i += run.length - 1;
      continue;
    }
    if (text !== "" && !text.endsWith(":")) text += ":";
    text += pieces[i]!.toString(16);
  }
  return text as Ipv6Address;
}

function isV4MappedPieces(pieces: ArrayLike<number>): boolean {
  // RFC 4291 §2.5.5.2: 80 zero bits, 16 one bits, then the IPv4 address.
  for (let i = 0; i < 5; i++) if (pieces[i] !== 0) return false;
  return pieces[5] === 0xffff;
}

// ---------------------------------------------------------------------------------
// Public conversions.

/**
 * Parses any RFC 4291 §2.2 text form into the canonical (RFC 5952) address, or
 * undefined. Zone indices (`fe80::1%eth0`, RFC 4007) are not addresses and are refused.
 */
export function parseIpv6(text: string): Ipv6Address | undefined {
  const pieces = parsePieces(text);
  return pieces === undefined ? undefined : formatPieces(pieces);
}

/** True when `text` is already an address in canonical form (what the brand promises). */
export function isCanonicalIpv6(text: string): text is Ipv6Address {
  return parseIpv6(text) === text;
}

/** An IPv6 address and prefix length, as in `fd00::2/64` (RFC 4291 §2.3). */
export interface Ipv6Cidr {
  readonly address: Ipv6Address;
  readonly prefixLength: number;
}

/** Parses `address/prefix-length`; undefined unless both are valid. */
export function parseIpv6Cidr(text: string): Ipv6Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv6(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  return prefixLength > 128 ? undefined : { address, prefixLength };
}

/** Recently read addresses: their 16 bytes and their text (see `readIpv6`). */
const READ_MEMO_SIZE = 8;
const readMemoBytes: Uint8Array[] = Array.from(
  { length: READ_MEMO_SIZE },
  () => new Uint8Array(16),
);
const readMemoText: (Ipv6Address | undefined)[] = new Array(READ_MEMO_SIZE).fill(undefined);
let readMemoNext = 0;
const scratchPieces = new Uint16Array(8);

function sameSixteen(memo: Uint8Array, bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 16; i++) if (memo[i] !== bytes[offset + i]) return false;
  return true;
}

/**
 * The address in `bytes[offset..offset+16)` (network order), e.g. a header's source.
 * The caller has checked that the 16 bytes are there.
 */
export function readIpv6(bytes: Uint8Array, offset = 0): Ipv6Address {
  for (let i = 0; i < READ_MEMO_SIZE; i++) {
    const text = readMemoText[i];
    if (text !== undefined && sameSixteen(readMemoBytes[i]!, bytes, offset)) return text;
  }
  for (let i = 0; i < 8; i++) {
    scratchPieces[i] = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!;
  }
  const text = formatPieces(scratchPieces);
  readMemoBytes[readMemoNext]!.set(bytes.subarray(offset, offset + 16));
  readMemoText[readMemoNext] = text;
  readMemoNext = (readMemoNext + 1) % READ_MEMO_SIZE;
  return text;
}

/** Bytes of addresses already converted, bounded (a host talks to few peers at once). */
const BYTES_MEMO_LIMIT = 1024;
const bytesMemo = new Map<Ipv6Address, Uint8Array>();

/**
 * The 16 bytes of an address (network order). The array is shared and must not be
 * written; use `writeIpv6` to put an address into a packet.
 */
export function ipv6Bytes(address: Ipv6Address): Uint8Array {
  const known = bytesMemo.get(address);
  if (known !== undefined) return known;
  const pieces = parsePieces(address);
  if (pieces === undefined) throw new Error(`not an IPv6 address: ${JSON.stringify(address)}`);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = pieces[i]! >>> 8;
    bytes[2 * i + 1] = pieces[i]! & 0xff;
  }
  if (bytesMemo.size >= BYTES_MEMO_LIMIT) bytesMemo.clear();
  bytesMemo.set(address, bytes);
  return bytes;
}

/** Writes the address's 16 bytes into `buffer` at `offset`. */
export function writeIpv6(address: Ipv6Address, buffer: Uint8Array, offset = 0): void {
  buffer.set(ipv6Bytes(address), offset);
}

/** The address whose bytes are the 16 given (a copy is not kept). */
export function ipv6FromBytes(bytes: Uint8Array): Ipv6Address {
  if (bytes.length !== 16) throw new Error(`an IPv6 address is 16 bytes, not ${bytes.length}`);
  return readIpv6(bytes, 0);
}

// ---------------------------------------------------------------------------------
// Prefixes and classification (RFC 4291 §2.4).

/** True when the first `prefixLength` bits of `address` and `prefix` agree (§2.3). */
export function inIpv6Prefix(
  address: Ipv6Address,
  prefix: Ipv6Address,
  prefixLength: number,
): boolean {
  const a = ipv6Bytes(address);
  const p = ipv6Bytes(prefix);
  const whole = prefixLength >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== p[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (p[whole]! & mask);
}

export function isUnspecifiedIpv6(address: Ipv6Address): boolean {
  return address === UNSPECIFIED_IPV6;
}

export function isLoopbackIpv6(address: Ipv6Address): boolean {
  return address === LOOPBACK_IPV6;
}

/**
 * §2.7: ff00::/8. Read from the canonical text, on every packet's path: the first
 * group is then exactly four digits starting "ff" (0x00ff is "ff:", 0x0ff1 is "ff1:").
 */
export function isMulticastIpv6(address: Ipv6Address): boolean {
  return (
    address.charCodeAt(0) === 0x66 && // "f"
    address.charCodeAt(1) === 0x66 &&
    address.charCodeAt(2) !== 0x3a && // ":"
    address.charCodeAt(3) !== 0x3a &&
    address.charCodeAt(4) === 0x3a
  );
}

/** §2.5.6: fe80::/10. */
export function isLinkLocalIpv6(address: Ipv6Address): boolean {
  const b = ipv6Bytes(address);
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** §2.7: the scope of a multicast address (2: link-local, 5: site, 14: global). */
export function multicastScope(address: Ipv6Address): number {
  return ipv6Bytes(address)[1]! & 0x0f;
}

/** §2.5.5.2: `::ffff:a.b.c.d` for the IPv4 address `ipv4` (an unsigned 32-bit number). */
export function v4Mapped(ipv4: number): Ipv6Address {
  ipv4 >>>= 0;
  return `::ffff:${ipv4 >>> 24}.${(ipv4 >>> 16) & 0xff}.${(ipv4 >>> 8) & 0xff}.${ipv4 & 0xff}` as Ipv6Address;
}

/** The IPv4 address inside a v4-mapped address (§2.5.5.2), or undefined if it is not one. */
export function v4MappedToIpv4(address: Ipv6Address): number | undefined {
  if (!address.startsWith("::ffff:") || !address.includes(".")) return undefined;
  const b = ipv6Bytes(address);
  return ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
}

export function isV4MappedIpv6(address: Ipv6Address): boolean {
  return v4MappedToIpv4(address) !== undefined;
}

/**
 * §2.7.1: the solicited-node multicast address of a unicast address, ff02::1:ff00:0/104
 * followed by its low 24 bits. Neighbour Solicitations for the address go to it.
 */
export function solicitedNodeAddress(address: Ipv6Address): Ipv6Address {
  const b = ipv6Bytes(address);
  const bytes = new Uint8Array(16);
  bytes.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13]!, b[14]!, b[15]!]);
  return readIpv6(bytes);
}

/** True when `address` is in the solicited-node range ff02::1:ff00:0/104 (§2.7.1). */
export function isSolicitedNodeIpv6(address: Ipv6Address): boolean {
  return inIpv6Prefix(address, SOLICITED_NODE_PREFIX, 104);
}

const SOLICITED_NODE_PREFIX = "ff02::1:ff00:0" as Ipv6Address;
