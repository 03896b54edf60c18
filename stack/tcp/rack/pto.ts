/**
 * What RACK-TLP notes when a segment leaves (RFC 8985 §6.1), and the probe timeout it
 * arms then (TLP_calc_PTO, §7.2). transmit.ts calls `rackOnTransmit` for every segment
 * but the SYN; recovery.ts re-arms the PTO on ACKs. Bookkeeping only: nothing here
 * sends, so the module that writes segments can use it.
 */
import { seqAdd, seqDiff, seqLt, seqMax } from "../seq.ts";
import type { Tcb } from "../tcb.ts";

/** RACK-TLP runs on this connection (RFC 8985 §4: it requires SACK). */
export function rackActive(tcb: Tcb): boolean {
  return tcb.sackEnabled && tcb.layer.config.rack;
}

/**
 * RFC 8985 §6.1: [seq, seq + occupies) was just sent (not a SYN). New data re-arms the
 * PTO (§7.2), unless it is the probe itself.
 */
export function rackOnTransmit(tcb: Tcb, seq: number, occupies: number, now: number): void {
  const state = tcb.rackTlp;
  const end = seqAdd(seq, occupies);
  state.sent.onTransmit(seq, end, now);
  if (!seqLt(seq, tcb.sndMax) && !state.probing) schedulePto(tcb, now, seqMax(end, tcb.sndMax));
}

/** §7.2: no PTO in fast or RTO recovery, with SACKed segments, or with nothing in flight. */
export function ptoAllowed(tcb: Tcb, flight: number): boolean {
  const state = tcb.rackTlp;
  return (
    flight > 0 &&
    !tcb.cc.inRecovery &&
    state.rtoRecoveryEnd === undefined &&
    state.sent.sackedBytes === 0
  );
}

/** TLP_calc_PTO() (§7.2) and arm it; `sndMax` is SND.MAX once the segment being sent counts. */
export function schedulePto(tcb: Tcb, now: number, sndMax: number): void {
  const state = tcb.rackTlp;
  const flight = seqDiff(sndMax, tcb.sndUna);
  if (!ptoAllowed(tcb, flight)) {
    state.tlpAt = Number.POSITIVE_INFINITY;
    return;
  }
  const pto = state.tlp.ptoMs(tcb.hasRttSample ? tcb.srttMs : undefined, flight <= tcb.smss);
  state.tlpAt = Math.min(now + pto, tcb.retransmitAt);
}
