/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement
 * sum of the data taken as big-endian 16-bit words. IPv4 (RFC 791 §3.1), ICMP (RFC 792),
 * UDP (RFC 768) and TCP (RFC 9293 §3.1) all use it; UDP and TCP also cover a
 * "pseudo-header" of addresses, protocol and length, passed in as `initial`.
 *
 * Speed comes from three properties RFC 1071 §2 lists:
 *  (A) the sum is commutative and associative, so words may be added in any order;
 *  (B) it is byte-order independent: summing byte-swapped words gives the byte-swapped
 *      sum, so we may add whole 32-bit words in the host's own (little-endian) order and
 *      swap once at the end;
 *  (C) carries may be deferred: a JavaScript number holds 53 bits, so we add 32-bit
 *      words and fold the carries back in only at the end.
 *
 * @example
 * // A header whose checksum field is correct sums to 0.
 * internetChecksum(ipv4HeaderBytes) === 0
 */

/** How many 32-bit words can be added before the sum could lose precision (2^53 / 2^32). */
const WORDS_BEFORE_FOLD = 1 << 20;
/** Below this length the word loop's setup costs more than it saves. */
const SHORT = 32;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// A Uint32Array over each of the last few buffers seen. In steady state a handful of
// buffers are summed over and over (the device's receive buffer, the transmit buffers of
// `packet_buffers.ts`), so the checksum allocates nothing; with a single entry, summing a
// received segment and then the ACK built for it replaced the view every time.
const WORD_VIEWS = 4;
const cachedBuffers: (ArrayBufferLike | undefined)[] = new Array(WORD_VIEWS).fill(undefined);
const cachedWords: Uint32Array<ArrayBufferLike>[] = new Array(WORD_VIEWS).fill(new Uint32Array(0));
let nextVictim = 0;

/** Folds carries above bit 15 back into the low 16 bits (end-around carry). */
export function foldCarries(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(value: number): number {
  return ((value & 0xff) << 8) | (value >>> 8);
}

function wordsOf(buffer: ArrayBufferLike, wordsNeeded: number): Uint32Array {
  for (let i = 0; i < WORD_VIEWS; i++) {
    // A resizable buffer may have grown since the view was made.
    if (cachedBuffers[i] === buffer && cachedWords[i]!.length >= wordsNeeded)
      return cachedWords[i]!;
  }
  const words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  cachedBuffers[nextVictim] = buffer;
  cachedWords[nextVictim] = words;
  nextVictim = (nextVictim + 1) % WORD_VIEWS;
  return words;
}

/**
 * Adds bytes[from..to) as big-endian words, by position counted from `base` (where the
 * summed range starts): even positions are high bytes.
 */
function sumBytes(bytes: Uint8Array, base: number, from: number, to: number, sum: number): number {
  let i = from;
  if (((i - base) & 1) === 1 && i < to) sum += bytes[i++]!;
  for (; i + 1 < to; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < to) sum += bytes[i]! << 8;
  return sum;
}

/**
 * The one's complement sum of `bytes[from..to)` (all of it by default) plus `initial`,
 * folded to 16 bits but not complemented. Use it to chain partial sums;
 * `internetChecksum` finishes one. A range instead of a `subarray` spares an object per
 * checksum on the packet path. Word positions count from `from`: the range is summed as
 * if it were a packet of its own.
 */
export function onesComplementSum(
  bytes: Uint8Array,
  initial = 0,
  from = 0,
  to = bytes.length,
): number {
  const length = to - from;
  if (length < SHORT) return foldCarries(sumBytes(bytes, from, from, to, initial));
  // Lead-in up to a 4-byte aligned address, byte by byte.
  const lead = (4 - ((bytes.byteOffset + from) & 3)) & 3;
  let sum = sumBytes(bytes, from, from, from + lead, initial);
  const wordCount = (length - lead) >>> 2;
  const first = (bytes.byteOffset + from + lead) >>> 2;
  const words = wordsOf(bytes.buffer, first + wordCount);
  let native = 0;
  // (C): add up to WORDS_BEFORE_FOLD words with no carry handling, then fold once.
  for (let start = first, end = first + wordCount; start < end; start += WORDS_BEFORE_FOLD) {
    const stop = Math.min(end, start + WORDS_BEFORE_FOLD);
    let chunk = 0;
    for (let w = start; w < stop; w++) chunk += words[w]!;
    native = foldCarries(native + chunk);
  }
  // (B): on a little-endian host each 16-bit half was read byte-swapped, so the sum is
  // swapped too; and if the aligned run starts at an odd position in `bytes`, its words
  // straddle the packet's words, which swaps it once more.
  const swapped = LITTLE_ENDIAN_HOST !== ((lead & 1) === 1);
  sum += swapped ? swap16(native) : native;
  return foldCarries(sumBytes(bytes, from, from + lead + wordCount * 4, to, sum));
}

/**
 * RFC 1071: the checksum to store in a header (with the checksum field zeroed), or, over
 * a header that includes its checksum, 0 when the data is intact. Over `bytes[from..to)`
 * when a range is given (see `onesComplementSum`).
 */
export function internetChecksum(
  bytes: Uint8Array,
  initial = 0,
  from = 0,
  to = bytes.length,
): number {
  return ~onesComplementSum(bytes, initial, from, to) & 0xffff;
}

/**
 * The partial sum of the pseudo-header that UDP (RFC 768) and TCP (RFC 9293 §3.1)
 * prefix to their checksum: source and destination address, zero, protocol, and the
 * transport length. Unfolded; pass it as `initial`.
 */
export function pseudoHeaderSum(
  source: number,
  destination: number,
  protocol: number,
  length: number,
): number {
  return (
    (source >>> 16) +
    (source & 0xffff) +
    (destination >>> 16) +
    (destination & 0xffff) +
    protocol +
    length
  );
}

/**
 * RFC 1624 §3 eqn. 3, HC' = ~(~HC + ~m + m'): the new checksum after one 16-bit word of
 * the covered data changes from `oldWord` to `newWord`, without summing everything again.
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldCarries(sum) & 0xffff;
}
