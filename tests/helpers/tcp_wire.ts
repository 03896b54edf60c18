/** Raw TCP bytes for tests: build a segment from a spec, and check a checksum. */
import { internetChecksum, pseudoHeaderSum } from "../../stack/checksum.ts";
import { buildSegment, Flag, finishChecksum } from "../../stack/tcp/header.ts";
import type { SegmentSpec } from "./tcp_segments.ts";

const LETTERS: Record<string, number> = {
  S: Flag.SYN,
  A: Flag.ACK,
  F: Flag.FIN,
  R: Flag.RST,
  P: Flag.PSH,
  U: Flag.URG,
};

export function flagsOf(text: string): number {
  let flags = 0;
  for (const letter of text) flags |= LETTERS[letter] ?? 0;
  return flags;
}

/** The TCP bytes (no IP header) of a segment from `source` to `destination`. */
export function tcpBytes(source: number, destination: number, spec: SegmentSpec): Uint8Array {
  const data =
    typeof spec.data === "string"
      ? new TextEncoder().encode(spec.data)
      : (spec.data ?? new Uint8Array(0));
  const { packet, dataAt } = buildSegment(
    {
      sourcePort: spec.sourcePort ?? 5000,
      destinationPort: spec.destinationPort ?? 80,
      seq: spec.seq ?? 0,
      ack: spec.ack ?? 0,
      flags: flagsOf(spec.flags),
      wnd: spec.wnd ?? 65535,
      urgentPointer: spec.urg ?? 0,
      options: spec.options ?? {},
    },
    data.length,
  );
  packet.set(data, dataAt);
  finishChecksum(packet, source, destination);
  return packet.subarray(20);
}

export function checksumOk(source: number, destination: number, tcp: Uint8Array): boolean {
  return internetChecksum(tcp, pseudoHeaderSum(source, destination, 6, tcp.length)) === 0;
}
