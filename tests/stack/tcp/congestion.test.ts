/**
 * Issue 7 mechanisms over the simulated link on the virtual clock: congestion control
 * (RFC 5681/6582 NewReno, RFC 9438 CUBIC), SACK loss recovery (RFC 2018/6675), window
 * scaling (RFC 7323 §2).
 *
 * Goodput: a 100 Mbit/s link with 20 ms RTT. Without loss both controllers must reach
 * 60 % of the link rate. With 1 % random loss no RFC 5681-style sender can: the Mathis
 * et al. bound, MSS/RTT · 1.22/√p, is 7 % of this link, so the test asks for at least
 * 70 % of that bound, and CUBIC at least NewReno.
 */
import { describe, expect, test } from "bun:test";
import type { CongestionName } from "../../../stack/tcp/congestion/controller.ts";
import type { TcpConfig } from "../../../stack/tcp/tcp.ts";
import { LINK_BYTES_PER_SECOND, measureGoodput } from "../../helpers/goodput.ts";
import { randomBytes, runOneWay, runTransfer } from "../../helpers/tcp_transfer.ts";
import { twoHosts } from "../../helpers/two_hosts.ts";

const MB = 1 << 20;

function goodput(congestion: CongestionName, loss: number, size: number): number {
  const { result, bytesPerSecond } = measureGoodput({
    seed: 4,
    bytes: size,
    loss,
    queueBytes: 256 * 1024,
    tcp: { congestion },
    receiveBufferBytes: MB,
    sendBufferBytes: MB,
    chunkBytes: MB,
    limitMs: 600_000,
  });
  expect(result.finished).toBe(true);
  expect(result.receivedByB.length).toBe(size);
  return bytesPerSecond / LINK_BYTES_PER_SECOND;
}

describe("congestion control goodput, 100 Mbit/s, 20 ms RTT", () => {
  for (const cc of ["cubic", "newreno"] as const) {
    test(`${cc}: a 20 MB transfer without loss reaches ≥ 60 % of the link rate`, () => {
      expect(goodput(cc, 0, 20e6)).toBeGreaterThanOrEqual(0.6);
    }, 60_000);
  }

  test("1 % loss: both reach ≥ 70 % of the Mathis bound, CUBIC ≥ NewReno", () => {
    const mathis = ((1448 / 0.02) * (1.22 / Math.sqrt(0.01))) / LINK_BYTES_PER_SECOND;
    const cubic = goodput("cubic", 0.01, 8e6);
    const newreno = goodput("newreno", 0.01, 8e6);
    expect(newreno).toBeGreaterThanOrEqual(0.7 * mathis);
    expect(cubic).toBeGreaterThanOrEqual(0.7 * mathis);
    expect(cubic).toBeGreaterThanOrEqual(newreno * 0.95);
  }, 60_000);
});

/** A's transmit hook that drops the first transmission of chosen data segments. */
function dropDataSegments(hosts: ReturnType<typeof twoHosts>, indexes: readonly number[]): void {
  const original = hosts.a.stack.transmit;
  const seen = new Set<number>();
  let dataSegments = 0;
  hosts.a.stack.transmit = (packet) => {
    const ihl = (packet[0]! & 0x0f) * 4;
    const view = new DataView(packet.buffer, packet.byteOffset);
    const tcpHeader = (packet[ihl + 12]! >>> 4) * 4;
    const dataLength = view.getUint16(2) - ihl - tcpHeader;
    if (packet[9] === 6 && dataLength > 0) {
      const seq = view.getUint32(ihl + 4);
      if (!seen.has(seq)) {
        seen.add(seq);
        dataSegments++;
        if (indexes.includes(dataSegments)) return;
      }
    }
    original(packet);
  };
}

