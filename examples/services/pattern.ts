/**
 * The character generator pattern of RFC 864 ("Data Syntax"): 72-character lines of the
 * 95 ASCII printing characters, each line starting one character further round the ring,
 * each ending in CR LF. After 95 lines the pattern repeats, so a buffer holding a whole
 * number of periods can be sent again and again and the stream stays continuous.
 */

/** RFC 864: "There are 95 printing characters", space (0x20) through tilde (0x7e). */
const PRINTING = 95;
const FIRST_PRINTING = 0x20;
/** RFC 864: "72 character lines", plus CR LF. */
export const LINE_BYTES = 72 + 2;
/** Bytes before the pattern repeats: 95 lines. */
export const PERIOD_BYTES = PRINTING * LINE_BYTES;

/** Line `n` of the pattern: characters (0 + n mod 95) through (71 + n mod 95), then CR LF. */
export function chargenLine(n: number): Uint8Array {
  const line = new Uint8Array(LINE_BYTES);
  for (let i = 0; i < 72; i++) line[i] = FIRST_PRINTING + ((n + i) % PRINTING);
  line[72] = 0x0d;
  line[73] = 0x0a;
  return line;
}

/**
 * `periods` whole periods of the pattern in one buffer (9 periods = 63,270 bytes, just
 * under 64 KiB), built once and reused for every write.
 */
export function chargenBuffer(periods = 9): Uint8Array {
  const buffer = new Uint8Array(periods * PERIOD_BYTES);
  for (let line = 0; line < periods * PRINTING; line++) {
    buffer.set(chargenLine(line % PRINTING), line * LINE_BYTES);
  }
  return buffer;
}
