/**
 * Timestamps on arrival (RFC 7323): PAWS, run before SEGMENT ARRIVES' first step
 * (§5.3), and TS.Recent, the peer's TSval we echo (§4.3). Sending them is transmit.ts;
 * measuring the RTT with them is ack.ts.
 */
import { Flag, type TcpSegment } from "./header.ts";
import { seqLe, seqLt } from "./seq.ts";
import type { Tcb } from "./tcb.ts";

/** RFC 7323 §5.5: a TS.Recent older than 24 days is invalid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** RFC 7323 §5.3 R1: drop (and ACK) a segment whose TSval is older than TS.Recent. */
export function pawsCheck(tcb: Tcb, seg: TcpSegment, now: number): boolean {
  const ts = seg.options.timestamp;
  if (!tcb.tsEnabled || ts === undefined || seg.flags & Flag.RST) return true;
  if (!seqLt(ts.value, tcb.tsRecent)) return true;
  if (now - tcb.tsRecentAgeMs > PAWS_IDLE_MS) return true; // R3: TS.Recent too old to judge by
  tcb.layer.host.stats.drop("tcpPawsDrops");
  tcb.counters.pawsDrops!++;
  tcb.ackNow = true; // "send an acknowledgment in reply as specified in RFC 793"
  return false;
}

/** RFC 7323 §4.3 (and §5.3 R3): remember the TSval to echo. */
export function updateTsRecent(tcb: Tcb, seg: TcpSegment, now: number): void {
  const ts = seg.options.timestamp;
  if (!tcb.tsEnabled || ts === undefined) return;
  if (seqLe(seg.seq, tcb.lastAckSent) && !seqLt(ts.value, tcb.tsRecent)) {
    tcb.tsRecent = ts.value;
    tcb.tsRecentAgeMs = now;
  }
}
