/**
 * TUN offloads without a TUN: the TSO coalescer against a model of the kernel's
 * tcp_gso_segment (split a super-segment back into MSS-sized pieces), and the receive
 * side's checksum completion and "checksum valid" verdict.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  completeChecksum,
  receivedChecksum,
  TsoCoalescer,
  VNET_HEADER_BYTES,
} from "../../device/offload.ts";
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from "../../stack/checksum.ts";
import { HOST, ipv4Packet, PEER } from "../helpers/packets.ts";
import { checksumOk, tcpBytes } from "../helpers/tcp_wire.ts";

const TCP = 6;
const UDP = 17;

interface Spec {
  flow: 0 | 1;
  seq: number;
  size: number;
  flags: string;
  id: number;
}

function packetOf(spec: Spec): Uint8Array {
  const data = new Uint8Array(spec.size).map((_, i) => (spec.seq + i) & 0xff);
  const tcp = tcpBytes(HOST, PEER, {
    flags: spec.flags,
    seq: spec.seq,
    ack: 777,
    sourcePort: spec.flow === 0 ? 19 : 9,
    destinationPort: 40000,
    data,
    options: { timestamp: { value: 5, echo: 6 } },
  });
  return ipv4Packet({
    source: HOST,
    destination: PEER,
    protocol: TCP,
    payload: tcp,
    identification: spec.id,
    dontFragment: true,
  });
}

/** The kernel's view of what we wrote: tcp_gso_segment splits a TCPv4 super-segment. */
function kernelSplit(written: Uint8Array): Uint8Array[] {
  const header = written.subarray(0, VNET_HEADER_BYTES);
  const packet = written.subarray(VNET_HEADER_BYTES);
  if (header[1] === 0) {
    expect([...header]).toEqual(new Array(VNET_HEADER_BYTES).fill(0));
    return [packet.slice()];
  }
  expect(header[1]).toBe(1); // GSO_TCPV4
  expect(header[0]).toBe(1); // NEEDS_CSUM
  const view = new DataView(header.buffer, header.byteOffset);
  const headerBytes = view.getUint16(2, true);
  const gsoSize = view.getUint16(4, true);
  expect([view.getUint16(6, true), view.getUint16(8, true)]).toEqual([20, 16]);
  // The IP header of the whole is valid, and the TCP checksum field holds the pseudo-header sum.
  expect(internetChecksum(packet.subarray(0, 20))).toBe(0);
  const p = new DataView(packet.buffer, packet.byteOffset);
  expect(p.getUint16(2)).toBe(packet.length);
  const pseudo = onesComplementSum(
    new Uint8Array(0),
    pseudoHeaderSum(HOST, PEER, TCP, packet.length - 20),
  );
  expect(p.getUint16(36)).toBe(pseudo);
  const pieces: Uint8Array[] = [];
  const seq0 = p.getUint32(24);
  for (let at = headerBytes; at < packet.length; at += gsoSize) {
    const end = Math.min(packet.length, at + gsoSize);
    const piece = new Uint8Array(headerBytes + end - at);
    piece.set(packet.subarray(0, headerBytes));
    piece.set(packet.subarray(at, end), headerBytes);
    const v = new DataView(piece.buffer);
    v.setUint16(2, piece.length);
    v.setUint32(24, (seq0 + at - headerBytes) >>> 0);
    if (end < packet.length) piece[33]! &= ~0x09; // PSH and FIN stay on the last piece only
    v.setUint16(36, 0);
    v.setUint16(
      36,
      internetChecksum(piece.subarray(20), pseudoHeaderSum(HOST, PEER, TCP, piece.length - 20)),
    );
    pieces.push(piece);
  }
  return pieces;
}

/** What the comparison ignores: the IP identification (the kernel numbers pieces itself) and PSH on merged pieces. */
function normalised(packet: Uint8Array, keepPsh: boolean): string {
  const copy = packet.slice();
  copy.fill(0, 4, 6);
  copy.fill(0, 10, 12);
  if (!keepPsh && copy[9] === TCP) {
    copy[33]! &= ~0x08;
    copy.fill(0, 36, 38);
  }
  return Buffer.from(copy).toString("hex");
}

function run(packets: Uint8Array[], flushEvery = Number.POSITIVE_INFINITY): Uint8Array[] {
  const written: Uint8Array[] = [];
  const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
  packets.forEach((packet, i) => {
    tso.send(packet);
    if ((i + 1) % flushEvery === 0) tso.flush();
  });
  tso.flush();
  expect(tso.pending).toBe(false);
  return written;
}

