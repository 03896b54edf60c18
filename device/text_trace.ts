/**
 * `--trace`: a `Trace` (see `stack/trace.ts`) that prints one line per event, like
 * tcpdump with TCP's own view added:
 *
 *   22:01:07.120431 in  10.0.0.1.53422 > 10.0.0.2.80: Flags [S], seq 1234, win 64240, ...
 *   22:01:07.120502 tcp 10.0.0.2.80 10.0.0.1.53422: LISTEN -> SYN-RECEIVED
 *   22:01:07.120544 out 10.0.0.2.80 > 10.0.0.1.53422: Flags [S.], seq 99, ack 1235, ...
 *   22:01:07.130001 drop tcpInErrs: bad checksum
 *
 * Packets are decoded by `stack/trace_format.ts`; this file only adds the time and the
 * direction and writes the line to a sink (stdout unless told otherwise).
 */

import type { Trace } from "../stack/trace.ts";
import { formatPacket } from "../stack/trace_format.ts";

export interface TextTraceOptions {
  /** Where each line goes (without a newline). Default: standard output. */
  sink?: (line: string) => void;
  /** Wall-clock milliseconds for the time column; `undefined` leaves the column out. */
  wallClock?: (() => number) | undefined;
}

export class TextTrace implements Trace {
  readonly enabled = true;
  private readonly sink: (line: string) => void;
  private readonly wallClock: (() => number) | undefined;

  constructor(options: TextTraceOptions = {}) {
    this.sink = options.sink ?? ((line) => process.stdout.write(`${line}\n`));
    this.wallClock = "wallClock" in options ? options.wallClock : preciseNow;
  }

  packet(direction: "in" | "out", packet: Uint8Array): void {
    this.emit(`${direction === "in" ? "in " : "out"} ${safely(() => formatPacket(packet))}`);
  }

  transition(connection: string, from: string, to: string, rule?: string): void {
    this.emit(`tcp ${connection}: ${from} -> ${to}${rule === undefined ? "" : ` (${rule})`}`);
  }

  drop(reason: string, detail?: string): void {
    this.emit(detail ? `drop ${reason}: ${detail}` : `drop ${reason}`);
  }

  private emit(text: string): void {
    this.sink(this.wallClock ? `${timeOfDay(this.wallClock())} ${text}` : text);
  }
}

/** Wall-clock milliseconds with a fractional part (Date.now() has whole milliseconds only). */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** tcpdump's time column: HH:MM:SS.microseconds, in UTC. */
export function timeOfDay(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const micros = Math.floor((ms % 1000) * 1000);
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(micros, 6)}`;
}

/** The formatter is written not to throw; this guards the stack if it ever does. */
function safely(format: () => string): string {
  try {
    return format();
  } catch (error) {
    return `unprintable packet (${String(error)})`;
  }
}
