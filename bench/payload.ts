/**
 * The body of `GET /bytes/N`, so a download can be compared with the reference.
 *
 * Must match what `examples/http/server.ts` sends (see `bytesBuffer` there once it lands).
 */

/** Length of one repetition of the body pattern. */
export const BYTES_PERIOD = 256;

/** The body pattern (byte i is i mod 256), repeated to at least `minBytes`. */
export function bytesBuffer(minBytes: number): Uint8Array {
  const periods = Math.max(1, Math.ceil(minBytes / BYTES_PERIOD));
  const bytes = new Uint8Array(periods * BYTES_PERIOD);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  return bytes;
}
