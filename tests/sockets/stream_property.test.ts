/**
 * Property: through the socket API, over a faulty link, a byte stream arrives exactly as
 * sent, whatever the sizes of the sends and receives and whichever side reads when; the
 * end of stream is seen exactly once the sender shuts down, and both descriptors close.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { socketHosts } from "../helpers/socket_hosts.ts";

test("property: bytes arrive in order and complete, for any chunking and seeded faults", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 0, max: 200_000 }),
      fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }),
      fc.record({
        loss: fc.constantFrom(0, 0.02, 0.1),
        reorder: fc.constantFrom(0, 0.05),
        duplicate: fc.constantFrom(0, 0.03),
      }),
      async (seed, length, sendSizes, recvSizes, faults) => {
        const small = {
          sendBufferBytes: 8192,
          receiveBufferBytes: 8192,
          maxReceiveBufferBytes: 8192,
        };
        const hosts = socketHosts({ seed, faults: { ...faults, delayMs: 1 }, tcp: small });
        const { a, b, run } = hosts;
        const data = Uint8Array.from({ length }, (_, i) => (i * 131 + seed) & 0xff);
        const server = b.api.socket("inet", "stream");
        b.api.bind(server, "0.0.0.0", 9);
        b.api.listen(server);
        const client = a.api.socket("inet", "stream");
        const sender = (async () => {
          await a.api.connect(client, "10.0.0.1", 9);
          for (let at = 0, i = 0; at < data.length; i++) {
            const size = sendSizes[i % sendSizes.length]!;
            at += await a.api.send(client, data.subarray(at, at + size));
          }
          a.api.shutdown(client, "write");
        })();
        const receiver = (async () => {
          const fd = await b.api.accept(server);
          const parts: Uint8Array[] = [];
          for (let i = 0; ; i++) {
            const part = await b.api.recv(fd, recvSizes[i % recvSizes.length]!);
            if (part.length === 0) break;
            parts.push(part);
          }
          b.api.close(fd);
          return Buffer.concat(parts);
        })();
        const [received] = await run(Promise.all([receiver, sender]), 600_000);
        expect(received.length).toBe(data.length);
        expect(Buffer.compare(received, data)).toBe(0);
        expect(await run(a.api.recv(client, 10))).toHaveLength(0); // B closed: end of stream
        a.api.close(client);
      },
    ),
    { numRuns: 40 },
  );
}, 120_000);
