/**
 * Proportional Rate Reduction (RFC 6937): how much a sender in SACK loss recovery may
 * send on each ACK. RFC 6675 alone sets cwnd = ssthresh at once, so the sender is silent
 * until pipe falls below ssthresh and then sends one segment per segment delivered (a
 * silent half RTT, then a burst if many ACKs were lost); PRR spreads the reduction over
 * the whole recovery, sending ssthresh/RecoverFS of what is delivered, and when pipe has
 * fallen below ssthresh (more losses) grows it back no faster than slow start.
 *
 * RFC 6937 is not in the repository's RFC folder: the algorithm below is its §3.1
 * pseudocode as remembered, with the Slow Start Reduction Bound (PRR-SSRB), the bound
 * the RFC recommends and Linux uses (tcp_cwnd_reduction). Linux is on by default; so is
 * this (TcpConfig.prr).
 *
 *   At the start of recovery:  prr_delivered = 0; prr_out = 0; RecoverFS = snd.nxt − snd.una
 *   On every ACK in recovery:  DeliveredData = Δsnd.una + ΔSACKed;
 *                              prr_delivered += DeliveredData; pipe = SetPipe() (RFC 6675)
 *     if pipe > ssthresh:  sndcnt = CEIL(prr_delivered · ssthresh / RecoverFS) − prr_out
 *     else:                sndcnt = MIN(ssthresh − pipe,
 *                                       MAX(prr_delivered − prr_out, DeliveredData) + MSS)
 *     cwnd = pipe + sndcnt
 *   On any (re)transmission:   prr_out += bytes sent
 *
 * Bytes throughout (the RFC's pseudocode is in bytes; Linux counts segments). The sender
 * then runs RFC 6675's loop "while cwnd − pipe ≥ SMSS" against this cwnd, so a sndcnt of
 * less than a segment is carried over: prr_out has not grown, the next ACK allows more.
 */

export class ProportionalRateReduction {
  /** A recovery is under way and this object sets its window. */
  active = false;
  /** cwnd for RFC 6675's sending loop, set on each ACK: pipe + sndcnt. */
  cwnd = 0;
  private prrDelivered = 0;
  private prrOut = 0;
  private recoverFs = 1;

  /** RFC 6937 §3.1 initialisation, when fast recovery begins; `flightSize` = RecoverFS. */
  start(flightSize: number, ssthresh: number): void {
    this.active = true;
    this.prrDelivered = 0;
    this.prrOut = 0;
    this.recoverFs = Math.max(flightSize, 1);
    this.cwnd = ssthresh;
  }

  /** Recovery ended (full ACK, timeout, undo): the controller's cwnd rules again. */
  stop(): void {
    this.active = false;
  }

  /** Bytes (re)transmitted during the recovery: RFC 6937 "prr_out += (data sent)". */
  onSent(bytes: number): void {
    if (this.active) this.prrOut += bytes;
  }

  /**
   * An ACK arrived during recovery. `delivered`: DeliveredData, the bytes it newly
   * acknowledged cumulatively or by SACK; `pipe`: SetPipe() after it; returns sndcnt.
   */
  onAck(delivered: number, pipe: number, ssthresh: number, mss: number): number {
    this.prrDelivered += Math.max(0, delivered);
    let sndcnt: number;
    if (pipe > ssthresh) {
      // Proportional Rate Reduction.
      sndcnt = Math.ceil((this.prrDelivered * ssthresh) / this.recoverFs) - this.prrOut;
    } else {
      // Slow Start Reduction Bound: catch up towards ssthresh, at most one MSS more
      // than was delivered.
      const limit = Math.max(this.prrDelivered - this.prrOut, delivered) + mss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    sndcnt = Math.max(0, sndcnt);
    this.cwnd = pipe + sndcnt;
    return sndcnt;
  }
}
