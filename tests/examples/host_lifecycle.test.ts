/**
 * `bun run start` for real, in a private network namespace: it comes up, answers the
 * kernel's ping, records a pcap, and on SIGINT removes the interface and exits 0. Usage
 * mistakes exit 2 with one sentence and no stack trace.
 */
import { expect, test } from "bun:test";
import { withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const HOST = `${import.meta.dir}/../../examples/host.ts`;

/** Reads a process's stdout until a line matches, or throws after `ms`. */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  ms: number,
): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        Bun.sleep(deadline - Date.now()).then(() => undefined),
      ]);
      if (chunk === undefined || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      const line = text.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return line;
    }
  } finally {
    reader.releaseLock();
  }
  throw new Error(`no line matching ${pattern} within ${ms} ms; output so far: ${text}`);
}

test("a usage mistake exits 2 with one sentence and no stack trace", async () => {
  const child = Bun.spawn([process.execPath, HOST, "--mtu", "20"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, exitCode] = [await new Response(child.stderr).text(), await child.exited];
  expect(exitCode).toBe(2);
  expect(stderr.trim()).toBe(
    "--mtu 20 is out of range: it must be a whole number from 68 to 65535.",
  );
});

describeTun(
  "bun run start (in a network namespace)",
  () => {
    test("comes up, answers ping, and on SIGINT removes the interface, flushes the pcap and exits 0", async () => {
      await withNetns("host-start", async (ns) => {
        const pcap = `/tmp/tstcp-host-${ns.name}.pcap`;
        const host = ns.spawnBun(HOST, [
          "--tun",
          "tsthost0",
          "--address",
          "10.77.0.2/24",
          "--host",
          "10.77.0.1",
          "--pcap",
          pcap,
        ]);
        try {
          const up = await waitForLine(host.stdout, /is up on/, 10_000);
          expect(up).toContain("10.77.0.2/24 fd00::2/64 is up on tsthost0");
          const link = await ns.exec(["ip", "-o", "addr", "show", "dev", "tsthost0"]);
          expect(link.stdout).toContain("10.77.0.1/24");
          const ping = await ns.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.0.2"], {
            timeoutMs: 10_000,
          });
          expect(ping.stdout).toContain("2 received");
          host.kill("SIGINT");
          expect(await host.exited).toBe(0);
          const after = await ns.exec(["ip", "-o", "link"]);
          expect(after.stdout).not.toContain("tsthost0");
          if (Bun.which("tshark") !== null) {
            const read = Bun.spawnSync(["tshark", "-r", pcap, "-Y", "icmp"]);
            expect(read.exitCode).toBe(0);
            expect(read.stdout.toString().trim().split("\n").length).toBe(4); // 2 requests, 2 replies
          }
        } finally {
          host.kill("SIGKILL");
          await Bun.file(pcap)
            .delete()
            .catch(() => {});
        }
      });
    });

    test("a name that is already taken is one sentence and exit 1", async () => {
      await withNetns("host-busy", async (ns) => {
        const first = ns.spawnBun(HOST, ["--tun", "tstbusy0"]);
        await waitForLine(first.stdout, /is up on/, 10_000);
        const second = await ns.runBun(HOST, ["--tun", "tstbusy0"], { timeoutMs: 10_000 });
        expect(second.exitCode).toBe(1);
        expect(second.stderr.trim()).toBe(
          "The interface name tstbusy0 is busy: another process has it open, so choose another name with --tun.",
        );
      });
    });
  },
  commands("ping"),
);
