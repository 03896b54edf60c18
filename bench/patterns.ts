/**
 * The payloads the services send, so a download can be checked byte for byte.
 *
 * chargen (RFC 864, "Data Syntax"): 72-character lines of the 95 printing ASCII
 * characters taken as a ring; line N starts at character N mod 95; each line ends CR LF.
 * The check (`chargenError`) does not assume which character the ring starts with (the
 * RFC's example starts at "!", BSD inetd at the space): it checks that every line is
 * the ring's next 72 characters and starts one character after the line before.
 *
 * `GET /bytes/N` answers the first N bytes of the same stream (as `examples/http/routes.ts`
 * does), so a body is checked against `chargenBuffer` exactly.
 */

const LINE_CHARACTERS = 72;
const RING = 95;
const LINE_BYTES = LINE_CHARACTERS + 2;
const FIRST_PRINTABLE = 0x20;

/** Character number `n` of the ring; 0 is the space, as in BSD inetd and our services. */
function ringCharacter(n: number): number {
  return FIRST_PRINTABLE + (n % RING);
}

/** One full period of the chargen stream (95 lines), repeated to at least `minBytes`. */
export function chargenBuffer(minBytes: number): Uint8Array {
  const period = RING * LINE_BYTES;
  const periods = Math.max(1, Math.ceil(minBytes / period));
  const bytes = new Uint8Array(periods * period);
  let at = 0;
  for (let p = 0; p < periods; p++) {
    for (let line = 0; line < RING; line++) {
      for (let i = 0; i < LINE_CHARACTERS; i++) bytes[at++] = ringCharacter(line + i);
      bytes[at++] = 0x0d;
      bytes[at++] = 0x0a;
    }
  }
  return bytes;
}

/** The period of `chargenBuffer`, so a sender can wrap around it without a seam. */
export const CHARGEN_PERIOD_BYTES = RING * LINE_BYTES;

/** Why `bytes` (the start of a chargen stream, maybe cut short) is not chargen, or undefined. */
export function chargenError(bytes: Uint8Array): string | undefined {
  let lineStart = -1;
  for (let at = 0; at < bytes.length; at += LINE_BYTES) {
    const first = bytes[at]!;
    if (first < 0x20 || first > 0x7e) return `byte ${at}: line starts with ${first}`;
    const position = first - FIRST_PRINTABLE;
    if (lineStart >= 0 && position !== (lineStart + 1) % RING) {
      return `byte ${at}: line does not start one character after the previous one`;
    }
    lineStart = position;
    const end = Math.min(bytes.length, at + LINE_BYTES);
    for (let i = at + 1; i < end; i++) {
      const column = i - at;
      const expected =
        column < LINE_CHARACTERS
          ? FIRST_PRINTABLE + ((position + column) % RING)
          : column === LINE_CHARACTERS
            ? 0x0d
            : 0x0a;
      if (bytes[i] !== expected) return `byte ${i}: ${bytes[i]} where ${expected} belongs`;
    }
  }
  return undefined;
}