function threeLosses(tcp: Partial<TcpConfig>) {
  const hosts = twoHosts({ seed: 8, faults: { delayMs: 10 }, tcpA: tcp, tcpB: tcp });
  dropDataSegments(hosts, [12, 15, 18]);
  const data = randomBytes(3, 60 * 1448);
  const result = runOneWay(hosts, data, { chunk: data.length, stepMs: 1, limitMs: 60_000 });
  expect(Buffer.from(result.receivedByB).equals(Buffer.from(data))).toBe(true);
  return { stats: hosts.a.stack.stats, result };
}

describe("loss recovery", () => {
  test("with SACK, three losses in one window are recovered without a timeout (RFC 6675)", () => {
    const { stats } = threeLosses({});
    expect(stats.get("tcpTimeouts")).toBe(0);
    expect(stats.get("tcpSackRecoveries")).toBe(1);
    expect(stats.get("tcpRetransSegs")).toBe(3);
  });

  test("without SACK, NewReno partial ACKs recover them one per RTT, also without a timeout (RFC 6582)", () => {
    const { stats } = threeLosses({ sack: false, congestion: "newreno" });
    expect(stats.get("tcpTimeouts")).toBe(0);
    expect(stats.get("tcpFastRetrans")).toBe(1);
    expect(stats.get("tcpRetransSegs")).toBe(3);
  });
});

describe("window scaling (RFC 7323 §2)", () => {
  function bulk(tcp: Partial<TcpConfig>) {
    const hosts = twoHosts({ seed: 2, faults: { delayMs: 25 }, tcpA: tcp, tcpB: tcp });
    const options = { receiveBufferBytes: MB, sendBufferBytes: MB };
    let maxFlight = 0;
    const original = hosts.a.stack.transmit;
    hosts.a.stack.transmit = (packet) => {
      for (const conn of hosts.a.stack.tcp.connections())
        maxFlight = Math.max(maxFlight, conn.info(0).bytesInFlight);
      original(packet);
    };
    const data = randomBytes(1, 4 * MB);
    const result = runTransfer(hosts, {
      aToB: data,
      bToA: data.subarray(0, 2 * MB),
      writeChunkA: MB,
      writeChunkB: MB,
      readChunkA: MB,
      readChunkB: MB,
      stepMs: 2,
      limitMs: 120_000,
      optionsA: options,
      optionsB: options,
    });
    expect(Buffer.from(result.receivedByB).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(result.receivedByA).equals(Buffer.from(data.subarray(0, 2 * MB)))).toBe(
      true,
    );
    return { info: result.server!.info(0), maxFlight };
  }

  test("scaled windows are offered and honoured both ways: more than 64 KiB in flight", () => {
    // RFC 9293 REC-1: windows held in 32 bits, beyond 64 KiB.
    const { info, maxFlight } = bulk({});
    expect(info.sndScale).toBeGreaterThan(0);
    expect(info.rcvScale).toBeGreaterThan(0);
    expect(maxFlight).toBeGreaterThan(65535);
  }, 30_000);

  test("without the option, the window stays within 64 KiB", () => {
    const { info, maxFlight } = bulk({ windowScale: false });
    expect(info.sndScale).toBe(0);
    expect(maxFlight).toBeLessThanOrEqual(65535);
  }, 30_000);
});

describe("receive-buffer auto-tuning", () => {
  function transfer(autoTuning: boolean) {
    const { hosts, result } = measureGoodput({
      seed: 3,
      bytes: 8 * MB,
      tcp: { receiveBufferAutoTuning: autoTuning },
      receiveBufferBytes: 64 * 1024,
      sendBufferBytes: MB,
      chunkBytes: MB,
      limitMs: 120_000,
    });
    expect(result.finished).toBe(true);
    return { elapsedMs: result.elapsedMs, grows: hosts.b.stack.stats.get("tcpRcvBufAutoGrows") };
  }

  test("a 64 KiB buffer that the application drains every RTT grows, and the transfer is faster", () => {
    const tuned = transfer(true);
    const fixed = transfer(false);
    expect(tuned.grows).toBeGreaterThan(0);
    expect(fixed.grows).toBe(0);
    expect(tuned.elapsedMs).toBeLessThan(fixed.elapsedMs / 2);
  }, 30_000);
});
