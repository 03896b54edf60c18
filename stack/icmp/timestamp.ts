/**
 * ICMP Timestamp and Timestamp Reply (RFC 792 "Timestamp or Timestamp Reply Message";
 * RFC 1122 §3.2.2.8). A host MAY answer them; Linux does, and `nmap -PP` uses them to
 * find hosts that drop echo requests.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type (13/14) |    Code = 0   |           Checksum            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Identifier          |        Sequence Number        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Originate Timestamp: when the sender last touched it      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Receive Timestamp: when we first touched it               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Transmit Timestamp: when we last touched the reply        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * "The Timestamp is 32 bits of milliseconds since midnight UT." The stack's `now` is
 * milliseconds since the Unix epoch (the real clock's), so that is `now` modulo a day.
 * We answer within one call, so the receive and transmit timestamps are equal.
 */
import { emitIcmpHeader, ICMP_HEADER_LENGTH, type IcmpHeader, IcmpType } from "./header.ts";

/** The whole message: the 8-octet ICMP header and three 32-bit timestamps. */
export const TIMESTAMP_MESSAGE_LENGTH = 20;

const ORIGINATE = ICMP_HEADER_LENGTH;
const RECEIVE = ORIGINATE + 4;
const TRANSMIT = RECEIVE + 4;
const MS_PER_DAY = 86_400_000;

/** RFC 792: milliseconds since midnight UT, for `now` in milliseconds since the epoch. */
export function msSinceMidnightUt(now: number): number {
  return Math.floor(((now % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY);
}

/**
 * Writes the Timestamp Reply to `request` (a Timestamp message, at least 20 octets) into
 * `reply` (20 octets): "the source and destination addresses are simply reversed, the
 * type code changed to 14, and the checksum recomputed"; identifier, sequence number and
 * the originate timestamp come back as they were.
 */
export function writeTimestampReply(
  request: Uint8Array,
  header: IcmpHeader,
  reply: Uint8Array,
  now: number,
): void {
  reply.set(request.subarray(ORIGINATE, RECEIVE), ORIGINATE);
  const stamp = msSinceMidnightUt(now);
  for (const at of [RECEIVE, TRANSMIT]) {
    reply[at] = stamp >>> 24;
    reply[at + 1] = (stamp >>> 16) & 0xff;
    reply[at + 2] = (stamp >>> 8) & 0xff;
    reply[at + 3] = stamp & 0xff;
  }
  emitIcmpHeader(reply, {
    type: IcmpType.TIMESTAMP_REPLY,
    code: 0,
    restOfHeader: header.restOfHeader,
  });
}
