/**
 * What the kernel behind a TUN with offloads does with the stack's packets, done in
 * software over any device (a memory link): finish partial TCP checksums and cut TSO
 * packets into `segmentSize` pieces as Linux's tcp_gso_segment does (headers copied,
 * SEQ advanced, IPv4 length, id and checksum per piece, PSH and FIN on the last only).
 * Lets whole-stack tests run the offload path with no TUN.
 */
import type { Device } from "../../device/device.ts";
import { foldCarries, internetChecksum, pseudoHeaderSum } from "../../stack/checksum.ts";
import type { Offload, TransmitOffload } from "../../stack/offload.ts";

const FULL: Offload = { checksum: true, segmentation: true };
const IP = 20;
const FIN_PSH = 0x01 | 0x08;

export interface OffloadedDevice extends Device {
  /** Every packet the stack handed over, before the pieces were cut: length and marking. */
  readonly handed: { length: number; dataBytes: number; offload: TransmitOffload | undefined }[];
}

/** `device` with checksum and segmentation offload, both done here in software. */
export function withSoftwareOffload(device: Device, offload: Offload = FULL): OffloadedDevice {
  const handed: OffloadedDevice["handed"] = [];
  return {
    handed,
    capabilities: { offload },
    get mtu() {
      return device.mtu;
    },
    send(packet, marking) {
      const dataBytes = packet.length - IP - (packet[IP + 12]! >>> 4) * 4;
      handed.push({ length: packet.length, dataBytes, offload: marking });
      for (const piece of finishOffload(packet, marking)) device.send(piece);
    },
    onReceive: (handler, flush) => device.onReceive(handler, flush),
    close: () => device.close(),
  };
}

/** The packets that reach the wire for one packet handed to a device with offloads. */
export function finishOffload(packet: Uint8Array, offload?: TransmitOffload): Uint8Array[] {
  if (offload === undefined) return [packet];
  expectPseudoHeaderSum(packet);
  const headerBytes = IP + (packet[IP + 12]! >>> 4) * 4;
  const segmentSize = offload.segmentSize > 0 ? offload.segmentSize : packet.length;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length);
  const seq0 = view.getUint32(IP + 4);
  const id0 = view.getUint16(4);
  const pieces: Uint8Array[] = [];
  for (let at = headerBytes, n = 0; at < packet.length || n === 0; at += segmentSize, n++) {
    const end = Math.min(packet.length, at + segmentSize);
    const piece = new Uint8Array(headerBytes + end - at);
    piece.set(packet.subarray(0, headerBytes));
    piece.set(packet.subarray(at, end), headerBytes);
    const v = new DataView(piece.buffer);
    v.setUint16(2, piece.length);
    v.setUint16(4, (id0 + n) & 0xffff);
    v.setUint16(10, 0);
    v.setUint16(10, internetChecksum(piece.subarray(0, IP)));
    v.setUint32(IP + 4, (seq0 + at - headerBytes) >>> 0);
    if (end < packet.length) piece[IP + 13]! &= ~FIN_PSH;
    finishTcpChecksum(piece, segmentSize < packet.length);
    pieces.push(piece);
  }
  return pieces;
}

/** The contract (`stack/offload.ts`): the field holds the folded pseudo-header sum. */
function expectPseudoHeaderSum(packet: Uint8Array): void {
  const v = new DataView(packet.buffer, packet.byteOffset, packet.length);
  const tcpLength = packet.length - IP;
  const expected = foldCarries(pseudoHeaderSum(v.getUint32(12), v.getUint32(16), 6, tcpLength));
  const field = v.getUint16(IP + 16);
  if (field !== expected)
    throw new Error(`partial checksum ${field.toString(16)}, expected ${expected.toString(16)}`);
}

/**
 * A single packet's field holds the pseudo-header sum: adding the rest finishes it (what
 * the device does with NEEDS_CSUM). A cut piece gets its checksum computed afresh.
 */
function finishTcpChecksum(piece: Uint8Array, cut: boolean): void {
  const v = new DataView(piece.buffer);
  const tcp = piece.subarray(IP);
  let sum: number;
  if (cut) {
    v.setUint16(IP + 16, 0);
    sum = internetChecksum(tcp, pseudoHeaderSum(v.getUint32(12), v.getUint32(16), 6, tcp.length));
  } else {
    sum = internetChecksum(tcp);
  }
  v.setUint16(IP + 16, sum);
}
