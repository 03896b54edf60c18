/**
 * `TcpConfig.ackPerBurst`: a receiver answers each receive burst (a batch of packets the
 * link delivers together, then one `poll`) with one ACK instead of one per two segments,
 * as Linux's GRO makes it. Transfers stay byte-exact, with and without loss.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes, runOneWay } from "../../helpers/tcp_transfer.ts";
import { twoHosts } from "../../helpers/two_hosts.ts";

const MB = 1 << 20;

function upload(ackPerBurst: boolean, loss: number) {
  const hosts = twoHosts({
    seed: 5,
    faults: { loss, delayMs: 1 },
    reverseFaults: { loss, delayMs: 1 },
    tcpB: { ackPerBurst },
  });
  const aToB = randomBytes(9, 2 * MB);
  const result = runOneWay(hosts, aToB, {
    chunk: MB,
    stepMs: 1,
    limitMs: 600_000,
    bufferBytes: MB,
  });
  expect(result.finished).toBe(true);
  expect(Buffer.compare(result.receivedByB, aToB)).toBe(0);
  return {
    acksSent: hosts.b.stack.stats.get("tcpOutSegs"),
    segmentsIn: hosts.b.stack.stats.get("tcpInSegs"),
  };
}

describe("one ACK per receive burst (TcpConfig.ackPerBurst)", () => {
  test("2 MB without loss: byte-exact, and far fewer ACKs than one per two segments", () => {
    // RFC 9293 MUST-58 MUST-59: a burst is processed whole before its one ACK.
    const perSegment = upload(false, 0);
    const perBurst = upload(true, 0);
    expect(perSegment.acksSent).toBeGreaterThanOrEqual(perSegment.segmentsIn * 0.45);
    expect(perBurst.acksSent).toBeLessThan(perSegment.acksSent / 2);
  }, 60_000);

  test("2 MB with 2 % loss each way: still byte-exact (recovery works with burst ACKs)", () => {
    upload(true, 0.02);
  }, 60_000);
});
