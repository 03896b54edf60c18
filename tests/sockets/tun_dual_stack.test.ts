/**
 * Dual stack on a real TUN, against the kernel's own clients (nc), in a private network
 * namespace: an inet6 socket on :: takes IPv4 peers and names them IPv4-mapped
 * (RFC 4291 §2.5.5.2, RFC 3493 §3.7), getsockname too; IPV6_V6ONLY refuses them.
 * The stack side is fixtures/dual_stack_host.ts.
 */
import { expect, test } from "bun:test";
import { bashIn, type Netns, withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const FIXTURES = `${import.meta.dir}/fixtures`;

const sh = (ns: Netns, script: string, timeoutMs = 30_000) => bashIn(ns, script, timeoutMs);

/** Waits until the fixture prints "ready" (bounded). */
async function ready(child: { stdout: ReadableStream<Uint8Array> }): Promise<void> {
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  try {
    while (!text.includes("ready") && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(1000).then(() => undefined)]);
      if (chunk === undefined) continue;
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
  } finally {
    reader.releaseLock();
  }
  if (!text.includes("ready")) throw new Error(`the fixture did not start: ${text}`);
}

describeTun(
  "dual stack: inet6 sockets and IPv4 peers, against the kernel",
  () => {
    test("an inet6 listener on :: accepts an IPv4 client as ::ffff:10.0.0.1; IPv6 clients as themselves; V6ONLY refuses IPv4", async () => {
      await withNetns("tstdual", async (ns) => {
        const host = ns.spawnBun(`${FIXTURES}/dual_stack_host.ts`, ["tstdual0"]);
        await ready(host);
        const v4 = await sh(ns, "nc -N -w 5 10.0.0.2 7000 < /dev/null");
        expect(v4.stdout).toMatch(/^peer ::ffff:10\.0\.0\.1 \d+ local ::ffff:10\.0\.0\.2 7000\n$/);
        const v6 = await sh(ns, "nc -6 -N -w 5 fd00::2 7000 < /dev/null");
        expect(v6.stdout).toMatch(/^peer fd00::1 \d+ local fd00::2 7000\n$/);

        const udp4 = await sh(ns, "echo x | nc -u -w 2 10.0.0.2 7000");
        expect(udp4.stdout).toMatch(/^peer ::ffff:10\.0\.0\.1 \d+\n$/);
        const udp6 = await sh(ns, "echo x | nc -6 -u -w 2 fd00::2 7000");
        expect(udp6.stdout).toMatch(/^peer fd00::1 \d+\n$/);

        const only6 = await sh(ns, "nc -6 -N -w 5 fd00::2 7001 < /dev/null");
        expect(only6.stdout).toMatch(/^peer fd00::1 \d+ local fd00::2 7001\n$/);
        const refused = await sh(ns, "nc -N -w 5 10.0.0.2 7001 < /dev/null; echo exit=$?");
        expect(refused.stdout).toContain("exit=1"); // RST: connection refused
        expect(refused.stdout).not.toContain("peer");
        host.kill("SIGINT");
        expect(await host.exited).toBe(0);
      });
    }, 90_000);
  },
  commands("nc", "ip"),
);
