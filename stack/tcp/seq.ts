/**
 * Sequence-number arithmetic, modulo 2^32 (RFC 9293 §3.4).
 *
 * "It is essential to remember that the actual sequence number space is finite,
 * though very large... all arithmetic dealing with sequence numbers must be performed
 * modulo 2**32." This file is the one home of that arithmetic: nothing else in the
 * stack compares sequence numbers with `<`.
 *
 * TCP timestamps are a 32-bit clock compared the same way (RFC 7323 §5.2: "modulo
 * 2^32 ... as for sequence numbers"), so their arithmetic lives here too (`tsClock`).
 *
 * The trick: the difference `(a - b) | 0` is the signed 32-bit distance from b to a,
 * so `a` is "before" `b` when it is negative, as long as the two are within 2^31.
 *
 * @example
 * seqLt(0xfffffff0, 0x10) === true   // 0x10 comes after the wrap
 * seqAdd(0xffffffff, 2) === 1
 */

/** a + n, wrapped to 32 bits. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance a - b (positive when a is after b). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}

/**
 * A TSval clock at `now`: milliseconds plus a per-connection `offset` (RFC 7323 §5.4),
 * wrapped to 32 bits.
 */
export function tsClock(now: number, offset: number): number {
  return seqAdd(Math.floor(now), offset);
}

/** low <= x < high, modulo 2^32 (the form of the RFC 9293 §3.10.7.4 tests). */
export function seqInWindow(x: number, low: number, high: number): boolean {
  return seqLe(low, x) && seqLt(x, high);
}
