/**
 * The socket API on a real TUN device, against the kernel's own TCP and UDP, inside a
 * private network namespace (nothing leaves it). The stack side is
 * fixtures/socket_host.ts; the kernel side is fixtures/kernel_client.ts and a Bun
 * server on kernel sockets.
 */
import { expect, test } from "bun:test";
import { withNetns } from "../helpers/netns.ts";
import { describeTun } from "../helpers/tun_env.ts";

const FIXTURES = `${import.meta.dir}/fixtures`;
const KERNEL = "10.98.0.1";
const STACK = "10.98.0.2";

/** Resolves with the first stdout line satisfying `match` (lines are JSON or text). */
async function readLine(
  stream: ReadableStream<Uint8Array>,
  match: (line: string) => boolean,
  ms: number,
) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    for (;;) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === undefined || chunk.done) break;
      buffered += decoder.decode(chunk.value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      const found = lines.find(match);
      if (found !== undefined) return found;
    }
  } finally {
    clearTimeout(timer); // a timer left pending slows later tests' setImmediate loops
    reader.releaseLock();
  }
  throw new Error(`no matching line within ${ms} ms`);
}

describeTun("socket API on a TUN device, against the kernel", () => {
  test("kernel clients: TCP echo per task and on epoll (1 MB, sha256), UDP echo; the stack connects out", async () => {
    await withNetns("sockets", async (ns) => {
      const host = ns.spawnBun(`${FIXTURES}/socket_host.ts`, [
        "tstsock0",
        `${KERNEL}/24`,
        STACK,
        "5000",
      ]);
      await readLine(host.stdout, (line) => line === "ready", 10_000);
      for (const port of ["7", "8"]) {
        const out = await ns.runBun(
          `${FIXTURES}/kernel_client.ts`,
          ["tcp", STACK, port, "1000000"],
          {
            timeoutMs: 30_000,
          },
        );
        const result = JSON.parse(out.stdout.trim().split("\n").pop()!);
        expect(result.received).toBe(1_000_000);
        expect(result.echoed).toBe(result.sent);
      }
      const udp = await ns.runBun(`${FIXTURES}/kernel_client.ts`, ["udp", STACK, "7"], {
        timeoutMs: 10_000,
      });
      expect(JSON.parse(udp.stdout.trim())).toEqual({ reply: "ping over udp" });

      // The stack connects out: a refused port, then a kernel server that answers.
      const server = ns.spawn([
        process.execPath,
        "-e",
        `const s = Bun.listen({ hostname: "${KERNEL}", port: 5000, socket: { data(sock, d) { sock.write("kernel got: " + d); sock.end(); } } }); console.log("listening");`,
      ]);
      await readLine(server.stdout, (line) => line === "listening", 10_000);
      host.stdin.write("out\n");
      host.stdin.flush();
      const refused = JSON.parse(
        await readLine(host.stdout, (line) => line.includes("refused"), 10_000),
      );
      expect(refused).toEqual({
        refused: "ECONNREFUSED",
        message: `connect: connection refused by ${KERNEL}:9 (ECONNREFUSED)`,
      });
      const out = JSON.parse(await readLine(host.stdout, (line) => line.includes('"out'), 10_000));
      expect(out).toEqual({ out: "kernel got: hello from the stack" });
    });
  }, 90_000);
});
