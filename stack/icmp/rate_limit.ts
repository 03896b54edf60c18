/**
 * A token bucket for outgoing ICMP errors (RFC 1122 §3.2.2: "a host SHOULD limit the
 * rate at which it sends ICMP error messages"; RFC 1812 §4.3.2.8 names the token bucket).
 * Like Linux's icmp_msgs_per_sec = 1000 with icmp_msgs_burst = 50: tokens refill at a
 * steady rate up to the burst size, and each error spends one. Time comes in as `now`.
 */
export interface TokenBucketConfig {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens held at once (the largest burst). */
  burst: number;
}

export const DEFAULT_ICMP_RATE_LIMIT: TokenBucketConfig = { ratePerSecond: 1000, burst: 50 };

export class TokenBucket {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(readonly config: TokenBucketConfig = DEFAULT_ICMP_RATE_LIMIT) {
    this.tokens = config.burst;
  }

  /** Spends one token if there is one; false means "over the rate, don't send". */
  take(now: number): boolean {
    if (this.lastMs !== undefined && now > this.lastMs) {
      const refill = ((now - this.lastMs) * this.config.ratePerSecond) / 1000;
      this.tokens = Math.min(this.config.burst, this.tokens + refill);
    }
    if (this.lastMs === undefined || now > this.lastMs) this.lastMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
