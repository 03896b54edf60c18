/**
 * The path MTU cache (RFC 8201): what Packet Too Big messages have taught us about
 * each destination, bounded in size, and forgotten after a while.
 *
 * RFC 8201 §4: on a Packet Too Big the node "MUST reduce the size of the packets it is
 * sending along the path" to the reported MTU, "MUST NOT reduce its estimate of the
 * Path MTU below the IPv6 minimum link MTU" (1280), and "MUST NOT increase its estimate
 * of the Path MTU in response to the contents of a Packet Too Big message". §5.3: the
 * estimate should be aged back to the link MTU so that a path that grew is found again
 * (10 minutes recommended; Linux ip6_rt_mtu_expires is 600 s too). Time comes in as
 * `now`; an expired entry is forgotten when next consulted, or by `expire(now)`.
 */
import type { Ipv6Address } from "./address.ts";
import { IPV6_MINIMUM_MTU } from "./header.ts";

export interface PathMtuLimits {
  /** RFC 8201 §5.3: "The recommended setting for this timer is twice its minimum value (10 minutes)". */
  agingMs: number;
  /** Destinations remembered at once; the oldest is forgotten first. */
  maxEntries: number;
}

export const DEFAULT_PATH_MTU_LIMITS: PathMtuLimits = { agingMs: 600_000, maxEntries: 1024 };

interface Entry {
  readonly mtu: number;
  readonly expiresAt: number;
}

export class PathMtuCache {
  private readonly entries = new Map<Ipv6Address, Entry>();
  readonly limits: PathMtuLimits;

  constructor(
    /** The first-hop (link) MTU: the estimate when nothing is known. */
    private readonly linkMtu: number,
    limits: Partial<PathMtuLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PATH_MTU_LIMITS, ...limits };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The estimate for `destination`; with `now`, an aged entry is forgotten first. */
  get(destination: Ipv6Address, now?: number): number {
    const entry = this.entries.get(destination);
    if (entry === undefined) return this.linkMtu;
    if (now !== undefined && entry.expiresAt <= now) {
      this.entries.delete(destination);
      return this.linkMtu;
    }
    return entry.mtu;
  }

  /**
   * A Packet Too Big reported `reported` for `destination`. Returns the estimate now in
   * force, which is the old one when the report would raise it.
   */
  lower(destination: Ipv6Address, reported: number, now: number): number {
    const current = this.get(destination, now);
    const mtu = Math.min(current, Math.max(reported, IPV6_MINIMUM_MTU));
    if (mtu === current && this.entries.has(destination)) return mtu;
    if (mtu === this.linkMtu) return mtu; // Nothing to remember.
    this.entries.delete(destination); // Re-inserted last: Map order is age order.
    if (this.entries.size >= this.limits.maxEntries) {
      for (const oldest of this.entries.keys()) {
        this.entries.delete(oldest);
        break;
      }
    }
    this.entries.set(destination, { mtu, expiresAt: now + this.limits.agingMs });
    return mtu;
  }

  /**
   * Forgets every entry aged out at `now`. An entry is (re)inserted whenever it is set,
   * with the same aging from a `now` that never decreases, so Map order is expiry order
   * and the walk stops at the first entry still young: O(1) when nothing is due.
   */
  expire(now: number): void {
    for (const [destination, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(destination);
    }
  }
}
