/**
 * The two IP options a host returns in its replies: Record Route and Internet Timestamp
 * (RFC 791 §3.1). RFC 1122 §3.2.2.6: "If a Record Route and/or Time Stamp option is
 * received in an ICMP Echo Request, this option (these options) SHOULD be updated to
 * include the current host and included in the IP header of the Echo Reply message,
 * without 'truncation'. Thus, the recorded route will be for the entire round trip."
 * §3.2.2.8 says the same of Timestamp Reply. That is what `ping -R` and `ping -T` show.
 *
 *   Record Route, type 7:       +--------+--------+--------+---------//--------+
 *                               |00000111| length | pointer|  route data     |
 *                               +--------+--------+--------+---------//--------+
 *   Timestamp, type 68:         +--------+--------+--------+--------+
 *                               |01000100| length | pointer|oflw|flg|
 *                               +--------+--------+--------+--------+
 *                               |  [internet address] + timestamp   | ...
 *
 * The pointer is the (1-based) octet where the next entry goes; an option whose pointer
 * is past its end is full. Like Linux, the host adds itself twice: once as the request
 * arrives (the destination's own input step) and once as the reply leaves, so a round
 * trip to a neighbour records sender, us, us, sender.
 */
import { be32, put32 } from "./header.ts";

export const OPTION_END = 0;
export const OPTION_NOP = 1;
export const OPTION_RECORD_ROUTE = 7;
export const OPTION_TIMESTAMP = 68;

/** RFC 791: the option area is at most 40 octets (IHL 15 words less the 5 fixed ones). */
export const MAX_OPTIONS_LENGTH = 40;

/** Timestamp flags (the low 4 bits of the fourth octet). */
const TS_ONLY = 0;
const TS_AND_ADDRESS = 1;
const TS_PRESPECIFIED = 3;

/**
 * The options for a reply to a request that carried `requestOptions`: its Record Route
 * and Timestamp options, each stamped with `us` (and `timestamp`, ms since midnight UT)
 * on arrival and on departure, padded to whole words; undefined if there are none. Other
 * options are not returned. `requestOptions` was checked well formed by the IPv4 parse.
 */
export function replyOptions(
  requestOptions: Uint8Array,
  us: number,
  timestamp: number,
): Uint8Array | undefined {
  const kept: Uint8Array[] = [];
  let length = 0;
  for (let i = 0; i < requestOptions.length; ) {
    const type = requestOptions[i]!;
    if (type === OPTION_END) break;
    if (type === OPTION_NOP) {
      i++;
      continue;
    }
    const optionLength = requestOptions[i + 1] ?? 0;
    if (optionLength < 2 || i + optionLength > requestOptions.length) break;
    if (type === OPTION_RECORD_ROUTE || type === OPTION_TIMESTAMP) {
      const option = requestOptions.slice(i, i + optionLength);
      for (let pass = 0; pass < 2; pass++) stamp(option, us, timestamp);
      kept.push(option);
      length += optionLength;
    }
    i += optionLength;
  }
  if (kept.length === 0) return undefined;
  const padded = new Uint8Array(Math.min(MAX_OPTIONS_LENGTH, Math.ceil(length / 4) * 4));
  let at = 0;
  for (const option of kept) {
    if (at + option.length > padded.length) break;
    padded.set(option, at);
    at += option.length;
  }
  return padded; // the rest is zero: End of Option List
}

/** Adds this host to a Record Route or Timestamp option, in place, if it has room. */
export function stamp(option: Uint8Array, us: number, timestamp: number): void {
  const length = option[1]!;
  const pointer = option[2]!;
  if (option[0] === OPTION_RECORD_ROUTE) {
    // RFC 791: "If the route data area is already full (the pointer exceeds the length)
    // the datagram is forwarded without inserting the address".
    if (length < 3 || pointer < 4 || pointer + 3 > length) return;
    put32(option, pointer - 1, us);
    option[2] = pointer + 4;
    return;
  }
  if (length < 4) return;
  const flag = option[3]! & 0x0f;
  const entry = flag === TS_ONLY ? 4 : 8;
  if (pointer < 5 || pointer + entry - 1 > length) {
    // Full: "the overflow count is incremented" (4 bits; it stays at 15 here rather
    // than the datagram being discarded, which is for routers in the path).
    const overflow = option[3]! >>> 4;
    if (overflow < 15) option[3] = ((overflow + 1) << 4) | flag;
    return;
  }
  if (flag === TS_ONLY) {
    put32(option, pointer - 1, timestamp);
  } else if (flag === TS_AND_ADDRESS) {
    put32(option, pointer - 1, us);
    put32(option, pointer + 3, timestamp);
  } else if (flag === TS_PRESPECIFIED) {
    // Only the host whose address is next in the list stamps it.
    if (be32(option, pointer - 1) !== us >>> 0) return;
    put32(option, pointer + 3, timestamp);
  } else {
    return; // an unknown flag: leave the option as it came
  }
  option[2] = pointer + entry;
}
