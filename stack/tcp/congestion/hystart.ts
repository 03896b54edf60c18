/**
 * HyStart++ (RFC 9406): slow start that watches the round-trip time and leaves before
 * the window overshoots the path. Plain slow start (RFC 5681 §3.1) doubles cwnd every
 * round trip until a loss; by then the last doubling has filled the bottleneck queue and
 * a whole window's worth is dropped. HyStart++ takes the minimum RTT of each round trip
 * ("round") and, when it rises by a threshold over the previous round's (the queue is
 * building), switches to Conservative Slow Start (CSS): growth divided by 4. If the RTT
 * falls back below the level that triggered CSS, the exit was spurious (jitter) and slow
 * start resumes; if CSS lasts CSS_ROUNDS rounds, ssthresh = cwnd and congestion
 * avoidance begins without a loss.
 *
 *   phase        per ACK of new data                    leaves when
 *   slow-start   cwnd += min(N, L·SMSS)                  round min RTT ≥ last round's + RttThresh → css
 *   css          cwnd += min(N, L·SMSS) / 4              round min RTT < cssBaselineMinRtt → slow-start
 *                                                        CSS_ROUNDS rounds done → congestion avoidance
 *
 * Rounds (§4.2): windowEnd is SND.NXT when a round starts; the ACK that covers it ends
 * the round, and the next one starts with windowEnd = SND.NXT at that moment.
 *
 * Who calls it: loss_recovery_controller.ts, for each ACK of new data outside recovery and not
 * application-limited, while cwnd < ssthresh and ssthresh is still its initial value
 * (§4.3: "SHOULD use HyStart++ only for the initial slow start"). A loss (fast
 * retransmit, SACK loss detection) or a timeout during slow start or CSS ends HyStart++
 * as §4.2 asks: the controller's usual response sets ssthresh (β·FlightSize) and loss
 * recovery, then congestion avoidance or RFC 5681 slow start up to that ssthresh,
 * follow; HyStart++ is not consulted again. Undoing a spurious reduction (RFC 9438 §4.9)
 * restores the initial ssthresh, and HyStart++ carries on where it was. ECN is not
 * implemented, so only losses count.
 *
 * Time: RTT samples in ms come in with the ACK (`latestRttMs`: the sample this ACK gave,
 * RFC 7323 RTTM or RFC 6298's timed segment). No clock is read here. Without timestamps
 * TCP times one segment per round trip, so no round reaches N_RTT_SAMPLE samples and
 * HyStart++ never leaves slow start (Linux times every segment; this stack does not).
 *
 * Read first: RFC 9406 §4.2 (the algorithm) and §4.3 (the constants).
 */
import { seqGe } from "../seq.ts";
import type { AckEvent } from "./controller.ts";

/** RFC 9406 §4.3: MIN_RTT_THRESH = 4 msec, the smallest RTT rise that counts. */
export const MIN_RTT_THRESH_MS = 4;
/** RFC 9406 §4.3: MAX_RTT_THRESH = 16 msec, the largest rise HyStart++ waits for. */
export const MAX_RTT_THRESH_MS = 16;
/** RFC 9406 §4.3: MIN_RTT_DIVISOR = 8: the threshold is 1/8 of the last round's RTT. */
export const MIN_RTT_DIVISOR = 8;
/** RFC 9406 §4.3: N_RTT_SAMPLE = 8 samples in a round before its minimum is trusted. */
export const N_RTT_SAMPLE = 8;
/** RFC 9406 §4.3: CSS_GROWTH_DIVISOR = 4. */
export const CSS_GROWTH_DIVISOR = 4;
/** RFC 9406 §4.3: CSS_ROUNDS = 5. */
export const CSS_ROUNDS = 5;
/**
 * RFC 9406 §4.3: "L = infinity if paced, L = 8 if non-paced" (segments per ACK). This
 * stack does not pace, so 8; plain slow start keeps RFC 3465's L = 2 (window.ts).
 */
export const L_NON_PACED = 8;

export type HyStartPhase = "slow-start" | "css" | "avoidance";

/** What one ACK does to the window. */
export interface HyStartStep {
  /** Bytes to add to cwnd (fractional in CSS). */
  readonly increase: number;
  /** §4.2: CSS_ROUNDS rounds of CSS are complete: set ssthresh = cwnd (after `increase`). */
  readonly exit: boolean;
}

/**
 * RFC 9406 §4.2: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
 * MAX_RTT_THRESH)).
 *
 * @example
 * rttThresh(20) === 4; rttThresh(80) === 10; rttThresh(300) === 16
 */
export function rttThresh(lastRoundMinRttMs: number): number {
  return Math.max(
    MIN_RTT_THRESH_MS,
    Math.min(lastRoundMinRttMs / MIN_RTT_DIVISOR, MAX_RTT_THRESH_MS),
  );
}

