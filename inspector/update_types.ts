/**
 * The shapes the inspector's server sends and its page reads (JSON): one file with no
 * run-time code, so the page (in the browser) and the server (in the stack's process)
 * agree on them. `updates.ts` builds them.
 */
import type { ConnectionRow } from "../examples/ss.ts";
import type { LadderItem } from "./graph/ladder.ts";
import type { SegmentRecord } from "./tcp_segment.ts";

/** One tick's TCP_INFO (RFC 9293 §3.10.6 STATUS), as the plots need it. */
export interface Sample {
  readonly timeMs: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly srttMs: number;
  readonly rtoMs: number;
  readonly bytesInFlight: number;
  readonly rcvWnd: number;
  readonly sndWnd: number;
  /** Bytes acknowledged per second since the previous sample (either direction). */
  readonly deliveryRate: number;
}

export interface TraceLine {
  /** The line's number since the start, for "what is new". */
  readonly n: number;
  readonly timeMs: number;
  /** The connection ("local remote"), when the line belongs to one. */
  readonly key: string | undefined;
  readonly text: string;
}

export interface TableRow extends ConnectionRow {
  /** "local remote", the connection's key for ?conn= (absent for listening rows). */
  readonly key?: string;
  readonly rttvarMs?: number;
  readonly ssthreshBytes?: number;
  readonly bytesInFlight?: number;
  readonly congestion?: string;
  /** RFC 5681 §3.1: slow start while cwnd < ssthresh, then congestion avoidance. */
  readonly phase?: string;
}

export interface ConnectionView {
  readonly key: string;
  readonly state: string;
  /** True when the lists below are the whole history, not just what is new. */
  readonly full: boolean;
  readonly segments: readonly SegmentRecord[];
  readonly samples: readonly Sample[];
  readonly ladder: readonly LadderItem[];
  /** New trace lines of this connection (its own ring: see history.ts). */
  readonly lines: readonly TraceLine[];
}

export interface Update {
  readonly nowMs: number;
  readonly address: string;
  readonly table: readonly TableRow[];
  readonly counters: Record<string, number>;
  readonly drops: Record<string, number>;
  readonly selected: string | undefined;
  readonly connection: ConnectionView | undefined;
  readonly lines: readonly TraceLine[];
}
