/**
 * The lossy-link property of lossy_property.test.ts, once more with receive-buffer
 * auto-tuning (Linux DRS) switched off: each mechanism is run off at least once, and the
 * fixed, possibly small buffers then set the window alone. Same scenario shape and
 * checks; kept in its own file while that one is being edited.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { TcpConfig } from "../../../stack/tcp/tcp.ts";
import { randomBytes, runTransfer } from "../../helpers/tcp_transfer.ts";
import { twoHosts } from "../../helpers/two_hosts.ts";

const isnArbitrary = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0xffffffff - 40_000, max: 0xffffffff }),
  fc.integer({ min: 0, max: 0xffffffff }),
);

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  lengthAToB: fc.integer({ min: 0, max: 60_000 }),
  lengthBToA: fc.integer({ min: 0, max: 20_000 }),
  writeChunk: fc.integer({ min: 1, max: 20_000 }),
  readChunk: fc.integer({ min: 1, max: 20_000 }),
  loss: fc.double({ min: 0, max: 0.2, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
  reorder: fc.double({ min: 0, max: 0.1, noNaN: true }),
  corrupt: fc.double({ min: 0, max: 0.05, noNaN: true }),
  delayMs: fc.integer({ min: 0, max: 30 }),
  jitterMs: fc.integer({ min: 0, max: 10 }),
  isnA: isnArbitrary,
  isnB: isnArbitrary,
  receiveBuffer: fc.constantFrom(4096, 16_384, 65_536, 262_144),
  noDelay: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function check(s: Scenario, tcp: Partial<TcpConfig>): void {
  const hosts = twoHosts({
    seed: s.seed,
    faults: {
      loss: s.loss,
      duplicate: s.duplicate,
      reorder: s.reorder,
      corrupt: s.corrupt,
      delayMs: s.delayMs,
      jitterMs: s.jitterMs,
    },
    tcpA: { ...tcp, isn: s.isnA },
    tcpB: { ...tcp, isn: s.isnB },
  });
  const aToB = randomBytes(s.seed, s.lengthAToB);
  const bToA = randomBytes(s.seed + 1, s.lengthBToA);
  const options = { receiveBufferBytes: s.receiveBuffer, noDelay: s.noDelay };
  const result = runTransfer(hosts, {
    aToB,
    bToA,
    writeChunkA: s.writeChunk,
    writeChunkB: s.writeChunk,
    readChunkA: s.readChunk,
    readChunkB: s.readChunk,
    stepMs: 5,
    limitMs: 2 * 3600 * 1000,
    optionsA: options,
    optionsB: options,
  });
  expect(result.finished).toBe(true);
  expect(Buffer.from(result.receivedByB).equals(Buffer.from(aToB))).toBe(true);
  expect(Buffer.from(result.receivedByA).equals(Buffer.from(bToA))).toBe(true);
  expect(result.client.error).toBeUndefined();
  expect(result.server!.error).toBeUndefined();
  expect(["CLOSED", "TIME-WAIT"]).toContain(result.client.state);
  expect(["CLOSED", "TIME-WAIT"]).toContain(result.server!.state);
  hosts.clock.advance(2 * 60_000 + 1000); // TIME-WAIT (2·MSL) ends
  expect(hosts.a.stack.tcp.connectionCount).toBe(0);
  expect(hosts.b.stack.tcp.connectionCount).toBe(0);
}

describe("two stacks over a lossy link", () => {
  test("with receive-buffer auto-tuning off", () => {
    fc.assert(
      fc.property(scenario, (s) => check(s, { receiveBufferAutoTuning: false })),
      { numRuns: 30 },
    );
  }, 120_000);
});
