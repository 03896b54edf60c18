/**
 * One SACK block (RFC 2018 §3): "Left Edge of Block: the first sequence number of this
 * block. Right Edge of Block: the sequence number immediately following the last
 * sequence number of this block" — the half-open range [left, right).
 *
 * The same shape as `SackBlock` in ../options.ts (the wire format), so blocks parsed
 * from a segment can be passed here unchanged.
 */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}