describe("TsoCoalescer", () => {
  test("consecutive full segments of one connection become one super-segment; the kernel's split gives them back", () => {
    const specs: Spec[] = [0, 1, 2, 3].map((i) => ({
      flow: 0,
      seq: 1000 + i * 1448,
      size: i === 3 ? 500 : 1448,
      flags: i === 3 ? "AP" : "A",
      id: i,
    }));
    const packets = specs.map(packetOf);
    const written = run(packets);
    expect(written.length).toBe(1);
    const pieces = kernelSplit(written[0]!);
    expect(pieces.map((p) => normalised(p, true))).toEqual(packets.map((p) => normalised(p, true)));
    for (const piece of pieces) expect(checksumOk(HOST, PEER, piece.subarray(20))).toBe(true);
  });

  test("a single segment, a SYN, a UDP datagram and a gap in sequence numbers pass through unchanged and in order", () => {
    const udp = ipv4Packet({
      source: HOST,
      destination: PEER,
      protocol: UDP,
      payload: new Uint8Array(12),
    });
    const packets = [
      packetOf({ flow: 0, seq: 1, size: 0, flags: "S", id: 1 }),
      packetOf({ flow: 0, seq: 100, size: 1000, flags: "A", id: 2 }),
      udp,
      packetOf({ flow: 0, seq: 1100, size: 1000, flags: "A", id: 3 }),
      packetOf({ flow: 0, seq: 5000, size: 1000, flags: "A", id: 4 }),
    ];
    const written = run(packets);
    expect(written.length).toBe(packets.length);
    expect(written.map((w) => Buffer.from(w.subarray(VNET_HEADER_BYTES)).toString("hex"))).toEqual(
      packets.map((p) => Buffer.from(p).toString("hex")),
    );
  });

  test("property: whatever the mix of connections, sizes and flush points, the kernel's split gives back every segment in order", () => {
    const spec = fc.record({
      flow: fc.constantFrom(0 as const, 1 as const),
      size: fc.oneof(fc.constant(1448), fc.constant(1448), fc.integer({ min: 0, max: 1448 })),
      push: fc.boolean(),
      gap: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(
        fc.array(spec, { maxLength: 80 }),
        fc.integer({ min: 1, max: 100 }),
        (steps, flushEvery) => {
          const next = [1000, 900_000];
          const packets = steps.map((s, id) => {
            const seq = s.gap === 0 ? next[s.flow]! + 7 : next[s.flow]!; // now and then out of sequence
            next[s.flow] = seq + s.size;
            return packetOf({ flow: s.flow, seq, size: s.size, flags: s.push ? "AP" : "A", id });
          });
          const pieces = run(packets, flushEvery).flatMap(kernelSplit);
          expect(pieces.map((p) => normalised(p, false))).toEqual(
            packets.map((p) => normalised(p, false)),
          );
          for (const piece of pieces) expect(checksumOk(HOST, PEER, piece.subarray(20))).toBe(true);
          // PSH is never lost: each pushed segment is still pushed, or its data is in a piece that is.
          const pushedOut = pieces.filter((p) => (p[33]! & 0x08) !== 0).length;
          expect(pushedOut).toBeLessThanOrEqual(
            packets.filter((p) => (p[33]! & 0x08) !== 0).length,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a run stops short of the 65,535-byte IPv4 limit", () => {
    const packets = Array.from({ length: 60 }, (_, i) =>
      packetOf({ flow: 0, seq: i * 1448, size: 1448, flags: "A", id: i }),
    );
    const written = run(packets);
    expect(written.length).toBe(2);
    for (const w of written) expect(w.length - VNET_HEADER_BYTES).toBeLessThanOrEqual(65535);
    expect(written.flatMap(kernelSplit).length).toBe(60);
  });
});

/** `packet` as the stack sends it with checksum offload: the pseudo-header sum in the field. */
function withPartialChecksum(packet: Uint8Array): Uint8Array {
  const sum = onesComplementSum(
    new Uint8Array(0),
    pseudoHeaderSum(HOST, PEER, TCP, packet.length - 20),
  );
  new DataView(packet.buffer, packet.byteOffset).setUint16(36, sum);
  return packet;
}

describe("TsoCoalescer with the stack's own offload marks", () => {
  test("a lone segment with a partial checksum goes out NEEDS_CSUM, which completes it", () => {
    const packet = withPartialChecksum(packetOf({ flow: 0, seq: 9, size: 0, flags: "A", id: 1 }));
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
    tso.send(packet, { partialChecksum: true, segmentSize: 0 });
    tso.flush();
    expect(written.length).toBe(1);
    const header = written[0]!.subarray(0, VNET_HEADER_BYTES);
    expect([...header]).toEqual([1, 0, 0, 0, 0, 0, 20, 0, 16, 0]);
    const out = written[0]!.subarray(VNET_HEADER_BYTES);
    expect(completeChecksum(header, out)).toBe(true);
    expect(checksumOk(HOST, PEER, out.subarray(20))).toBe(true);
  });

  test("a TSO segment from the stack is written at once with its segment size; the kernel's split gives MSS pieces, FIN on the last", () => {
    const whole = packetOf({ flow: 0, seq: 5000, size: 4 * 1448 + 100, flags: "AF", id: 3 });
    new DataView(whole.buffer).setUint16(2, whole.length); // as Ipv4.output writes it
    withPartialChecksum(whole);
    const pending = packetOf({ flow: 1, seq: 1, size: 1448, flags: "A", id: 2 });
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
    tso.send(pending);
    tso.send(whole, { partialChecksum: true, segmentSize: 1448 });
    expect(tso.pending).toBe(false);
    expect(written.length).toBe(2); // what was pending first, in order
    const pieces = kernelSplit(written[1]!);
    expect(pieces.map((p) => p.length - 52)).toEqual([1448, 1448, 1448, 1448, 100]);
    expect(pieces.map((p) => p[33]! & 0x01)).toEqual([0, 0, 0, 0, 1]);
    for (const piece of pieces) expect(checksumOk(HOST, PEER, piece.subarray(20))).toBe(true);
  });
});

describe("TsoCoalescer with headroom in front of a TSO segment", () => {
  test("the vnet header is written in place, in the sender's buffer: one write, no copy", () => {
    const packet = packetOf({ flow: 0, seq: 5000, size: 3 * 1448, flags: "A", id: 3 });
    new DataView(packet.buffer).setUint16(2, packet.length);
    withPartialChecksum(packet);
    const headroom = 16;
    const buffer = new Uint8Array(headroom + packet.length);
    buffer.set(packet, headroom);
    const inBuffer = buffer.subarray(headroom);
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes));
    tso.send(inBuffer, { partialChecksum: true, segmentSize: 1448, headroom });
    expect(written.length).toBe(1);
    expect(written[0]!.buffer).toBe(buffer.buffer); // the sender's own bytes
    expect(written[0]!.byteOffset).toBe(headroom - VNET_HEADER_BYTES);
    expect(written[0]!.subarray(VNET_HEADER_BYTES)).toEqual(packet);
    const pieces = kernelSplit(written[0]!);
    expect(pieces.map((p) => p.length - 52)).toEqual([1448, 1448, 1448]);
    for (const piece of pieces) expect(checksumOk(HOST, PEER, piece.subarray(20))).toBe(true);
  });

  test("without enough headroom it copies as before, and the sender's bytes are untouched", () => {
    const packet = packetOf({ flow: 0, seq: 5000, size: 2 * 1448, flags: "A", id: 3 });
    new DataView(packet.buffer).setUint16(2, packet.length);
    withPartialChecksum(packet);
    const before = packet.slice();
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
    tso.send(packet, { partialChecksum: true, segmentSize: 1448, headroom: 16 }); // byteOffset 0
    expect(packet).toEqual(before);
    expect(kernelSplit(written[0]!).length).toBe(2);
  });
});

describe("completeChecksum", () => {
  const partialHeader = (start: number, offset: number) => {
    const header = new Uint8Array(VNET_HEADER_BYTES);
    const view = new DataView(header.buffer);
    header[0] = 1;
    view.setUint16(6, start, true);
    view.setUint16(8, offset, true);
    return header;
  };

  test("finishes a partial TCP checksum (pseudo-header sum in the field) into a valid one", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
        const packet = packetOf({ flow: 0, seq: 1, size: 0, flags: "A", id: 1 });
        const whole = new Uint8Array(packet.length + data.length);
        whole.set(packet);
        whole.set(data, packet.length);
        const tcpLength = whole.length - 20;
        new DataView(whole.buffer).setUint16(
          36,
          onesComplementSum(new Uint8Array(0), pseudoHeaderSum(HOST, PEER, TCP, tcpLength)),
        );
        expect(completeChecksum(partialHeader(20, 16), whole)).toBe(true);
        expect(checksumOk(HOST, PEER, whole.subarray(20))).toBe(true);
      }),
    );
  });

  test("leaves a packet without NEEDS_CSUM alone, and refuses an offset beyond the packet", () => {
    const packet = packetOf({ flow: 0, seq: 1, size: 10, flags: "A", id: 1 });
    const before = packet.slice();
    expect(completeChecksum(new Uint8Array(VNET_HEADER_BYTES), packet)).toBe(true);
    expect(packet).toEqual(before);
    expect(completeChecksum(partialHeader(20, packet.length), packet)).toBe(false);
  });
});

