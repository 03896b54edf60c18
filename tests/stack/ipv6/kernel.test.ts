/**
 * IPv6 and ICMPv6 against the Linux kernel: our layers alone on a real TUN device in a
 * private network namespace, probed with `ping -6` and `nc -6 -u`, and judged by the
 * kernel's own counters (/proc/net/snmp6 in that namespace): our echo replies, fragments,
 * checksums and Port Unreachables must be accepted by a real stack; and what the kernel
 * sends on bring-up (Router Solicitations) must be dropped, not answered. Needs root and
 * /dev/net/tun (skipped otherwise, failing instead under REQUIRE_TUN=1).
 */
import { expect, test } from "bun:test";
import { bashIn, type Netns, withNetns } from "../../helpers/netns.ts";
import { commands, describeTun } from "../../helpers/tun_env.ts";

const STACK = "fd00::2";
const FIXTURE = `${import.meta.dir}/fixtures/kernel_icmpv6_host.ts`;

const sh = (ns: Netns, script: string, timeoutMs = 30_000) => bashIn(ns, script, timeoutMs);

/** The kernel's IPv6 counters in the namespace, as "Icmp6InEchoReplies" -> value. */
async function snmp6(ns: Netns): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  for (const line of (await sh(ns, "cat /proc/net/snmp6")).stdout.trim().split("\n")) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== undefined) counters.set(name, Number(value));
  }
  return counters;
}

/** Reads the fixture's stdout until `marker` appears (15 s at most). */
async function readUntil(
  reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> },
  marker: RegExp,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!marker.test(text)) {
    const timeout = new Promise<{ done: true; value: undefined }>((resolve) =>
      setTimeout(
        () => resolve({ done: true, value: undefined }),
        Math.max(0, deadline - Date.now()),
      ),
    );
    const { done, value } = await Promise.race([reader.read(), timeout]);
    if (done) throw new Error(`the fixture stopped before ${marker}; it printed: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

describeTun(
  "IPv6 and ICMPv6 against the kernel",
  () => {
    test("ping -6 (plain, fragmented both ways), Port Unreachable accepted, Router Solicitations unanswered", async () => {
      await withNetns("tstcp-ip6", async (ns) => {
        const host = ns.spawnBun(FIXTURE, ["tstip6", STACK, "fd00::1/64"]);
        const reader = host.stdout.getReader();
        try {
          await readUntil(reader, /ready/);
          const before = await snmp6(ns);

          const small = await sh(ns, `ping -6 -n -c 3 -i 0.2 -W 2 ${STACK}`);
          expect(small.stdout).toContain("3 received");
          // 4,000 octets: the kernel fragments the request, we reassemble; our reply is
          // fragmented by us (RFC 8200 §4.5) and reassembled by the kernel.
          const big = await sh(ns, `ping -6 -n -c 2 -i 0.3 -W 3 -s 4000 ${STACK}`);
          expect(big.stdout).toContain("2 received");
          const max = await sh(ns, `ping -6 -n -c 1 -W 5 -s 65000 ${STACK}`);
          expect(max.stdout).toContain("1 received");

          // Nobody listens on UDP: the kernel's nc must hear ICMPv6 Port Unreachable.
          await sh(ns, `printf 'anyone?' | nc -6 -u -w 1 ${STACK} 9999 || true`);
          // Let the kernel's Router Solicitations (every 4 s at bring-up) reach us.
          await Bun.sleep(4500);

          const after = await snmp6(ns);
          expect(delta(before, after, "Icmp6InEchoReplies")).toBe(6);
          expect(delta(before, after, "Ip6ReasmOKs")).toBeGreaterThanOrEqual(3);
          expect(delta(before, after, "Icmp6InDestUnreachs")).toBe(1);
          expect(delta(before, after, "Icmp6InCsumErrors")).toBe(0);
          expect(delta(before, after, "Icmp6InErrors")).toBe(0);
          expect(delta(before, after, "Ip6InHdrErrors")).toBe(0);
          expect(delta(before, after, "Ip6ReasmFails")).toBe(0);
          // Nothing we sent was a Neighbour Advertisement or any other ND message.
          expect(delta(before, after, "Icmp6InNeighborAdvertisements")).toBe(0);
          expect(delta(before, after, "Icmp6InRouterAdvertisements")).toBe(0);

          host.kill("SIGINT");
          const stats = JSON.parse(
            (await readUntil(reader, /\{.*\}\s*$/)).trim().split("\n").pop()!,
          );
          expect(stats.icmpv6OutEchoReplies).toBe(6);
          expect(stats.ipv6ReasmOKs).toBeGreaterThanOrEqual(3);
          expect(stats.ipv6OutFragOKs).toBeGreaterThanOrEqual(3);
          // The kernel's Router Solicitations to ff02::2 were dropped at the IPv6 layer.
          expect(stats.ipv6InAddrErrors ?? 0).toBeGreaterThanOrEqual(1);
          expect(stats.ipv6InHdrErrors).toBeUndefined();
        } finally {
          host.kill("SIGINT");
          await host.exited;
        }
      });
    }, 120_000);

    test("path MTU: a Packet Too Big from the kernel (routing onto a 1280-octet link) lowers ours to 1280 (RFC 8201)", async () => {
      await withNetns("tstcp-pmtu6", async (ns) => {
        const host = ns.spawnBun(FIXTURE, ["tstpm6", STACK, "fd00::1/64"]);
        const reader = host.stdout.getReader();
        try {
          await readUntil(reader, /ready/);
          // The kernel forwards to fd01::/64 over a veth link of MTU 1280; our 1448-octet
          // packets fit the TUN (1500) but not that link: it answers Packet Too Big.
          const setUp = await sh(
            ns,
            "sysctl -qw net.ipv6.conf.all.forwarding=1 && " +
              "ip link add tstva0 type veth peer name tstvb0 && ip link set tstvb0 up && " +
              "ip link set tstva0 mtu 1280 up && ip -6 route add fd01::/64 dev tstva0",
          );
          expect(setUp.stderr).toBe("");
          expect(setUp.exitCode).toBe(0);
          const before = await snmp6(ns);
          await sh(ns, `printf 'fd01::5' | nc -6 -u -w 1 ${STACK} 9 || true`);
          const first = await readUntil(reader, /"report"/);
          const report = JSON.parse(first.trim().split("\n").pop()!).report;
          expect(report).toEqual({
            error: "EMSGSIZE",
            nextHopMtu: 1280,
            icmpType: 2,
            destination: "fd01::5",
            pathMtu: 1280,
          });
          // The next datagram leaves in fragments of at most 1280 octets, which the kernel
          // forwards: no second Packet Too Big.
          await sh(ns, `printf 'fd01::5' | nc -6 -u -w 1 ${STACK} 9 || true`);
          await readUntil(reader, /"sent":2/);
          const after = await snmp6(ns);
          expect(delta(before, after, "Icmp6OutPktTooBigs")).toBe(1);
          expect(delta(before, after, "Ip6OutForwDatagrams")).toBeGreaterThanOrEqual(2);
          host.kill("SIGINT");
          const stats = JSON.parse(
            (await readUntil(reader, /\{"icmpv6/)).trim().split("\n").pop()!,
          );
          expect(stats.icmpv6InPktTooBigs).toBe(1);
          expect(stats.ipv6OutFragOKs).toBe(1);
          expect(stats.ipv6OutFragCreates).toBe(2);
        } finally {
          host.kill("SIGINT");
          await host.exited;
        }
      });
    }, 120_000);
  },
  commands("ping", "nc"),
);
