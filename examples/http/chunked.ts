/**
 * The chunked transfer coding (RFC 9112 §7.1), read and thrown away: the server has no
 * use for request bodies, but must find where one ends to read the next request.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * A byte-at-a-time state machine, so a body split anywhere across `recv` calls decodes
 * the same, and nothing but counters is kept: chunk data is skipped, not stored.
 * As in the parser, a bare LF ends a line (RFC 9112 §2.2) and a bare CR is an error.
 */

type Phase =
  | "size" // hex digits of chunk-size
  | "extension" // after ";" (or whitespace): chunk-ext, ignored (§7.1.1)
  | "size-lf" // CR seen at the end of the size line
  | "data" // chunk-data
  | "data-cr" // the CRLF after chunk-data
  | "data-lf"
  | "trailer-start" // start of a trailer field line, or of the final empty line
  | "trailer" // inside a trailer field line, ignored (§7.1.2)
  | "trailer-lf"
  | "end-lf" // CR of the final empty line seen
  | "done";

export type ChunkedResult =
  | { readonly kind: "progress"; readonly consumed: number; readonly done: boolean }
  | { readonly kind: "error"; readonly status: 400 | 413 | 431; readonly reason: string };

const CR = 0x0d;
const LF = 0x0a;
/** 8 hex digits is 4 GiB, already far above any body limit. */
const MAX_SIZE_DIGITS = 8;
const MAX_EXTENSION_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

export class ChunkedBodySkipper {
  private phase: Phase = "size";
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** Data bytes seen so far (the decoded body length). */
  total = 0;

  constructor(private readonly maxBodyBytes: number) {}

  get done(): boolean {
    return this.phase === "done";
  }

  /** Consumes bytes up to the end of the body; says how many it took and whether it ended. */
  feed(bytes: Uint8Array): ChunkedResult {
    let i = 0;
    while (i < bytes.length && this.phase !== "done") {
      if (this.phase === "data") {
        const skip = Math.min(this.remaining, bytes.length - i);
        this.remaining -= skip;
        i += skip;
        if (this.remaining === 0) this.phase = "data-cr";
        continue;
      }
      const problem = this.step(bytes[i]!);
      if (problem !== undefined) return problem;
      i++;
    }
    return { kind: "progress", consumed: i, done: this.phase === "done" };
  }

  /** One byte of framing (everything but chunk-data). */
  private step(byte: number): Extract<ChunkedResult, { kind: "error" }> | undefined {
    switch (this.phase) {
      case "size":
        return this.sizeByte(byte);
      case "extension":
        if (byte === CR) this.phase = "size-lf";
        else if (byte === LF) return this.endOfSizeLine();
        else if (++this.lineBytes > MAX_EXTENSION_BYTES)
          return fail(400, "chunk extension too long");
        return undefined;
      case "size-lf":
        return byte === LF ? this.endOfSizeLine() : fail(400, "bare CR after chunk size");
      case "data-cr":
        if (byte === CR) this.phase = "data-lf";
        else if (byte === LF) this.startChunk();
        else return fail(400, "chunk data longer than its size");
        return undefined;
      case "data-lf":
        if (byte !== LF) return fail(400, "bare CR after chunk data");
        this.startChunk();
        return undefined;
      case "trailer-start":
        if (byte === CR) this.phase = "end-lf";
        else if (byte === LF) this.phase = "done";
        else this.phase = "trailer";
        return this.countTrailer();
      case "trailer":
        if (byte === CR) this.phase = "trailer-lf";
        else if (byte === LF) this.phase = "trailer-start";
        return this.countTrailer();
      case "trailer-lf":
        if (byte !== LF) return fail(400, "bare CR in a trailer field");
        this.phase = "trailer-start";
        return undefined;
      case "end-lf":
        if (byte !== LF) return fail(400, "bare CR after the trailer section");
        this.phase = "done";
        return undefined;
      default:
        return undefined;
    }
  }

  private sizeByte(byte: number): Extract<ChunkedResult, { kind: "error" }> | undefined {
    const digit = hexValue(byte);
    if (digit !== undefined) {
      if (++this.digits > MAX_SIZE_DIGITS) return fail(413, "chunk size too large");
      this.size = this.size * 16 + digit;
      return undefined;
    }
    if (this.digits === 0) return fail(400, "chunk size missing");
    // §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    if (byte === 0x3b || byte === 0x20 || byte === 0x09) {
      this.phase = "extension";
      this.lineBytes = 0;
      return undefined;
    }
    if (byte === CR) {
      this.phase = "size-lf";
      return undefined;
    }
    if (byte === LF) return this.endOfSizeLine();
    return fail(400, "invalid chunk size");
  }

  private endOfSizeLine(): Extract<ChunkedResult, { kind: "error" }> | undefined {
    if (this.size === 0) {
      this.phase = "trailer-start"; // last-chunk
      return undefined;
    }
    this.total += this.size;
    if (this.total > this.maxBodyBytes) return fail(413, "request body too large");
    this.remaining = this.size;
    this.phase = "data";
    return undefined;
  }

  private startChunk(): void {
    this.phase = "size";
    this.size = 0;
    this.digits = 0;
  }

  private countTrailer(): Extract<ChunkedResult, { kind: "error" }> | undefined {
    return ++this.trailerBytes > MAX_TRAILER_BYTES
      ? fail(431, "trailer section too large")
      : undefined;
  }
}

function fail(status: 400 | 413 | 431, reason: string): Extract<ChunkedResult, { kind: "error" }> {
  return { kind: "error", status, reason };
}

function hexValue(byte: number): number | undefined {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return undefined;
}
