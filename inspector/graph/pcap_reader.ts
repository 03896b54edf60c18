/**
 * Reading a capture: the classic pcap format (https://www.tcpdump.org/manpages/pcap-savefile.5.html)
 * in either byte order, with microsecond or nanosecond timestamps, and the link types a
 * TCP capture usually has: raw IP (ours, `device/pcap.ts`), Ethernet (tcpdump -i eth0)
 * and Linux cooked (tcpdump -i any). pcapng is recognised and refused with a sentence.
 */

export interface CapturedPacket {
  /** Milliseconds since the Unix epoch. */
  readonly timeMs: number;
  /** The IPv4 packet (link header removed); possibly truncated to the snap length. */
  readonly ip: Uint8Array;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_LINUX_SLL2 = 276;

export class PcapFormatError extends Error {}

/** Every IPv4 packet in the capture, in file order. Throws PcapFormatError on a bad file. */
export function readPcap(bytes: Uint8Array): CapturedPacket[] {
  if (bytes.length < 24)
    throw new PcapFormatError("The file is shorter than a pcap header (24 bytes).");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === 0x0a0d0d0a) {
    throw new PcapFormatError(
      "This is a pcapng file; convert it with `editcap -F pcap in.pcapng out.pcap`.",
    );
  }
  const formats: Record<number, { little: boolean; nano: boolean }> = {
    2712847316: { little: true, nano: false },
    3569595041: { little: false, nano: false },
    2712812621: { little: true, nano: true },
    1295823521: { little: false, nano: true },
  };
  const format = formats[magic];
  if (format === undefined)
    throw new PcapFormatError(`Not a pcap file (magic ${magic.toString(16)}).`);
  const { little, nano } = format;
  const linkType = view.getUint32(20, little) & 0xffff;
  const out: CapturedPacket[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const included = view.getUint32(at + 8, little);
    at += 16;
    if (at + included > bytes.length) break; // a capture cut short: keep what is whole
    const frame = bytes.subarray(at, at + included);
    at += included;
    const ip = ipOf(frame, linkType);
    if (ip === undefined) continue;
    out.push({ timeMs: seconds * 1000 + (nano ? fraction / 1e6 : fraction / 1e3), ip });
  }
  return out;
}

/** Strips the link header; undefined for anything but IPv4. */
function ipOf(frame: Uint8Array, linkType: number): Uint8Array | undefined {
  let ip: Uint8Array | undefined;
  if (linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4) ip = frame;
  else if (linkType === LINKTYPE_ETHERNET && frame.length >= 14) {
    let type = (frame[12]! << 8) | frame[13]!;
    let offset = 14;
    if (type === 0x8100 && frame.length >= 18) {
      type = (frame[16]! << 8) | frame[17]!; // one 802.1Q tag
      offset = 18;
    }
    if (type === 0x0800) ip = frame.subarray(offset);
  } else if (linkType === LINKTYPE_LINUX_SLL && frame.length >= 16) {
    if (((frame[14]! << 8) | frame[15]!) === 0x0800) ip = frame.subarray(16);
  } else if (linkType === LINKTYPE_LINUX_SLL2 && frame.length >= 20) {
    if (((frame[0]! << 8) | frame[1]!) === 0x0800) ip = frame.subarray(20);
  }
  return ip !== undefined && ip.length > 0 && ip[0]! >> 4 === 4 ? ip : undefined;
}
