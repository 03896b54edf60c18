/**
 * One TCP segment as the pictures need it: who sent it, when, its sequence space, its
 * window and SACK blocks. Read straight from the IPv4 packet's bytes (RFC 791 §3.1,
 * RFC 9293 §3.1, RFC 2018 §3, RFC 7323 §2), independently of the protocol code, so the
 * live inspector (`recorder.ts`) and the offline graph tool (`graph/`) draw what was on
 * the wire, whichever stack sent it.
 *
 * Read `history.ts` next: where the live inspector keeps these.
 */

export interface SegmentRecord {
  /** Milliseconds (wall clock live; the capture's timestamps offline). */
  readonly timeMs: number;
  /** "10.0.0.1:40000": address and port of the sender. */
  readonly source: string;
  readonly destination: string;
  readonly seq: number;
  readonly ack: number;
  /** The flag byte (RFC 9293 §3.1: CWR ECE URG ACK PSH RST SYN FIN). */
  readonly flags: number;
  /** SEG.WND as written (not yet scaled: RFC 7323 §2.3 scales it outside SYNs). */
  readonly window: number;
  /** Bytes of data (SEG.LEN without SYN and FIN). */
  readonly dataBytes: number;
  /** SACK blocks as [left, right) edges (RFC 2018 §3), absolute. */
  readonly sack: readonly (readonly [number, number])[];
  /** RFC 7323 §2.2: Window Shift, on a SYN only. */
  readonly windowScale?: number;
  /** RFC 9293 §3.7.1: MSS, on a SYN only. */
  readonly mss?: number;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

const NO_SACK: readonly (readonly [number, number])[] = [];

/** The segment in an IPv4 packet, or undefined if it is not an unfragmented TCP segment. */
export function decodeTcpPacket(packet: Uint8Array, timeMs: number): SegmentRecord | undefined {
  if (packet.length < 40 || packet[0]! >> 4 !== 4 || packet[9] !== 6) return undefined;
  const ipHeader = (packet[0]! & 0x0f) * 4;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  // RFC 791 §3.1: a later fragment has no TCP header; the first one is drawn whole.
  if ((view.getUint16(6) & 0x1fff) !== 0) return undefined;
  // With a truncated capture (snaplen) the IP total length still says the real size.
  const total = Math.max(view.getUint16(2), ipHeader);
  if (ipHeader < 20 || packet.length < ipHeader + 20) return undefined;
  const t = ipHeader;
  const dataOffset = (packet[t + 12]! >> 4) * 4;
  if (dataOffset < 20) return undefined;
  const source = endpointText(view.getUint32(12), view.getUint16(t));
  const destination = endpointText(view.getUint32(16), view.getUint16(t + 2));
  const flags = packet[t + 13]!;
  const record: {
    -readonly [K in keyof SegmentRecord]: SegmentRecord[K];
  } = {
    timeMs,
    source,
    destination,
    seq: view.getUint32(t + 4),
    ack: view.getUint32(t + 8),
    flags,
    window: view.getUint16(t + 14),
    dataBytes: Math.max(0, total - ipHeader - dataOffset),
    sack: NO_SACK,
  };
  const optionsEnd = Math.min(t + dataOffset, packet.length);
  if (optionsEnd > t + 20) readOptions(packet, view, t + 20, optionsEnd, record);
  return record;
}

/** RFC 9293 §3.2 option list: kind, length, body; EOL ends it, NOP pads. */
function readOptions(
  packet: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  into: { sack: SegmentRecord["sack"]; windowScale?: number; mss?: number },
): void {
  let i = start;
  while (i < end) {
    const kind = packet[i]!;
    if (kind === 0) return;
    if (kind === 1) {
      i++;
      continue;
    }
    const length = packet[i + 1] ?? 0;
    if (length < 2 || i + length > end) return;
    if (kind === 2 && length === 4) into.mss = view.getUint16(i + 2);
    else if (kind === 3 && length === 3) into.windowScale = Math.min(14, packet[i + 2]!);
    else if (kind === 5 && (length - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let j = i + 2; j < i + length; j += 8) {
        blocks.push([view.getUint32(j), view.getUint32(j + 4)]);
      }
      into.sack = blocks;
    }
    i += length;
  }
}

/** "10.0.0.1:80", remembered: a live transfer would otherwise build two strings a packet. */
const endpointTexts = new Map<number, string>();

function endpointText(address: number, port: number): string {
  const id = address * 65536 + port; // 48 bits: exact in a double
  let text = endpointTexts.get(id);
  if (text === undefined) {
    if (endpointTexts.size >= 4096) endpointTexts.clear();
    text = `${ipv4Text(address)}:${port}`;
    endpointTexts.set(id, text);
  }
  return text;
}

function ipv4Text(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** "S", "S.", ".", "P.", "F.", "R": tcpdump's letters ("." is ACK). */
export function flagLetters(flags: number): string {
  let text = "";
  if (flags & SYN) text += "S";
  if (flags & FIN) text += "F";
  if (flags & RST) text += "R";
  if (flags & PSH) text += "P";
  if (flags & ACK) text += ".";
  return text || "none";
}

/** SEG.LEN (RFC 9293 §3.4): data plus one for SYN and one for FIN. */
export function segmentLength(s: SegmentRecord): number {
  return s.dataBytes + (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0);
}
