/**
 * RFC 5961 in one place: the challenge ACK. Where SEGMENT ARRIVES finds a segment that
 * may be a blind attacker's (RFC 5961 §3–§5), it answers with an ACK for what we
 * actually expect, which a genuine peer answers correctly and an attacker, not seeing
 * it, cannot. The three places that decide it call `challengeAck`, and the ACK leaves
 * from here, at that line (as smoltcp's `challenge_ack_reply` does):
 *
 *   §3.2 a RST in the window but not at RCV.NXT    segment_arrives.ts checkRst
 *   §4.2 a SYN in a synchronized state             segment_arrives.ts checkSyn
 *   §5.2 an ACK older than SND.UNA − MAX.SND.WND   ack.ts checkAck
 *
 * §7: the ACKs are rate limited host-wide, `challengeAckLimit` a second (as Linux's
 * tcp_challenge_ack_limit), so that they cannot be used to amplify a flood.
 */
import type { Tcb } from "./tcb.ts";
import { sendAck } from "./transmit.ts";

/** RFC 5961 §7: at most `limit` challenge ACKs per second of `now`, host-wide. */
export class ChallengeAckLimiter {
  private second = -1;
  private count = 0;

  allow(now: number, limit: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.count = 0;
    }
    return this.count++ < limit;
  }
}

/** Sends a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> now, if §7's limit allows. */
export function challengeAck(tcb: Tcb, now: number): void {
  const layer = tcb.layer;
  if (!layer.challengeAcks.allow(now, layer.config.challengeAckLimit)) return;
  layer.host.stats.count("tcpChallengeAcks");
  sendAck(tcb, now);
}