/** The RFC 9406 §4.2 state of one connection, variables named as in the RFC. */
export class HyStart {
  private phaseValue: HyStartPhase = "slow-start";
  /** SND.NXT when the current round began; undefined before the first ACK. */
  private windowEnd: number | undefined;
  private lastRoundMinRtt = Number.POSITIVE_INFINITY;
  private currentRoundMinRtt = Number.POSITIVE_INFINITY;
  private rttSampleCount = 0;
  private cssBaselineMinRtt = Number.POSITIVE_INFINITY;
  /** Rounds that ended in CSS, the one CSS began in included (§4.2). */
  private cssRounds = 0;

  get phase(): HyStartPhase {
    return this.phaseValue;
  }

  /** The §4.2 variables, for tests and display. */
  get variables() {
    return {
      windowEnd: this.windowEnd,
      lastRoundMinRtt: this.lastRoundMinRtt,
      currentRoundMinRtt: this.currentRoundMinRtt,
      rttSampleCount: this.rttSampleCount,
      cssBaselineMinRtt: this.cssBaselineMinRtt,
      cssRounds: this.cssRounds,
    };
  }

  /**
   * §4.2, for each arriving ACK of new data in slow start or CSS: take the RTT sample,
   * apply the phase rules, grow the window, and end the round if windowEnd is covered.
   * `smss` is the sender MSS. Once in "avoidance" it only says so (no growth, exit).
   */
  onAck(ack: AckEvent, smss: number): HyStartStep {
    if (this.phaseValue === "avoidance") return { increase: 0, exit: true };
    // The first ACK opens the first round: "windowEnd ... initialized to SND.NXT".
    if (this.windowEnd === undefined) this.startRound(ack.sndMax);
    if (ack.latestRttMs !== undefined) {
      // "currentRoundMinRTT = min(currentRoundMinRTT, currRTT); rttSampleCount += 1"
      this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, ack.latestRttMs);
      this.rttSampleCount++;
    }
    if (this.phaseValue === "slow-start") this.checkDelayIncrease();
    else this.checkSpuriousExit();
    // "cwnd = cwnd + min(N, L * SMSS)", divided by CSS_GROWTH_DIVISOR in CSS.
    const growth = Math.min(ack.bytesAcked, L_NON_PACED * smss);
    const increase = this.phaseValue === "css" ? growth / CSS_GROWTH_DIVISOR : growth;
    // "When windowEnd is ACKed, the current round ends and windowEnd is set to SND.NXT."
    if (!seqGe(ack.sndUna, this.windowEnd ?? ack.sndUna)) return { increase, exit: false };
    if (this.phaseValue === "css") this.cssRounds++;
    if (this.cssRounds >= CSS_ROUNDS) {
      // "If CSS_ROUNDS rounds are complete, enter congestion avoidance by setting the
      // ssthresh to the current cwnd."
      this.phaseValue = "avoidance";
      return { increase, exit: true };
    }
    this.startRound(ack.sndMax);
    return { increase, exit: false };
  }

  /**
   * §4.2 "At the start of each round during standard slow start and CSS":
   * lastRoundMinRTT = currentRoundMinRTT, currentRoundMinRTT = infinity,
   * rttSampleCount = 0.
   */
  private startRound(sndNxt: number): void {
    this.windowEnd = sndNxt;
    this.lastRoundMinRtt = this.currentRoundMinRtt;
    this.currentRoundMinRtt = Number.POSITIVE_INFINITY;
    this.rttSampleCount = 0;
  }

  /**
   * §4.2: "For rounds where at least N_RTT_SAMPLE RTT samples have been obtained and
   * currentRoundMinRTT and lastRoundMinRTT are valid, check to see if delay increase
   * triggers slow start exit": if currentRoundMinRTT ≥ lastRoundMinRTT + RttThresh,
   * cssBaselineMinRtt = currentRoundMinRTT and enter CSS.
   */
  private checkDelayIncrease(): void {
    if (this.rttSampleCount < N_RTT_SAMPLE) return;
    const current = this.currentRoundMinRtt;
    const last = this.lastRoundMinRtt;
    if (current === Number.POSITIVE_INFINITY || last === Number.POSITIVE_INFINITY) return;
    if (current < last + rttThresh(last)) return;
    this.cssBaselineMinRtt = current;
    this.cssRounds = 0;
    this.phaseValue = "css";
  }

  /**
   * §4.2: "For CSS rounds where at least N_RTT_SAMPLE RTT samples have been obtained,
   * check to see if the current round's minRTT drops below baseline
   * (cssBaselineMinRtt) indicating that slow start exit was spurious": then
   * cssBaselineMinRtt = infinity and slow start resumes, HyStart++ included (so the
   * CSS round count starts again from zero next time).
   */
  private checkSpuriousExit(): void {
    if (this.rttSampleCount < N_RTT_SAMPLE) return;
    if (!(this.currentRoundMinRtt < this.cssBaselineMinRtt)) return;
    this.cssBaselineMinRtt = Number.POSITIVE_INFINITY;
    this.cssRounds = 0;
    this.phaseValue = "slow-start";
  }
}
