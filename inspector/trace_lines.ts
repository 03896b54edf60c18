/**
 * The `--trace` lines the page shows, kept cheaply: a packet is not formatted when it
 * passes (that would cost a string per packet during a bulk transfer) but its headers are
 * copied into a fixed ring, and only the lines a page asks for are formatted, by the same
 * `formatPacket` that `--trace` prints with. State changes and drops are short strings.
 */
import { timeOfDay } from "../device/text_trace.ts";
import { formatPacket } from "../stack/trace_format.ts";
import type { TraceLine } from "./update_types.ts";

/** Bytes of each packet kept: IPv4 and TCP headers with options, or an ICMP error's quote. */
const HEADER_BYTES = 128;

export class TraceLines {
  private readonly times: Float64Array;
  private readonly lengths: Uint32Array;
  private readonly headers: Uint8Array;
  private readonly keys: (string | undefined)[];
  /** A prefix ("in ", "out") for packets; the whole line for everything else. */
  private readonly texts: string[];
  private readonly isPacket: Uint8Array;
  total = 0;
  private scratch = new Uint8Array(0);

  constructor(readonly capacity = 2048) {
    this.times = new Float64Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.headers = new Uint8Array(capacity * HEADER_BYTES);
    this.keys = new Array(capacity).fill(undefined);
    this.texts = new Array(capacity).fill("");
    this.isPacket = new Uint8Array(capacity);
  }

  addPacket(
    timeMs: number,
    direction: "in" | "out",
    packet: Uint8Array,
    key: string | undefined,
  ): void {
    const slot = this.next(timeMs, key, direction === "in" ? "in " : "out");
    this.isPacket[slot] = 1;
    this.lengths[slot] = packet.length;
    const kept = packet.subarray(0, Math.min(packet.length, HEADER_BYTES));
    this.headers.set(kept, slot * HEADER_BYTES);
  }

  addText(timeMs: number, text: string, key: string | undefined): void {
    const slot = this.next(timeMs, key, text);
    this.isPacket[slot] = 0;
  }

  /** Lines numbered `from` and later (at most `max`, the newest), optionally one connection's. */
  since(from: number, max: number, key?: string): TraceLine[] {
    const first = Math.max(from, this.total - this.capacity);
    const out: TraceLine[] = [];
    for (let n = this.total - 1; n >= first && out.length < max; n--) {
      const slot = n % this.capacity;
      if (key !== undefined && this.keys[slot] !== key) continue;
      out.push({ n, timeMs: this.times[slot]!, key: this.keys[slot], text: this.format(slot) });
    }
    return out.reverse();
  }

  private next(timeMs: number, key: string | undefined, text: string): number {
    const slot = this.total % this.capacity;
    this.times[slot] = timeMs;
    this.keys[slot] = key;
    this.texts[slot] = text;
    this.total++;
    return slot;
  }

  private format(slot: number): string {
    const time = timeOfDay(this.times[slot]!);
    if (!this.isPacket[slot]) return `${time} ${this.texts[slot]}`;
    // The headers go back into a packet of the original length; the payload bytes are
    // not printed, so what fills the rest does not matter.
    const length = this.lengths[slot]!;
    if (this.scratch.length < length) this.scratch = new Uint8Array(Math.max(length, 2048));
    const kept = Math.min(length, HEADER_BYTES);
    this.scratch.set(this.headers.subarray(slot * HEADER_BYTES, slot * HEADER_BYTES + kept));
    let text: string;
    try {
      text = formatPacket(this.scratch.subarray(0, length));
    } catch (error) {
      text = `unprintable packet (${String(error)})`;
    }
    return `${time} ${this.texts[slot]} ${text}`;
  }
}
