/**
 * The device's "transport checksum already valid" fact (`Stack.receive(packet, now,
 * checksumValid)`, from a TUN's NEEDS_CSUM / DATA_VALID): TCP and UDP skip verifying a
 * packet the device vouches for, and still drop and count one it does not.
 */
import { describe, expect, test } from "bun:test";
import { Random } from "../../../stack/random.ts";
import { Stack } from "../../../stack/stack.ts";
import { HOST, ipv4Packet, PEER, PREFIX_LENGTH, udpPacket } from "../../helpers/packets.ts";
import { tcpBytes } from "../../helpers/tcp_wire.ts";

function stackWithListener(): { stack: Stack; sent: Uint8Array[] } {
  const stack = new Stack({
    address: HOST,
    prefixLength: PREFIX_LENGTH,
    mtu: 1500,
    random: new Random(3),
  });
  const sent: Uint8Array[] = [];
  stack.transmit = (packet) => sent.push(packet.slice());
  stack.tcp.listen(0, 80, 4);
  return { stack, sent };
}

/** A SYN to port 80 whose TCP checksum is wrong by one bit. */
function synWithBadChecksum(): Uint8Array {
  const tcp = tcpBytes(PEER, HOST, { flags: "S", seq: 100, sourcePort: 5000, destinationPort: 80 });
  tcp[16]! ^= 0x01;
  return ipv4Packet({ source: PEER, destination: HOST, protocol: 6, payload: tcp });
}

describe("TCP", () => {
  test("a segment with a bad checksum is dropped and counted (tcpInCsumErrors)", () => {
    const { stack, sent } = stackWithListener();
    stack.receive(synWithBadChecksum(), 0);
    expect(stack.stats.get("tcpInCsumErrors")).toBe(1);
    expect(stack.stats.get("tcpInSegs")).toBe(0);
    expect(sent).toHaveLength(0);
  });

  test("a segment the device vouches for is not summed again: the SYN is answered", () => {
    const { stack, sent } = stackWithListener();
    // The same bytes: only the flag differs. A partial checksum (NEEDS_CSUM) looks just
    // as wrong to a verifier, which is why the stack must not verify it.
    stack.receive(synWithBadChecksum(), 0, true);
    expect(stack.stats.get("tcpInCsumErrors")).toBe(0);
    expect(stack.stats.get("tcpInSegs")).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]![20 + 13]).toBe(0x12); // SYN,ACK
  });

  test("the fact covers the transport only: a bad IPv4 header checksum is still dropped", () => {
    const { stack, sent } = stackWithListener();
    const packet = synWithBadChecksum();
    packet[10]! ^= 0x01;
    stack.receive(packet, 0, true);
    expect(stack.stats.get("ipInHdrErrors")).toBe(1);
    expect(sent).toHaveLength(0);
  });
});

describe("UDP", () => {
  const badDatagram = () => udpPacket({ destinationPort: 9999, udpChecksum: 0x1234 });

  test("a datagram with a bad checksum is dropped and counted (udpInCsumErrors)", () => {
    const { stack, sent } = stackWithListener();
    stack.receive(badDatagram(), 0);
    expect(stack.stats.get("udpInCsumErrors")).toBe(1);
    expect(sent).toHaveLength(0);
  });

  test("one the device vouches for is taken as is: no port there, so port unreachable", () => {
    const { stack, sent } = stackWithListener();
    stack.receive(badDatagram(), 0, true);
    expect(stack.stats.get("udpInCsumErrors")).toBe(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]![9]).toBe(1); // ICMP
    expect(sent[0]![20]).toBe(3); // destination unreachable
  });
});
