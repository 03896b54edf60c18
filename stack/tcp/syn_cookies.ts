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
 * What a cookie cannot carry (window scale, SACK-permitted, timestamps) is lost for
 * that connection, as RFC 4987 §3.6 notes (Linux hides them in the timestamp; we don't).
 */
import type { IsnGenerator } from "./isn.ts";

const MSS_TABLE = [536, 1024, 1200, 1300, 1360, 1400, 1440, 1460] as const;
const PERIOD_MS = 64_000;

export interface CookieTuple {
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
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
