/**
 * TCP over a device with checksum and segmentation offload (`stack/offload.ts`), the
 * device's part done in software (`tests/helpers/software_offload.ts`, a model of the
 * kernel behind a TUN): transfers stay byte-exact, TCP hands over segments of many MSS
 * that the device cuts back into segments no larger than one MSS (RFC 9293 §3.7.1), and
 * a stack not told of offloads sends exactly what it did before.
 */
import { describe, expect, test } from "bun:test";
import type { Device } from "../../../device/device.ts";
import { attachDriver } from "../../../device/driver.ts";
import { createMemoryLink, type MemoryLinkEnd } from "../../../device/memory_link.ts";
import { VirtualClock } from "../../../stack/clock.ts";
import { NO_OFFLOAD, type Offload } from "../../../stack/offload.ts";
import { Random } from "../../../stack/random.ts";
import { Stack } from "../../../stack/stack.ts";
import { type OffloadedDevice, withSoftwareOffload } from "../../helpers/software_offload.ts";
import { randomBytes, runTransfer } from "../../helpers/tcp_transfer.ts";
import { ADDRESS_A, ADDRESS_B, type Host } from "../../helpers/two_hosts.ts";

const MTU = 1500;
const MB = 1 << 20;

/** The real driver (device/driver.ts) over `device`; a stack that throws fails the test. */
function drive(stack: Stack, device: Device, end: MemoryLinkEnd, clock: VirtualClock): Host {
  const driver = attachDriver(stack, device, clock, {
    onError: (error) => {
      throw error;
    },
  });
  return { stack, device: end, service: driver.service };
}

function offloadedHosts(offload: Offload) {
  const clock = new VirtualClock(1_000_000);
  const [endA, endB] = createMemoryLink(clock, { seed: 3, mtu: MTU });
  const deviceA = withSoftwareOffload(endA, offload);
  const deviceB = withSoftwareOffload(endB, offload);
  const stackOf = (address: number, seed: number, device: OffloadedDevice) =>
    new Stack({
      address,
      prefixLength: 24,
      mtu: MTU,
      random: new Random(seed),
      offload: device.capabilities?.offload ?? NO_OFFLOAD,
    });
  const a = drive(stackOf(ADDRESS_A, 7, deviceA), deviceA, endA, clock);
  const b = drive(stackOf(ADDRESS_B, 8, deviceB), deviceB, endB, clock);
  return { hosts: { clock, a, b }, deviceA, deviceB };
}

function transfer(offload: Offload, size: number) {
  const setup = offloadedHosts(offload);
  const aToB = randomBytes(1, size);
  const bToA = randomBytes(2, size / 4);
  const options = { receiveBufferBytes: MB, sendBufferBytes: MB };
  const result = runTransfer(setup.hosts, {
    aToB,
    bToA,
    writeChunkA: 200_000,
    writeChunkB: 30_000,
    readChunkA: 100_000,
    readChunkB: 150_000,
    stepMs: 1,
    limitMs: 60_000,
    optionsA: options,
    optionsB: options,
  });
  expect(result.finished).toBe(true);
  expect(Buffer.compare(result.receivedByB, aToB)).toBe(0);
  expect(Buffer.compare(result.receivedByA, bToA)).toBe(0);
  return { ...setup, result };
}

describe("TCP with offloads", () => {
  test("checksum + segmentation: byte-exact both ways; segments of whole MSS multiples, cut by the device", () => {
    const { deviceA, result } = transfer({ checksum: true, segmentation: true }, 4 * MB);
    const smss = result.client.info(0).sndMss;
    const large = deviceA.handed.filter((p) => p.length > MTU);
    // Most of 4 MB goes out in TSO segments, each marked with the MSS to cut at.
    expect(large.length).toBeGreaterThan(20);
    for (const p of deviceA.handed) {
      // Data segments leave the checksum to the device; header-only ones keep theirs.
      expect(p.offload?.partialChecksum).toBe(p.dataBytes > 0 ? true : undefined);
      expect(p.length).toBeLessThanOrEqual(65535);
      if (p.length > MTU) expect(p.offload?.segmentSize).toBeGreaterThan(0);
      if (p.offload !== undefined && p.offload.segmentSize > 0)
        expect(p.offload.segmentSize).toBeLessThanOrEqual(smss);
    }
  }, 30_000);

  test("checksum only: byte-exact, every packet within the MTU and marked partial", () => {
    const { deviceA } = transfer({ checksum: true, segmentation: false }, MB);
    expect(deviceA.handed.filter((p) => p.offload !== undefined).length).toBeGreaterThan(500);
    for (const p of deviceA.handed) {
      expect(p.length).toBeLessThanOrEqual(MTU);
      if (p.dataBytes > 0) expect(p.offload).toEqual({ partialChecksum: true, segmentSize: 0 });
      else expect(p.offload).toBeUndefined();
    }
  }, 30_000);

  test("a stack not told of offloads marks nothing and stays within the MTU", () => {
    const { deviceA } = transfer(NO_OFFLOAD, MB);
    for (const p of deviceA.handed) {
      expect(p.length).toBeLessThanOrEqual(MTU);
      expect(p.offload).toBeUndefined();
    }
  }, 30_000);

  test("IPv4 lets a DF packet past the MTU only when the device segments it", () => {
    for (const segmentation of [false, true]) {
      const stack = new Stack({
        address: ADDRESS_A,
        prefixLength: 24,
        mtu: MTU,
        random: new Random(1),
        offload: { checksum: true, segmentation },
      });
      const sent: number[] = [];
      stack.transmit = (packet) => sent.push(packet.length);
      const send = { source: ADDRESS_A, destination: ADDRESS_B, protocol: 6 };
      const marked = { partialChecksum: true, segmentSize: 1448 };
      stack.ipv4.output(new Uint8Array(20 + 20 + 3 * 1448), {
        ...send,
        dontFragment: true,
        offload: marked,
      });
      // Unmarked, it is dropped as before (RFC 791 §3.2: DF is never fragmented).
      stack.ipv4.output(new Uint8Array(20 + 20 + 3 * 1448), { ...send, dontFragment: true });
      expect(sent).toEqual(segmentation ? [20 + 20 + 3 * 1448] : []);
      expect(stack.stats.get("ipOutFragFails")).toBe(segmentation ? 1 : 2);
    }
  });
});