describe("receivedChecksum", () => {
  const vnetHeader = (flags: number, start = 20, offset = 16) => {
    const header = new Uint8Array(VNET_HEADER_BYTES);
    const view = new DataView(header.buffer);
    header[0] = flags;
    view.setUint16(6, start, true);
    view.setUint16(8, offset, true);
    return header;
  };
  /** A TCP packet as the kernel hands it up with NEEDS_CSUM: the pseudo-header sum only. */
  const partialTcp = () => {
    const packet = packetOf({ flow: 0, seq: 1, size: 3000, flags: "A", id: 1 });
    const pseudo = onesComplementSum(
      new Uint8Array(0),
      pseudoHeaderSum(HOST, PEER, TCP, packet.length - 20),
    );
    new DataView(packet.buffer).setUint16(36, pseudo);
    return packet;
  };

  test("NEEDS_CSUM on a TCP header: valid, and the packet is left as it is (no pass over it)", () => {
    const packet = partialTcp();
    const before = packet.slice();
    expect(receivedChecksum(vnetHeader(1), packet)).toBe("valid");
    expect(packet).toEqual(before);
    expect(checksumOk(HOST, PEER, packet.subarray(20))).toBe(false); // still partial
  });

  test("DATA_VALID: valid; no flags: unchecked (the stack verifies)", () => {
    const packet = packetOf({ flow: 0, seq: 1, size: 10, flags: "A", id: 1 });
    expect(receivedChecksum(vnetHeader(2, 0, 0), packet)).toBe("valid");
    expect(receivedChecksum(new Uint8Array(VNET_HEADER_BYTES), packet)).toBe("unchecked");
  });

  test("NEEDS_CSUM elsewhere than a TCP/UDP header is finished here, then verified above", () => {
    const packet = partialTcp();
    packet[9] = 1; // not TCP or UDP: the stack's ICMP would verify it
    packet[36] = 0; // ICMP has no pseudo-header: its partial sum starts at 0
    packet[37] = 0;
    expect(receivedChecksum(vnetHeader(1), packet)).toBe("unchecked");
    expect(internetChecksum(packet.subarray(20))).toBe(0);
  });

  test("a checksum offset outside the packet is malformed", () => {
    const packet = packetOf({ flow: 0, seq: 1, size: 10, flags: "A", id: 1 });
    expect(receivedChecksum(vnetHeader(1, 20, packet.length), packet)).toBe("malformed");
  });
});

