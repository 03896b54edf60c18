/**
 * A connection's RACK-TLP state (RFC 8985 §5): the per-segment records, RACK's and
 * TLP's variables, and the two timers RFC 8985 §5.4 adds, as deadlines (ms, Infinity
 * when off). recovery.ts runs it.
 */
import { Rack, type RackAck } from "./rack.ts";
import { type SentSegment, SentSegments } from "./sent_segments.ts";
import { TailLossProbe } from "./tlp.ts";

export class RackTlpState {
  readonly sent = new SentSegments();
  readonly rack = new Rack();
  readonly tlp = new TailLossProbe();
  /** The RACK reordering timer (RFC 8985 §5.4). */
  rackAt = Number.POSITIVE_INFINITY;
  /** The TLP PTO timer (RFC 8985 §5.4). */
  tlpAt = Number.POSITIVE_INFINITY;
  /** SND.MAX at the last retransmission timeout, until SND.UNA passes it (RTO recovery). */
  rtoRecoveryEnd: number | undefined;
  /**
   * SND.MAX at the last extra congestion response to a lost retransmission (without PRR,
   * RFC 8985 §9.3): one per window of data, as RFC 5681 §4.3 counts them.
   */
  lostRetransmissionPoint: number | undefined;
  /** A loss probe is being sent: its transmission does not re-arm the PTO (§7.2). */
  probing = false;
  /**
   * FlightSize when the first SACK arrived (undefined while nothing is SACKed): what
   * ssthresh is computed from, as RFC 5681 §3.2 step 2 takes it at the first duplicate
   * ACK, without the data sent since as the SACKs came in.
   */
  flightAtFirstSack: number | undefined;
  /** Reused for every ACK, so that running RACK allocates nothing per ACK. */
  readonly delivered: SentSegment[] = [];
  readonly ack: RackAck = {
    now: 0,
    delivered: this.delivered,
    tsEcr: undefined,
    tsOffset: 0,
    dsack: false,
    sndUna: 0,
    sndNxt: 0,
    inRecovery: false,
    segsSacked: 0,
    srttMs: 0,
  };
}
