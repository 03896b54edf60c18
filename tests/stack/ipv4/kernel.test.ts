/**
 * IPv4, ICMP and UDP against the Linux kernel: the demo host on a real TUN device in a
 * private network namespace, probed with ping and nc, and judged by the kernel's own
 * counters (/proc/net/snmp in that namespace): our checksums, fragments and ICMP errors
 * must be accepted by a real stack. Needs root and /dev/net/tun (skipped otherwise,
 * failing instead under REQUIRE_TUN=1).
 */
import { expect, test } from "bun:test";
import { bashIn, type Netns, withNetns } from "../../helpers/netns.ts";
import { commands, describeTun } from "../../helpers/tun_env.ts";

const STACK = "10.0.0.2";
const FIXTURE = `${import.meta.dir}/fixtures/udp_echo_host.ts`;

const sh = (ns: Netns, script: string, timeoutMs = 30_000) => bashIn(ns, script, timeoutMs);

/** The kernel's SNMP counters in the namespace, as "Ip.ReasmOKs" -> value. */
async function snmp(ns: Netns): Promise<Map<string, number>> {
  const text = (await sh(ns, "cat /proc/net/snmp")).stdout.trim().split("\n");
  const counters = new Map<string, number>();
  for (let i = 0; i + 1 < text.length; i += 2) {
    const names = text[i]!.split(/\s+/);
    const values = text[i + 1]!.split(/\s+/);
    const group = names[0]!.replace(":", "");
    for (let j = 1; j < names.length; j++) counters.set(`${group}.${names[j]}`, Number(values[j]));
  }
  return counters;
}

/** Resolves when the fixture prints "ready"; throws if it exits or stays silent for 15 s. */
async function waitForReady(stdout: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!text.includes("ready")) {
    const timeout = new Promise<{ done: true; value: undefined }>((resolve) =>
      setTimeout(
        () => resolve({ done: true, value: undefined }),
        Math.max(0, deadline - Date.now()),
      ),
    );
    const { done, value } = await Promise.race([reader.read(), timeout]);
    if (done) throw new Error(`the fixture did not get ready; it printed: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

describeTun(
  "IPv4, ICMP and UDP against the kernel",
  () => {
    test("ping (small, fragmented, maximal, -R and -T options), UDP echo, port unreachable, broadcast ignored", async () => {
      await withNetns("tstcp-ip", async (ns) => {
        const host = ns.spawnBun(FIXTURE, ["tstip0", `${STACK}/24`, "10.0.0.1"]);
        try {
          await waitForReady(host.stdout);
          const before = await snmp(ns);

          const small = await sh(ns, `ping -n -c 3 -i 0.2 -W 2 ${STACK}`);
          expect(small.stdout).toContain("3 received");
          // 20,000 bytes: the kernel fragments the request, we reassemble; our reply is
          // fragmented by us and reassembled by the kernel.
          const big = await sh(ns, `ping -n -c 2 -i 0.3 -W 3 -s 20000 ${STACK}`);
          expect(big.stdout).toContain("2 received");
          // The largest possible ICMP echo: 65,507 data octets, 45 fragments each way.
          const max = await sh(ns, `ping -n -c 1 -W 5 -s 65507 ${STACK}`);
          expect(max.stdout).toContain("1 received");

          const echo = await sh(ns, `printf 'hello, udp' | nc -u -w 1 ${STACK} 7`);
          expect(echo.stdout).toBe("hello, udp");
          // 3,000 bytes (one pipe write, one datagram): fragmented in both directions.
          const long = await sh(
            ns,
            `head -c 3000 /dev/zero | tr '\\0' x | nc -u -w 1 ${STACK} 7 | wc -c`,
          );
          expect(long.stdout.trim()).toBe("3000");

          // IP options in the reply (RFC 1122 §3.2.2.6), read back by the kernel's ping:
          // the route both ways, as between two Linux hosts, and timestamps.
          const route = await sh(ns, `ping -n -R -c 1 -W 2 ${STACK}`);
          expect(route.stdout).toContain("1 received");
          expect(route.stdout.replace(/\s+/g, " ")).toContain(
            `RR: 10.0.0.1 ${STACK} ${STACK} 10.0.0.1`,
          );
          const stamps = await sh(ns, `ping -n -T tsandaddr -c 1 -W 2 ${STACK}`);
          expect(stamps.stdout).toContain("1 received");
          expect(stamps.stdout).toMatch(new RegExp(`TS:[^]*${STACK.replace(/\./g, "\\.")}`));

          await sh(ns, `printf 'anyone?' | nc -u -w 1 ${STACK} 9999 || true`);
          const broadcast = await sh(ns, `ping -n -b -c 2 -i 0.3 -W 1 10.0.0.255 2>&1 || true`);
          expect(broadcast.stdout).not.toContain(`from ${STACK}`);

          const after = await snmp(ns);
          // The kernel reassembled our fragmented replies ...
          expect(delta(before, after, "Ip.ReasmOKs")).toBeGreaterThanOrEqual(4);
          expect(delta(before, after, "Icmp.InEchoReps")).toBe(8);
          expect(delta(before, after, "Udp.InDatagrams")).toBe(2);
          // ... accepted our port unreachable, and found no bad checksum anywhere.
          expect(delta(before, after, "Icmp.InDestUnreachs")).toBeGreaterThanOrEqual(1);
          expect(delta(before, after, "Icmp.InCsumErrors")).toBe(0);
          // (Icmp.InErrors does move: the kernel refuses its own broadcast pings that way.)
          expect(delta(before, after, "Udp.InCsumErrors")).toBe(0);
          expect(delta(before, after, "Ip.InHdrErrors")).toBe(0); // our options parse too
          expect(delta(before, after, "Ip.ReasmFails")).toBe(0);
        } finally {
          host.kill("SIGINT");
          await host.exited;
        }
      });
    }, 120_000);
  },
  commands("ping", "nc"),
);
