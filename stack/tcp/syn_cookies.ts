/**
 * SYN cookies (RFC 4987 §3.6): when a listener's half-open table is full, answer a SYN
 * without keeping any state, encoding what we need in our ISN, and rebuild the
 * connection from the final ACK (whose SEG.ACK − 1 is that ISN).
 *
 *    31    27 26  24 23                                           0
 *   +--------+------+---------------------------------------------+
 *   | t mod 32| MSS |  F(four-tuple, client ISN, t) (24 bits)     |
 *   +--------+------+---------------------------------------------+
 *
 * t counts 64-second periods; a cookie is valid for the current and previous period.
 *
 * The ISN has no room for the other SYN options, which RFC 4987 §3.6 says a cookie
 * connection loses. When the peer's SYN carried a timestamp, they travel in our TSval
 * instead, as Linux does (`cookie_init_timestamp`): its low 5 bits hold the peer's window
 * shift (15: none) and SACK-permitted, and the final ACK echoes them back in TSecr
 * (RFC 7323 §3.2). Our TSval offset for such a connection is a keyed hash of the four-tuple
 * (RFC 7323 §5.4 asks only that it be unpredictable), so it needs no state either.
 */
import type { IpAddress } from "../network.ts";
import type { IsnGenerator } from "./isn.ts";
import { seqAdd, seqDiff, seqGt } from "./seq.ts";

const MSS_TABLE = [536, 1024, 1200, 1300, 1360, 1400, 1440, 1460] as const;
const PERIOD_MS = 64_000;

export interface CookieTuple {
  readonly localAddress: IpAddress;
  readonly localPort: number;
  readonly remoteAddress: IpAddress;
  readonly remotePort: number;
}

function period(now: number): number {
  return Math.floor(now / PERIOD_MS) & 31;
}

function check(isn: IsnGenerator, t: CookieTuple, clientIsn: number, p: number): number {
  const extra = (clientIsn ^ Math.imul(p + 1, 0x9e3779b9)) >>> 0;
  return isn.hash(t.localAddress, t.localPort, t.remoteAddress, t.remotePort, extra) & 0xffffff;
}

/** Our ISN for a SYN answered statelessly. */
export function makeCookie(
  isn: IsnGenerator,
  t: CookieTuple,
  clientIsn: number,
  mss: number,
  now: number,
): number {
  let index = 0;
  for (let i = 0; i < MSS_TABLE.length; i++) if (MSS_TABLE[i]! <= mss) index = i;
  const p = period(now);
  return ((p << 27) | (index << 24) | check(isn, t, clientIsn, p)) >>> 0;
}

/** The MSS encoded in a valid cookie, or undefined if the cookie is forged or stale. */
export function checkCookie(
  isn: IsnGenerator,
  t: CookieTuple,
  clientIsn: number,
  cookie: number,
  now: number,
): number | undefined {
  const p = cookie >>> 27;
  if (((period(now) - p) & 31) > 1) return undefined;
  if ((cookie & 0xffffff) !== check(isn, t, clientIsn, p)) return undefined;
  return MSS_TABLE[(cookie >>> 24) & 7];
}

/** The SYN options a cookie's timestamp carries (window shift undefined: not agreed). */
export interface CookieOptions {
  readonly windowScale: number | undefined;
  readonly sackPermitted: boolean;
}

/** Low TSval bits: 4 for the peer's window shift (0–14, or 15 for none), 1 for SACK. */
const OPTION_BITS = 5;
const OPTION_MASK = (1 << OPTION_BITS) - 1;
const NO_WINDOW_SCALE = 15;

/** The TSval offset of a cookie connection: stateless, unpredictable without the key. */
export function cookieTsOffset(isn: IsnGenerator, t: CookieTuple): number {
  return isn.hash(t.localAddress, t.localPort, t.remoteAddress, t.remotePort, 0x7473_6f66);
}

/**
 * Our TSval for a cookie's SYN,ACK: the timestamp clock `tsClock` with its low bits
 * replaced by `options`, and never ahead of the clock (so later TSvals never go back).
 */
export function cookieTimestamp(tsClock: number, options: CookieOptions): number {
  const shift = options.windowScale ?? NO_WINDOW_SCALE;
  const bits = (Math.min(shift, NO_WINDOW_SCALE) << 1) | (options.sackPermitted ? 1 : 0);
  const ts = ((tsClock & ~OPTION_MASK) | bits) >>> 0; // the low bits replaced
  return seqGt(ts, tsClock) ? seqAdd(ts, -(OPTION_MASK + 1)) : ts;
}

/**
 * Whether `echo` (the final ACK's TSecr) can be a TSval of ours from a cookie still valid:
 * not ahead of our timestamp clock `tsClock` and no older than two cookie periods. Linux
 * refuses the cookie otherwise (`cookie_timestamp_decode`): the bits would be a guess.
 */
export function cookieTimestampValid(echo: number, tsClock: number): boolean {
  const age = seqDiff(tsClock, echo); // modulo 2^32, as TSvals compare (RFC 7323 §5.2)
  return age >= 0 && age <= 2 * PERIOD_MS;
}

/** The options an echoed cookie TSval carries. */
export function cookieOptionsFrom(echo: number): CookieOptions {
  const shift = (echo & OPTION_MASK) >>> 1;
  return {
    windowScale: shift === NO_WINDOW_SCALE ? undefined : shift,
    sackPermitted: (echo & 1) === 1,
  };
}
