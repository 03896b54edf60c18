/**
 * The demo host over IPv6 on a real TUN device, in private network namespaces, driven
 * the way a person would: ping -6, curl -g, nc -6, nmap -6, tshark on its --pcap. The
 * same services answer IPv4 (host.test.ts); here the kernel side is fd00::1 and the
 * stack fd00::2. Needs root and /dev/net/tun (tests/helpers/tun_env.ts).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bashIn, type Netns, withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";
import { spawnHost } from "./host_process.ts";

const STACK6 = "fd00::2";
const TUN = "tsthost6";
// The TUN's offloads are on by default (IFF_VNET_HDR: the kernel may hand us IPv6
// packets with a partial checksum); the 20 MB echo also runs on the plain TUN.
const ARGS = ["--tun", TUN];

const sh = (ns: Netns, script: string, timeoutMs = 60_000) => bashIn(ns, script, timeoutMs);

describeTun(
  "the dual-stack host over IPv6 on a TUN device",
  () => {
    test("ping -6 (plain and 4000 octets, fragmented both ways), curl -g exact byte counts, /stats and SIGUSR1 in RFC 5952 text, UDP echo, closed ports refused", async () => {
      await withNetns("tstcp-v6", async (ns) => {
        // A namespace with IPv6 off by default, as some are: the host turns it on for its
        // interface (device/tun_ipv6.ts).
        await sh(
          ns,
          "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        );
        const host = spawnHost(ns, ARGS);
        try {
          await host.waitFor(/is up/);
          expect(host.lines[0]).toContain(`ping -6 ${STACK6}`);
          expect(host.lines[0]).toContain(`curl -g 'http://[${STACK6}]/'`);
          // The first echo after start-up can be lost on a loaded machine (the kernel's
          // side of the interface settling); one unchecked ping first, then exact counts.
          await sh(ns, `ping -6 -c 1 -W 5 ${STACK6}`);
          for (const size of [56, 4000]) {
            const ping = await sh(ns, `ping -6 -c 3 -i 0.2 -W 5 -s ${size} ${STACK6}`);
            expect(ping.stdout).toContain("3 packets transmitted, 3 received");
          }
          for (const n of [0, 1, 1_000_000, 30_000_000]) {
            const got = await sh(
              ns,
              `curl -sS -g --max-time 60 -o /dev/null -w '%{http_code} %{size_download}' 'http://[${STACK6}]/bytes/${n}'`,
            );
            expect(got.stdout).toBe(`200 ${n}`);
          }
          const stats = await sh(
            ns,
            `curl -sS -g --max-time 10 -w '\\n%{local_port}' 'http://[${STACK6}]/stats'`,
          );
          const lines = stats.stdout.trim().split("\n");
          const port = lines.pop();
          const json = JSON.parse(lines.join("\n"));
          expect(json.address6).toBe(STACK6);
          expect(json.connections).toContainEqual(
            expect.objectContaining({ remote: `[fd00::1]:${port}`, local: `[${STACK6}]:80` }),
          );
          expect(json.counters.ipv6InReceives).toBeGreaterThan(0);

          // UDP echo over IPv6, and a closed UDP port: ICMPv6 port unreachable, which the
          // kernel turns into ECONNREFUSED on the connected socket (nc -u then fails).
          const udp = await sh(ns, `echo hello-v6 | nc -6 -u -w 2 ${STACK6} 7`);
          expect(udp.stdout).toBe("hello-v6\n");
          // A closed TCP port: RST, curl's "Couldn't connect" (exit 7).
          const closed = await sh(
            ns,
            `curl -sS -g --max-time 5 'http://[${STACK6}]:81/'; echo exit=$?`,
          );
          expect(closed.stdout).toContain("exit=7");
          const snmp6Before = await sh(ns, "grep -E '^Icmp6InDestUnreachs' /proc/net/snmp6");
          await sh(ns, `echo x | nc -6 -u -w 1 ${STACK6} 5555; true`);
          const snmp6After = await sh(ns, "grep -E '^Icmp6InDestUnreachs' /proc/net/snmp6");
          expect(counterOf(snmp6After.stdout)).toBeGreaterThan(counterOf(snmp6Before.stdout));

          host.child.kill("SIGUSR1");
          await host.waitFor(/^tcp\s+LISTEN\s+0\s+0\s+\[::\]:80\b/);
        } finally {
          expect(await host.stop("SIGINT")).toBe(0);
        }
      });
    }, 240_000);

    test("--no-ipv6: IPv4 only, IPv6 off on the interface", async () => {
      await withNetns("tstcp-no6", async (ns) => {
        const host = spawnHost(ns, [...ARGS, "--no-ipv6"]);
        try {
          const banner = await host.waitFor(/is up/);
          expect(banner).not.toContain("fd00");
          const off = await sh(ns, `cat /proc/sys/net/ipv6/conf/${TUN}/disable_ipv6`);
          expect(off.stdout.trim()).toBe("1");
          const ping4 = await sh(ns, "ping -c 1 -W 5 10.0.0.2");
          expect(ping4.stdout).toContain("1 received");
        } finally {
          expect(await host.stop("SIGINT")).toBe(0);
        }
      });
    }, 60_000);

    for (const offload of ["", "--no-offload"]) {
      test(`20 MB through TCP echo over IPv6 comes back intact (sha256)${offload === "" ? "" : `, ${offload}`}`, async () => {
        await withNetns("tstcp-v6echo", async (ns) => {
          const host = spawnHost(ns, [
            ...ARGS,
            ...(offload === "" ? [] : [offload]),
            "--services",
            "echo",
          ]);
          const dir = mkdtempSync(join(tmpdir(), "tstcp-v6echo-"));
          try {
            await host.waitFor(/is up/);
            const file = join(dir, "in");
            const result = await sh(
              ns,
              `head -c 20000000 /dev/urandom > ${file} && sha256sum < ${file} | cut -d' ' -f1 && nc -6 -N -w 30 ${STACK6} 7 < ${file} | sha256sum | cut -d' ' -f1`,
              180_000,
            );
            const [sent, echoed] = result.stdout.trim().split("\n");
            expect(sent).toMatch(/^[0-9a-f]{64}$/);
            expect(echoed).toBe(sent);
          } finally {
            rmSync(dir, { recursive: true, force: true });
            expect(await host.stop("SIGINT")).toBe(0);
          }
        });
      }, 240_000);
    }

    test("nmap -6 finds exactly the configured TCP ports; closed UDP ports answer port unreachable", async () => {
      await withNetns("tstcp-v6nmap", async (ns) => {
        const host = spawnHost(ns, [...ARGS, "--services", "echo,chargen,http"]);
        try {
          await host.waitFor(/is up/);
          const tcp = await sh(ns, `nmap -6 -n -Pn -sS -p 1-1024 -oG - ${STACK6}`, 180_000);
          expect(openTcpPorts(tcp.stdout)).toEqual(["19", "7", "80"]);
          const udp = await sh(ns, `nmap -6 -n -Pn -sU -p 7,9,19 -oG - ${STACK6}`, 120_000);
          const states = portStates(udp.stdout);
          expect(states.get("7")).toBe("open");
          expect(states.get("9")).toBe("closed"); // ICMPv6 port unreachable
        } finally {
          expect(await host.stop("SIGTERM")).toBe(0);
        }
      });
    }, 360_000);

    test("path MTU (RFC 8201): a router's Packet Too Big lowers our segments to 1280 octets; tshark reads our --pcap", async () => {
      await withNetns("tstcp-pmtu", async (router) => {
        await withNetns("tstcp-pmtu-c", async (client) => {
          const dir = mkdtempSync(join(tmpdir(), "tstcp-pmtu-"));
          const pcap = join(dir, "host.pcap");
          // The plain TUN, so the pcap shows segments as the wire carries them (with TSO
          // it records the stack's 64 KB segments before the kernel cuts them).
          const host = spawnHost(router, [...ARGS, "--no-offload", "--pcap", pcap]);
          try {
            await host.waitFor(/is up/);
            // The router namespace forwards between the TUN and a 1280-octet link to the
            // client; the client's own link is 1500, so it offers an MSS of 1440 and our
            // full-sized segments (1500 octets) are too big for the router's next hop.
            await sh(
              router,
              [
                `ip link add v1 type veth peer name v2 netns ${client.name}`,
                "ip link set v1 mtu 1280 up",
                "ip -6 addr add fd01::1/64 dev v1 nodad",
                "sysctl -qw net.ipv6.conf.all.forwarding=1",
              ].join(" && "),
            );
            await sh(
              client,
              [
                "ip link set lo up",
                "ip link set v2 up",
                "ip -6 addr add fd01::2/64 dev v2 nodad",
                "ip -6 route add default via fd01::1",
              ].join(" && "),
            );
            const got = await sh(
              client,
              `curl -sS -g --max-time 60 -o /dev/null -w '%{http_code} %{size_download}' 'http://[${STACK6}]/bytes/300000'`,
            );
            expect(got.stdout).toBe("200 300000");
          } finally {
            expect(await host.stop("SIGINT")).toBe(0);
          }
          try {
            const tooBig = await sh(
              router,
              `tshark -r ${pcap} -Y 'icmpv6.type == 2' -T fields -e icmpv6.mtu 2>/dev/null`,
            );
            const mtus = tooBig.stdout.trim().split("\n").filter(Boolean);
            expect(mtus.length).toBeGreaterThan(0);
            expect(new Set(mtus)).toEqual(new Set(["1280"]));
            const sizes = await sh(
              router,
              `tshark -r ${pcap} -Y 'ipv6.src == ${STACK6} && tcp.srcport == 80' -T fields -e frame.len 2>/dev/null`,
            );
            const lengths = sizes.stdout.trim().split("\n").map(Number);
            // Before the Packet Too Big: full 1500-octet packets; after it, none above 1280.
            const firstSmall = lengths.indexOf(1280);
            expect(firstSmall).toBeGreaterThan(0);
            expect(lengths.slice(0, firstSmall)).toContain(1500);
            expect(Math.max(...lengths.slice(firstSmall))).toBe(1280);
            expect(lengths.filter((n) => n === 1280).length).toBeGreaterThan(100);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        });
      });
    }, 120_000);
  },
  commands("curl", "nmap", "ip", "nc", "ping", "tshark", "sha256sum"),
);

function counterOf(line: string): number {
  return Number(line.trim().split(/\s+/)[1] ?? Number.NaN);
}

/** Open TCP ports in nmap's grepable output, sorted as text. */
function openTcpPorts(grepable: string): string[] {
  return [...portStates(grepable)]
    .filter(([, state]) => state === "open")
    .map(([port]) => port)
    .sort();
}

/** port → state from nmap -oG ("Ports: 7/open/tcp//echo///, 9/closed/udp//..."). */
function portStates(grepable: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const match of grepable.matchAll(/(\d+)\/([a-z|]+)\/(?:tcp|udp)\//g))
    states.set(match[1]!, match[2]!);
  return states;
}