describe("IPv6 TCP through the offloads (TUN_F_TSO6)", () => {
  /** fd00::2 → fd00::1, TCP with a 20-octet header and `data` bytes (RFC 8200 §3). */
  const ipv6Tcp = (data: number) => {
    const packet = new Uint8Array(40 + 20 + data);
    const view = new DataView(packet.buffer);
    packet[0] = 0x60;
    view.setUint16(4, 20 + data); // Payload Length
    packet[6] = 6; // Next Header: TCP
    packet[7] = 64;
    packet[8] = 0xfd;
    packet[23] = 2;
    packet[24] = 0xfd;
    packet[39] = 1;
    packet[40 + 12] = 5 << 4; // Data Offset
    packet[40 + 13] = 0x10; // ACK
    return packet;
  };

  test("a TSO segment is written with gso_type TCPv6 and the checksum starting after the 40-octet header", () => {
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
    tso.send(ipv6Tcp(3 * 1440), { partialChecksum: true, segmentSize: 1440 });
    expect(written.length).toBe(1);
    const header = new DataView(written[0]!.buffer, 0, VNET_HEADER_BYTES);
    expect(header.getUint8(0)).toBe(1); // NEEDS_CSUM
    expect(header.getUint8(1)).toBe(4); // VIRTIO_NET_HDR_GSO_TCPV6
    expect(header.getUint16(2, true)).toBe(60); // hdr_len: IPv6 + TCP headers
    expect(header.getUint16(4, true)).toBe(1440); // gso_size
    expect(header.getUint16(6, true)).toBe(40); // csum_start
    expect(header.getUint16(8, true)).toBe(16); // csum_offset
  });

  test("a lone IPv6 segment with a partial checksum is marked from octet 40; NEEDS_CSUM there on arrival is valid", () => {
    const written: Uint8Array[] = [];
    const tso = new TsoCoalescer((bytes) => written.push(bytes.slice()));
    tso.send(ipv6Tcp(100), { partialChecksum: true, segmentSize: 0 });
    tso.flush();
    const header = written[0]!.subarray(0, VNET_HEADER_BYTES);
    expect([...header]).toEqual([1, 0, 0, 0, 0, 0, 40, 0, 16, 0]);
    expect(receivedChecksum(header, ipv6Tcp(3000))).toBe("valid");
  });
});
