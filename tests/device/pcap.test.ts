/**
 * The pcap writer: byte layout checked by hand, and a short recorded exchange read back
 * by tshark with the expected packets and nothing malformed.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryLink } from "../../device/memory_link.ts";
import { LINKTYPE_RAW, PcapWriter, withPcap } from "../../device/pcap.ts";
import { parseIpv4 } from "../../stack/address.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { tunRequired } from "../helpers/tun_env.ts";
import { buildEcho, parseEcho } from "./fixtures/icmp_echo.ts";

function memorySink() {
  const chunks: Uint8Array[] = [];
  let closed = false;
  return {
    sink: {
      write: (b: Uint8Array) => void chunks.push(b.slice()),
      close: () => void (closed = true),
    },
    bytes: () => Uint8Array.from(chunks.flatMap((c) => [...c])),
    chunks,
    isClosed: () => closed,
  };
}

describe("pcap writer", () => {
  test("writes the classic header and one record per packet, microsecond timestamps", () => {
    const memory = memorySink();
    const writer = new PcapWriter(memory.sink, { snapLength: 4 });
    writer.record(Uint8Array.of(0x45, 1, 2, 3, 4, 5), 1_700_000_000_123.456);
    writer.close();
    const v = new DataView(memory.bytes().buffer);
    expect(v.getUint32(0, true)).toBe(0xa1b2c3d4);
    expect([v.getUint16(4, true), v.getUint16(6, true)]).toEqual([2, 4]);
    expect(v.getUint32(16, true)).toBe(4); // snaplen
    expect(v.getUint32(20, true)).toBe(LINKTYPE_RAW);
    expect(v.getUint32(24, true)).toBe(1_700_000_000); // ts_sec
    expect(v.getUint32(28, true)).toBe(123_456); // ts_usec
    expect(v.getUint32(32, true)).toBe(4); // incl_len: truncated to the snap length
    expect(v.getUint32(36, true)).toBe(6); // orig_len
    expect([...memory.bytes().subarray(40)]).toEqual([0x45, 1, 2, 3]);
    expect(memory.isClosed()).toBe(true);
  });

  test("buffers writes, and handles packets larger than the buffer", () => {
    const memory = memorySink();
    const writer = new PcapWriter(memory.sink, { bufferBytes: 256 });
    writer.record(new Uint8Array(100), 0);
    expect(memory.chunks.length).toBe(0);
    writer.record(new Uint8Array(1000).fill(7), 0);
    writer.record(new Uint8Array(10), 0);
    writer.close();
    expect(memory.bytes().length).toBe(24 + 3 * 16 + 100 + 1000 + 10);
    expect(writer.packets).toBe(3);
  });
});

const tshark = Bun.which("tshark");
const skipTshark = tshark === null && !tunRequired();

test.skipIf(skipTshark)(
  "a recorded ping exchange reads back in tshark, nothing malformed",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "tstcp-pcap-"));
    try {
      const path = join(dir, "exchange.pcap");
      const clock = new VirtualClock(1_700_000_000_000);
      const [a, b] = createMemoryLink(clock, { seed: 1, faults: { delayMs: 3 } });
      const recorded = withPcap(a, PcapWriter.toFile(path), clock);
      const [ha, hb] = [parseIpv4("192.0.2.1")!, parseIpv4("192.0.2.2")!];
      // B answers every echo request, as a host would.
      b.onReceive((packet) => {
        const echo = parseEcho(packet);
        if (echo?.type === 8) b.send(buildEcho({ ...echo, type: 0, source: hb, destination: ha }));
      });
      recorded.onReceive(() => {});
      for (let sequence = 1; sequence <= 3; sequence++) {
        const payload = new TextEncoder().encode(`ping ${sequence}`);
        recorded.send(
          buildEcho({ source: ha, destination: hb, type: 8, identifier: 42, sequence, payload }),
        );
        clock.advance(1000);
      }
      clock.runUntilIdle();
      await recorded.close();
      const fields = Bun.spawnSync([
        tshark!,
        "-r",
        path,
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "ip.src",
        "-e",
        "icmp.type",
        "-e",
        "icmp.seq",
      ]);
      expect(fields.exitCode).toBe(0);
      const rows = fields.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.split("\t"));
      expect(rows.map((r) => r.slice(1))).toEqual([
        ["192.0.2.1", "8", "1"],
        ["192.0.2.2", "0", "1"],
        ["192.0.2.1", "8", "2"],
        ["192.0.2.2", "0", "2"],
        ["192.0.2.1", "8", "3"],
        ["192.0.2.2", "0", "3"],
      ]);
      expect(Number(rows[1]![0]) - Number(rows[0]![0])).toBeCloseTo(0.006, 6); // 3 ms each way
      const malformed = Bun.spawnSync([
        tshark!,
        "-r",
        path,
        "-Y",
        '_ws.malformed || _ws.expert.severity >= "error"',
      ]);
      expect(malformed.exitCode).toBe(0);
      expect(malformed.stdout.toString().trim()).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
