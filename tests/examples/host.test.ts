/**
 * The demo host on a real TUN device, in a private network namespace, driven the way a
 * person would: curl, nmap, bash's /dev/tcp, signals. Needs root and /dev/net/tun (see
 * tests/helpers/tun_env.ts: skipped without them unless REQUIRE_TUN=1).
 */
import { expect, test } from "bun:test";
import { bashIn, type Netns, withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";
import { spawnHost } from "./host_process.ts";

const STACK = "10.0.0.2";
const ARGS = ["--tun", "tsthost0", "--address", `${STACK}/24`, "--host", "10.0.0.1"];

const sh = (ns: Netns, script: string, timeoutMs = 60_000) => bashIn(ns, script, timeoutMs);

describeTun(
  "the host on a TUN device",
  () => {
    test("curl: the page, exact byte counts, /stats with curl's own connection, keep-alive, 100-continue, 400", async () => {
      await withNetns("tstcp-http", async (ns) => {
        const host = spawnHost(ns, ARGS);
        try {
          await host.waitFor(/is up/);
          const home = await sh(ns, `curl -sS --max-time 10 http://${STACK}/`);
          expect(home.stdout).toContain(`ping ${STACK}`);

          for (const n of [0, 1, 1_000_000, 100_000_000]) {
            const got = await sh(
              ns,
              `curl -sS --max-time 60 -o /dev/null -w '%{http_code} %{size_download}' http://${STACK}/bytes/${n}`,
            );
            expect(got.stdout).toBe(`200 ${n}`);
          }

          const stats = await sh(
            ns,
            `curl -sS --max-time 10 -w '\\n%{local_port}' http://${STACK}/stats`,
          );
          const lines = stats.stdout.trim().split("\n");
          const port = lines.pop();
          const json = JSON.parse(lines.join("\n"));
          expect(json.connections).toContainEqual(
            expect.objectContaining({ remote: `10.0.0.1:${port}`, local: `${STACK}:80` }),
          );
          const text = await sh(ns, `curl -sS --max-time 10 'http://${STACK}/stats?format=text'`);
          expect(text.stdout).toMatch(/^Proto\s+State\s+Recv-Q/);

          // Two URLs on one curl: the second reuses the first connection.
          const reuse = await sh(
            ns,
            `curl -sS --max-time 10 -o /dev/null -o /dev/null -w '%{num_connects}\\n' http://${STACK}/ http://${STACK}/bytes/10`,
          );
          expect(reuse.stdout.trim().split("\n")).toEqual(["1", "0"]);

          // A body sent after "Expect: 100-continue": curl waits for the interim reply.
          const expectContinue = await sh(
            ns,
            `head -c 100000 /dev/zero | curl -sS -v --max-time 10 -H 'Expect: 100-continue' --data-binary @- -o /dev/null http://${STACK}/ 2>&1`,
          );
          expect(expectContinue.stdout).toContain("< HTTP/1.1 100 Continue");
          expect(expectContinue.stdout).toContain("< HTTP/1.1 405 Method Not Allowed");

          const bad = await sh(
            ns,
            `exec 3<>/dev/tcp/${STACK}/80; printf 'GET / HTTP/1.1\\r\\nHost : x\\r\\n\\r\\n' >&3; timeout 5 cat <&3`,
          );
          expect(bad.stdout).toStartWith("HTTP/1.1 400 Bad Request\r\n");

          // SIGUSR1: the ss-like view on standard output, listeners first.
          host.child.kill("SIGUSR1");
          await host.waitFor(/^Proto\s+State\s+Recv-Q/);
          await host.waitFor(/^tcp\s+LISTEN\s+0\s+0\s+\[::\]:80\b/);
        } finally {
          expect(await host.stop("SIGINT")).toBe(0);
        }
      });
    }, 120_000);

    test("nmap finds exactly the configured ports", async () => {
      await withNetns("tstcp-nmap", async (ns) => {
        const host = spawnHost(ns, [...ARGS, "--services", "echo,chargen,http"]);
        try {
          await host.waitFor(/is up/);
          const tcp = await sh(ns, `nmap -n -Pn -sS -p 1-1024 -oG - ${STACK}`, 120_000);
          expect(openPorts(tcp.stdout, "open")).toEqual([
            "19/open/tcp",
            "7/open/tcp",
            "80/open/tcp",
          ]);
          const udp = await sh(ns, `nmap -n -Pn -sU -p 7,9,19,80 -oG - ${STACK}`, 120_000);
          const udpPorts = portStates(udp.stdout);
          expect(udpPorts.get("7")).toBe("open");
          expect(udpPorts.get("19")).toBe("open");
          expect(udpPorts.get("9")).toBe("closed");
          expect(udpPorts.get("80")).toBe("closed");
          // Host discovery by ICMP timestamp alone (no echo, no ports), as for the kernel.
          const timestamp = await sh(ns, `nmap -n -sn -PP -oG - ${STACK}`, 60_000);
          expect(timestamp.stdout).toContain("Status: Up");
        } finally {
          expect(await host.stop("SIGTERM")).toBe(0);
        }
      });
    }, 240_000);

    test("--trace shows a curl's handshake, transitions and close in order; SIGINT leaves nothing behind", async () => {
      await withNetns("tstcp-trace", async (ns) => {
        const host = spawnHost(ns, [...ARGS, "--trace"]);
        let code: number | null = null;
        try {
          await host.waitFor(/is up/);
          await sh(ns, `curl -sS --max-time 10 -o /dev/null http://${STACK}/`);
          await host.waitFor(/-> (CLOSED|TIME-WAIT)/);
        } finally {
          code = await host.stop("SIGINT");
        }
        expect(code).toBe(0);
        const expected = [
          /in {2}10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.80: Flags \[S\]/,
          /LISTEN -> SYN-RECEIVED/,
          /out 10\.0\.0\.2\.80 > 10\.0\.0\.1\.\d+: Flags \[S\.\]/,
          /SYN-RECEIVED -> ESTABLISHED/,
          /in {2}10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.80: Flags \[P\.\]/,
          /out 10\.0\.0\.2\.80 > 10\.0\.0\.1\.\d+: Flags \[[FP]*\.\], seq \d+:\d+/,
          /Flags \[F\.\]/,
          /-> (CLOSED|TIME-WAIT)/,
        ];
        let at = 0;
        for (const pattern of expected) {
          const found = host.lines.findIndex((line, i) => i >= at && pattern.test(line));
          if (found < 0)
            throw new Error(`${pattern} not found after line ${at}:\n${host.lines.join("\n")}`);
          at = found + 1;
        }
        const links = await ns.exec(["ip", "-o", "link"]);
        expect(links.stdout).not.toContain("tsthost0");
      });
    }, 60_000);

    test("SIGTERM with clients connected: they get a FIN, the host exits 0 and the interface goes", async () => {
      await withNetns("tstcp-stop", async (ns) => {
        const host = spawnHost(ns, ARGS);
        await host.waitFor(/is up/);
        // Two idle clients: an echo session and a chargen stream nobody reads.
        const echo = ns.spawn(["nc", STACK, "7"]);
        const chargen = ns.spawn(["bash", "-c", `nc ${STACK} 19 > /dev/null`]);
        echo.stdin.write("hello\n");
        await echo.stdin.flush();
        await Bun.sleep(500);
        const code = await host.stop("SIGTERM");
        expect(code).toBe(0);
        // The clients saw the connection end (FIN, or RST after the grace period) and quit.
        const quit = await Promise.race([
          Promise.all([echo.exited, chargen.exited]).then(() => true),
          Bun.sleep(5000).then(() => false),
        ]);
        expect(quit).toBe(true);
        expect(host.lines.some((line) => /SIGTERM/.test(line))).toBe(true);
        const links = await ns.exec(["ip", "-o", "link"]);
        expect(links.stdout).not.toContain("tsthost0");
      });
    }, 60_000);
  },
  commands("curl", "nmap", "ip", "nc"),
);

/** Ports in nmap's grepable output, as "port/state/protocol", sorted. */
function openPorts(grepable: string, state: string): string[] {
  return [...portStates(grepable)]
    .filter(([, s]) => s === state)
    .map(([port]) => `${port}/${state}/tcp`)
    .sort();
}

/** port → state from nmap -oG ("Ports: 7/open/tcp//echo///, 9/closed/udp//..."). */
function portStates(grepable: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const match of grepable.matchAll(/(\d+)\/([a-z|]+)\/(?:tcp|udp)\//g))
    states.set(match[1]!, match[2]!);
  return states;
}

test("nmap output parsing", () => {
  const line =
    "Host: 10.0.0.2 ()\tPorts: 7/open/tcp//echo///, 9/closed/udp//discard///, 19/open|filtered/udp//chargen///";
  expect([...portStates(line)]).toEqual([
    ["7", "open"],
    ["9", "closed"],
    ["19", "open|filtered"],
  ]);
});
