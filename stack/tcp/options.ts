/**
 * TCP options (RFC 9293 §3.1 "Options", §3.2 "Specific Option Definitions"):
 * the bytes between the fixed 20-byte header and the data.
 *
 *   Kind  Length  Meaning                       Defined in
 *   0     -       End of option list            RFC 9293 §3.2
 *   1     -       No-operation (padding)        RFC 9293 §3.2
 *   2     4       Maximum segment size          RFC 9293 §3.7.1
 *   3     3       Window scale shift            RFC 7323 §2
 *   4     2       SACK permitted                RFC 2018 §2
 *   5     2+8n    SACK blocks                   RFC 2018 §3
 *   8     10      Timestamps (TSval, TSecr)     RFC 7323 §3
 *
 * RFC 9293 §3.1: "a TCP implementation MUST be able to receive a TCP Option in any
 * segment" and "MUST be prepared to handle an illegal option length (e.g., zero)
 * without crashing". A length of 0 or 1 for a kind that has a length, or a length
 * that runs past the header, makes the whole segment malformed: parseOptions returns
 * undefined and the caller drops it, counted as `tcpInBadOptions`. A known kind with
 * a wrong but well-formed length is skipped, as Linux does.
 */

export const OptionKind = {
  END: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
} as const;

/** One SACK block: the bytes [left, right) arrived (RFC 2018 §3). */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sackBlocks?: readonly SackBlock[];
  /** RFC 7323 §3: TSval and TSecr. */
  timestamp?: { readonly value: number; readonly echo: number };
}

export const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * Options to be filled in place, segment after segment: every field present (undefined
 * when absent, so the object keeps one shape), and a timestamp pair of its own that
 * `timestamp` points at when the option is there. TCP's receive path parses every
 * segment's options into one of these, and its send path writes each segment's options
 * from one, instead of two new objects per segment.
 */
export class ReusableOptions implements TcpOptions {
  mss: number | undefined = undefined;
  windowScale: number | undefined = undefined;
  sackPermitted: boolean | undefined = undefined;
  sackBlocks: readonly SackBlock[] | undefined = undefined;
  timestamp: { value: number; echo: number } | undefined = undefined;
  /** What `timestamp` points at while present. */
  readonly timestampPair = { value: 0, echo: 0 };

  /** Back to no options at all. */
  clear(): this {
    this.mss = undefined;
    this.windowScale = undefined;
    this.sackPermitted = undefined;
    this.sackBlocks = undefined;
    this.timestamp = undefined;
    return this;
  }

  /** Sets the timestamps option (RFC 7323 §3: TSval, TSecr). */
  setTimestamp(value: number, echo: number): void {
    this.timestampPair.value = value;
    this.timestampPair.echo = echo;
    this.timestamp = this.timestampPair;
  }
}

/**
 * Parses the options area, `bytes[start..end)` (the whole array by default: a range
 * spares a view per segment); undefined means malformed (drop the segment). The options
 * are written into `into` when given (cleared first), else into a new object.
 */
export function parseOptions(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  into?: ReusableOptions,
): TcpOptions | undefined {
  if (end <= start) return into === undefined ? NO_OPTIONS : into.clear();
  const options: TcpOptions = into === undefined ? {} : into.clear();
  let i = start;
  while (i < end) {
    const kind = bytes[i]!;
    if (kind === OptionKind.END) break;
    if (kind === OptionKind.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return undefined; // no room for the length byte
    const length = bytes[i + 1]!;
    if (length < 2 || i + length > end) return undefined;
    readOption(options, kind, bytes, i, length);
    i += length;
  }
  return options;
}

function readOption(
  options: TcpOptions,
  kind: number,
  b: Uint8Array,
  at: number,
  length: number,
): void {
  if (kind === OptionKind.MSS && length === 4) options.mss = read16(b, at + 2);
  else if (kind === OptionKind.WINDOW_SCALE && length === 3) options.windowScale = b[at + 2]!;
  else if (kind === OptionKind.SACK_PERMITTED && length === 2) options.sackPermitted = true;
  else if (kind === OptionKind.TIMESTAMPS && length === 10) {
    if (options instanceof ReusableOptions)
      options.setTimestamp(read32(b, at + 2), read32(b, at + 6));
    else options.timestamp = { value: read32(b, at + 2), echo: read32(b, at + 6) };
  } else if (kind === OptionKind.SACK && length >= 10 && (length - 2) % 8 === 0) {
    const blocks: SackBlock[] = [];
    for (let j = at + 2; j < at + length; j += 8)
      blocks.push({ left: read32(b, j), right: read32(b, j + 4) });
    options.sackBlocks = blocks;
  }
}

function read16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function read32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function write16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

function write32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

/** Bytes emitOptions will write (a multiple of 4, at most 40). */
export function optionsLength(options: TcpOptions): number {
  let length = 0;
  if (options.mss !== undefined) length += 4;
  if (options.timestamp !== undefined)
    length += 12; // NOP NOP TS, or SACK-permitted TS
  else if (options.sackPermitted) length += 4; // NOP NOP SACK-permitted
  if (options.windowScale !== undefined) length += 4; // NOP WS
  if (options.sackBlocks !== undefined && options.sackBlocks.length > 0)
    length += 4 + 8 * options.sackBlocks.length; // NOP NOP SACK
  return length;
}

/**
 * Writes the options at `at`, padded with NOPs to 32-bit alignment (the layout Linux
 * uses, so a capture looks familiar). Returns the number of bytes written.
 */
export function emitOptions(options: TcpOptions, into: Uint8Array, at: number): number {
  let i = at;
  if (options.mss !== undefined) {
    into[i] = OptionKind.MSS;
    into[i + 1] = 4;
    write16(into, i + 2, options.mss);
    i += 4;
  }
  if (options.timestamp !== undefined) {
    if (options.sackPermitted) {
      into[i] = OptionKind.SACK_PERMITTED;
      into[i + 1] = 2;
    } else {
      into[i] = OptionKind.NOP;
      into[i + 1] = OptionKind.NOP;
    }
    into[i + 2] = OptionKind.TIMESTAMPS;
    into[i + 3] = 10;
    write32(into, i + 4, options.timestamp.value >>> 0);
    write32(into, i + 8, options.timestamp.echo >>> 0);
    i += 12;
  } else if (options.sackPermitted) {
    write16(into, i, (OptionKind.NOP << 8) | OptionKind.NOP);
    into[i + 2] = OptionKind.SACK_PERMITTED;
    into[i + 3] = 2;
    i += 4;
  }
  if (options.windowScale !== undefined) {
    into[i] = OptionKind.NOP;
    into[i + 1] = OptionKind.WINDOW_SCALE;
    into[i + 2] = 3;
    into[i + 3] = options.windowScale;
    i += 4;
  }
  const blocks = options.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) {
    write16(into, i, (OptionKind.NOP << 8) | OptionKind.NOP);
    into[i + 2] = OptionKind.SACK;
    into[i + 3] = 2 + 8 * blocks.length;
    i += 4;
    for (const block of blocks) {
      write32(into, i, block.left >>> 0);
      write32(into, i + 4, block.right >>> 0);
      i += 8;
    }
  }
  return i - at;
}
