/**
 * TLP, Tail Loss Probe (RFC 8985 §7): when the ACKs of a flight's tail are overdue, send
 * one segment (new data, or the last one again) to draw an ACK whose SACK lets RACK find
 * the losses, instead of waiting for the retransmission timeout. This class is TLP's
 * state (§5.3) and its pure rules; recovery.ts sends the probe and keeps the timer.
 */
import { seqGe, seqGt } from "../seq.ts";

/**
 * TLP.max_ack_delay (RFC 8985 §7.2: "implementation specific"): added to the PTO when
 * one segment is in flight, which a receiver may hold for its delayed-ACK timer. Linux
 * adds TCP_DELACK_MAX, 200 ms; so do we.
 */
export const TLP_MAX_ACK_DELAY_MS = 200;

/** RFC 8985 §7.2: "when there is no SRTT estimate available, the PTO SHOULD be 1 second". */
const PTO_WITHOUT_SRTT_MS = 1000;

/** What TLP_process_ack concludes (RFC 8985 §7.4.2). */
export type ProbeOutcome = "none" | "done" | "loss-repaired";

export class TailLossProbe {
  /** TLP.end_seq: SND.NXT when the probe went, undefined when none is outstanding. */
  endSeq: number | undefined;
  /** TLP.is_retrans: the outstanding probe was a retransmission. */
  isRetrans = false;

  /** TLP_init() (§7.1): at connection start, fast recovery and RTO recovery. */
  init(): void {
    this.endSeq = undefined;
    this.isRetrans = false;
  }

  /**
   * TLP_calc_PTO() (§7.2): 2·SRTT, plus TLP.max_ack_delay with a single segment in
   * flight; 1 s without SRTT. The caller caps it at the RTO's expiry ("If Now() + PTO >
   * TCP_RTO_expiration(): PTO = TCP_RTO_expiration() - Now()").
   */
  ptoMs(srttMs: number | undefined, oneSegmentInFlight: boolean): number {
    if (srttMs === undefined) return PTO_WITHOUT_SRTT_MS;
    return 2 * srttMs + (oneSegmentInFlight ? TLP_MAX_ACK_DELAY_MS : 0);
  }

  /**
   * TLP_process_ack(ACK) (§7.4.2). `dsackRight`: the right edge of the ACK's D-SACK block,
   * if any; `plainDupAck`: a duplicate ACK without SACK option. "loss-repaired": the probe
   * was the only repair of a loss, and congestion control must respond to it.
   */
  onAck(ack: number, dsackRight: number | undefined, plainDupAck: boolean): ProbeOutcome {
    const end = this.endSeq;
    if (end === undefined || !seqGe(ack, end)) return "none";
    if (!this.isRetrans || dsackRight === end || plainDupAck) {
      // New data delivered; or Case 1 (a D-SACK for the probe) / Case 2 (a duplicate
      // ACK): both the original and the probe arrived, there was no loss.
      this.endSeq = undefined;
      return "done";
    }
    if (seqGt(ack, end)) {
      this.endSeq = undefined; // "Repaired the single loss"
      return "loss-repaired";
    }
    return "none";
  }
}
