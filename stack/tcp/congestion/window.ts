/**
 * The window arithmetic both controllers share: the initial window (RFC 6928), the
 * initial ssthresh, the duplicate-ACK threshold, and slow start with appropriate byte
 * counting (RFC 5681 §3.1, RFC 3465).
 */

/** RFC 5681 §3.2 / RFC 6675 §2: three duplicate ACKs signal a loss. */
export const DUP_THRESH = 3;

/**
 * RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high (e.g.,
 * to the size of the largest possible advertised window)". 2^30 bytes is the largest
 * window RFC 7323 §2.3 allows (65535 << 14), rounded up.
 */
export const INITIAL_SSTHRESH = 2 ** 30;

/**
 * RFC 3465 §2.2: during slow start cwnd grows by at most L bytes per ACK; L = 2·SMSS
 * tolerates delayed ACKs (one ACK per two segments) without letting "ACK division"
 * inflate cwnd.
 */
export const ABC_LIMIT_SEGMENTS = 2;

/**
 * The initial window, bytes. RFC 6928 §2: IW = min(10·MSS, max(2·MSS, 14600)).
 * Other segment counts scale the byte cap the same way (1460 bytes per segment).
 *
 * @example
 * initialWindow(1460) === 14600; initialWindow(536) === 5360; initialWindow(9000) === 18000
 */
export function initialWindow(mss: number, segments = 10): number {
  return Math.min(segments * mss, Math.max(2 * mss, 1460 * segments));
}

/**
 * Slow start (RFC 5681 §3.1 eq. 2 with RFC 3465's L): cwnd += min(N, L), but not past
 * ssthresh. Returns the new cwnd and the acknowledged bytes left over once ssthresh is
 * reached, which belong to congestion avoidance (as Linux's tcp_slow_start does).
 */
export function slowStart(
  cwnd: number,
  ssthresh: number,
  bytesAcked: number,
  mss: number,
): { cwnd: number; leftover: number } {
  const room = Math.max(0, ssthresh - cwnd);
  const growth = Math.min(bytesAcked, ABC_LIMIT_SEGMENTS * mss, room);
  const leftover = growth === room && bytesAcked > room ? bytesAcked - room : 0;
  return { cwnd: cwnd + growth, leftover };
}
