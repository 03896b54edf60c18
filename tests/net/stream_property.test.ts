/**
 * Property: through the `net` face, over a lossy, reordering, duplicating simulated link,
 * whatever the chunking of the writes, whether the writer waits for `drain` or not, and
 * however the reader pauses and resumes, the reader gets exactly the bytes written, then
 * `end`; both sockets close without error.
 *
 * The hosts run on a VirtualClock (createHostPair's `clock` option): time moves only in
 * `run`, so retransmission timeouts cost no real time and a failing seed replays.
 */
import { expect, test } from "bun:test";
import type { Socket } from "node:net";
import fc from "fast-check";
import { createHostPair } from "../../index.ts";
import { VirtualClock } from "../../stack/clock.ts";
import { run } from "./virtual.ts";

/** A reader that pauses after every `every`-th chunk for `forMs` of virtual time. */
interface PausePlan {
  every: number;
  forMs: number;
}

function readAll(socket: Socket, clock: VirtualClock, plan: PausePlan | undefined) {
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    socket.on("data", (data: Buffer) => {
      parts.push(data);
      if (plan !== undefined && parts.length % plan.every === 0) {
        socket.pause();
        clock.at(clock.now() + plan.forMs, () => socket.resume());
      }
    });
    socket.on("end", () => resolve(Buffer.concat(parts)));
    socket.on("error", reject);
  });
}

async function writeAll(socket: Socket, data: Uint8Array, sizes: number[], waitForDrain: boolean) {
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    const accepted = socket.write(data.subarray(at, at + size));
    at += size;
    if (!accepted && waitForDrain) {
      await new Promise<void>((resolve) => socket.once("drain", resolve));
    }
  }
  socket.end();
}

test("property: net delivers exactly the bytes written, for any chunking and pause pattern, over a lossy link", async () => {
  // Across the runs the link must really have lost, reordered and duplicated packets, and
  // readers must really have paused, or the property proved nothing.
  const seen = { lost: 0, reordered: 0, duplicated: 0, pauses: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 0, max: 300_000 }),
      fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.option(
        fc.record({
          every: fc.integer({ min: 1, max: 8 }),
          forMs: fc.integer({ min: 0, max: 500 }),
        }),
        { nil: undefined },
      ),
      fc.record({
        loss: fc.constantFrom(0, 0.02, 0.05),
        reorder: fc.constantFrom(0, 0.05),
        duplicate: fc.constantFrom(0, 0.03),
      }),
      async (seed, length, sizes, waitForDrain, pausePlan, faults) => {
        const clock = new VirtualClock(0);
        const small = { sendBufferBytes: 16_384, receiveBufferBytes: 16_384 };
        const hosts = createHostPair({
          seed,
          clock,
          faults: { ...faults, delayMs: 1 },
          tcp: { ...small, maxReceiveBufferBytes: 16_384 },
        });
        const [a, b] = hosts;
        try {
          const data = Uint8Array.from({ length }, (_, i) => (i * 131 + seed) & 0xff);
          const accepted = Promise.withResolvers<Socket>();
          const server = b.net.createServer((socket) => accepted.resolve(socket as never));
          server.listen(9);
          const client = a.net.connect(9, b.address) as unknown as Socket;
          const closed = [client, await run(clock, hosts, accepted.promise)].map(
            (socket) => new Promise<boolean>((resolve) => socket.once("close", resolve)),
          );
          const serverSide = await run(clock, hosts, accepted.promise);
          const received = readAll(serverSide, clock, pausePlan);
          client.resume(); // the server ends too (allowHalfOpen false): read its FIN
          const [bytes] = await run(
            clock,
            hosts,
            Promise.all([received, writeAll(client, data, sizes, waitForDrain)]),
          );
          expect(bytes.length).toBe(data.length);
          expect(Buffer.compare(bytes, data)).toBe(0);
          expect(await run(clock, hosts, Promise.all(closed))).toEqual([false, false]);
          expect(client.bytesWritten).toBe(length);
          expect(serverSide.bytesRead).toBe(length);
          server.close();
          for (const host of hosts) {
            seen.lost += host.device.faults.lost;
            seen.reordered += host.device.faults.reordered;
            seen.duplicated += host.device.faults.duplicated;
          }
          if (pausePlan !== undefined && bytes.length > 0) seen.pauses++;
        } finally {
          await a.close();
          await b.close();
        }
      },
    ),
    { numRuns: 100, seed: 15 },
  );
  expect(seen.lost).toBeGreaterThan(0);
  expect(seen.reordered).toBeGreaterThan(0);
  expect(seen.duplicated).toBeGreaterThan(0);
  expect(seen.pauses).toBeGreaterThan(0);
}, 600_000);
