/**
 * An ACK clock in rounds, for HyStart++ tests (RFC 9406 §4.2): a sender that always has
 * data sends whatever cwnd allows after each ACK, one ACK per `segmentsPerAck` segments,
 * no loss. A round is what RFC 9406 calls one: it ends with the ACK that covers
 * windowEnd, the SND.NXT of when it began (the first one ends with the initial window).
 * SND.NXT is read before the round-ending ACK's own sends, as TCP calls the controller
 * before output, so rounds drift from whole flights (round 2 is 18 ACKs, not 20). A
 * round is at least one ACK: if that ACK acknowledged everything, windowEnd = SND.UNA
 * and the next ACK ends the next round. Each ACK carries the test's RTT sample, or none.
 *
 * Times are not modelled beyond `now` stepping by the round's RTT; HyStart++ only looks
 * at the samples and sequence numbers.
 */
import type { AckEvent } from "../../../../stack/tcp/congestion/controller.ts";
import { seqAdd, seqDiff, seqLt } from "../../../../stack/tcp/seq.ts";

/** What the clock needs of a sender: a window and an ACK handler. */
export interface Windowed {
  readonly cwnd: number;
  onAck(ack: AckEvent): unknown;
}

/** The RTT sample of the i-th ACK of a round, or undefined for an ACK without one. */
export type RoundRtt = number | ((i: number) => number | undefined);

export class AckClock {
  now = 0;
  sndUna: number;
  sndNxt: number;
  /** windowEnd of the round in progress. */
  private roundEnd: number;
  private readonly segmentsPerAck: number;

  constructor(
    readonly sender: Windowed,
    readonly mss: number,
    options: { iss?: number; segmentsPerAck?: number } = {},
  ) {
    this.segmentsPerAck = options.segmentsPerAck ?? 1;
    this.sndUna = options.iss ?? 0;
    this.sndNxt = this.sndUna;
    this.send();
    this.roundEnd = this.sndNxt;
  }

  /** The ACKs of one round, each with the sample `rtt` names; returns how many there were. */
  round(rtt: RoundRtt): number {
    const start = this.now;
    const sample = typeof rtt === "number" ? () => rtt : rtt;
    const end = this.roundEnd;
    let acks = 0;
    do {
      const bytesAcked = Math.min(
        this.segmentsPerAck * this.mss,
        seqDiff(this.sndNxt, this.sndUna),
      );
      this.sndUna = seqAdd(this.sndUna, bytesAcked);
      const latestRttMs = sample(acks);
      this.now = start + (latestRttMs ?? 0);
      this.sender.onAck({
        now: this.now,
        bytesAcked,
        sndUna: this.sndUna,
        sndMax: this.sndNxt,
        bytesInFlight: seqDiff(this.sndNxt, this.sndUna),
        rttMs: latestRttMs ?? 50,
        ...(latestRttMs !== undefined ? { latestRttMs } : {}),
      });
      acks++;
      // RFC 9406 §4.2: the ACK that covers windowEnd starts the next round at SND.NXT.
      if (!seqLt(this.sndUna, end)) this.roundEnd = this.sndNxt;
      this.send();
    } while (seqLt(this.sndUna, end));
    return acks;
  }

  /** `count` rounds with the same sample on every ACK; returns how many ACKs. */
  rounds(count: number, rttMs: number): number {
    let acks = 0;
    for (let i = 0; i < count; i++) acks += this.round(rttMs);
    return acks;
  }

  /** Sends whole segments while cwnd allows. */
  private send(): void {
    const room =
      Math.floor(this.sender.cwnd / this.mss) * this.mss - seqDiff(this.sndNxt, this.sndUna);
    if (room > 0) this.sndNxt = seqAdd(this.sndNxt, room);
  }
}
