/**
 * The gateway end to end (gateway/, docs/gateway.md): an inner namespace behind tun0
 * reaches real kernel servers in a server namespace through the gateway's host sockets
 * (topology: tests/helpers/gateway_topology.ts). The shared checks run against our
 * gateway and against slirp4netns in the same topology, which shows the checks
 * themselves are right; the checks of our own flags (firewall, forwards, limits) run
 * against ours only.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  SSH_PORT,
  startServers,
  TEST_NAME,
  TEST_NAME_ADDRESS,
} from "../helpers/gateway_servers.ts";
import {
  BLACK_HOLE,
  GATEWAY_OUTSIDE,
  type GatewayKind,
  type GatewayTopology,
  SERVER,
  withGatewayTopology,
} from "../helpers/gateway_topology.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const CLIENT = "tests/gateway/fixtures/client.ts";
/** sha256 of the first 100,000,000 bytes of the fixtures' pattern (servers.ts patternBytes). */
const PATTERN_100MB_SHA256 = "323d7dfe15b65d05131a576d75dcd64115699e0ccba74a97ede26481a391edfd";

async function client(
  t: GatewayTopology,
  args: string[],
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const r = await t.inner.runBun(CLIENT, args, { timeoutMs });
  if (r.exitCode !== 0) throw new Error(`client ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

async function sh(t: GatewayTopology, script: string, timeoutMs = 60_000) {
  return t.inner.exec(["sh", "-c", script], { timeoutMs });
}

/** The checks every user-mode gateway must pass, ours and slirp4netns alike. */
async function commonChecks(t: GatewayTopology): Promise<void> {
  const servers = await startServers(t.server, SERVER);
  try {
    // 100 MB from a kernel HTTP server, intact.
    const download = await sh(
      t,
      `curl -sS --fail -m 100 http://${SERVER}:8000/bytes/100000000 | sha256sum`,
      110_000,
    );
    expect(download.stdout.split(" ")[0]).toBe(PATTERN_100MB_SHA256);
    // 20 MB through a kernel echo server, intact both ways.
    expect(await client(t, ["echo", SERVER, "7007", String(20_000_000)])).toEqual({
      sent: 20_000_000,
      received: 20_000_000,
      match: true,
    });
    // 1,000 short connections, all complete.
    expect(await client(t, ["conns", SERVER, "7007", "1000"], 120_000)).toEqual({
      ok: 1000,
      failed: 0,
    });
    // A refused port: ECONNREFUSED, as directly (the RST comes only after the host connect failed).
    expect(await client(t, ["connect", SERVER, "7", "10000"])).toEqual({ result: "ECONNREFUSED" });
    // A black-holed destination: no answer (connect first: no SYN,ACK before the host's).
    expect((await client(t, ["connect", BLACK_HOLE, "80", "3000"])).result).toMatch(
      /timeout|EHOSTUNREACH/,
    );
    // DNS through 10.0.2.3 to dnsmasq, over UDP and TCP.
    const dig = await sh(t, `dig +short +time=5 +tries=2 @10.0.2.3 ${TEST_NAME}`);
    expect(dig.stdout.trim()).toBe(TEST_NAME_ADDRESS);
    const digTcp = await sh(t, `dig +tcp +short +time=5 +tries=2 @10.0.2.3 ${TEST_NAME}`);
    expect(digTcp.stdout.trim()).toBe(TEST_NAME_ADDRESS);
    // UDP echo through a kernel UDP server.
    expect(await client(t, ["udp", SERVER, "7007", "50"])).toEqual({ answered: 50 });
    // ssh runs a command; scp copies a file intact.
    const ssh = ["ssh", ...servers.sshOptions, "-p", String(SSH_PORT), `root@${SERVER}`];
    const run = await t.inner.exec([...ssh, "echo through-the-gateway"], { timeoutMs: 60_000 });
    expect(run.stdout.trim()).toBe("through-the-gateway");
    const source = `${servers.dir}/payload`;
    await sh(t, `head -c 3000000 /dev/urandom > ${source}`);
    const scp = await t.inner.exec(
      [
        "scp",
        ...servers.sshOptions,
        "-P",
        String(SSH_PORT),
        source,
        `root@${SERVER}:${servers.dir}/copy`,
      ],
      { timeoutMs: 60_000 },
    );
    expect(scp.exitCode).toBe(0);
    expect(readFileSync(`${servers.dir}/copy`)).toEqual(readFileSync(source));
  } finally {
    servers.cleanup();
  }
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** SIGUSR1's report (gateway/gateway.ts `report`) once it has been printed. */
async function usr1Report(t: GatewayTopology): Promise<string> {
  const before = t.output().length;
  t.process.kill("SIGUSR1");
  for (let i = 0; i < 100 && !t.output().slice(before).includes("gateway counters:"); i++)
    await Bun.sleep(50);
  return t.output().slice(before);
}

describeTun(
  "gateway",
  () => {
    for (const kind of ["tstcp", "slirp4netns"] as GatewayKind[]) {
      test(`${kind}: TCP, UDP, DNS and ssh from the inner namespace reach real servers`, async () => {
        if (kind === "slirp4netns" && Bun.which("slirp4netns") === null)
          throw new Error("slirp4netns is not installed (.ci/deps.sh)");
        await withGatewayTopology(kind, [], commonChecks);
      }, 400_000);
    }

    test("tstcp: inbound forward, firewall, host loopback, flow-control bound, NAT table", async () => {
      const args = [
        "--forward",
        "tcp:8080:80",
        "--forward",
        "udp:5353:7007",
        "--deny",
        `tcp:${SERVER}:7070`,
        "--flow-buffer",
        "262144",
        "--services",
        "http",
      ];
      await withGatewayTopology("tstcp", args, async (t) => {
        const servers = await startServers(t.server, SERVER);
        try {
          // Inbound: the kernel's curl in the gateway's namespace reaches a server inside.
          t.inner.spawn([
            "sh",
            "-c",
            "while true; do printf 'HTTP/1.0 200 OK\\r\\n\\r\\ninside\\n' | nc -l -p 80 -q 1 || nc -l 80 < /dev/null; done",
          ]);
          let inbound = "";
          for (let i = 0; i < 50 && inbound !== "inside"; i++) {
            inbound = (
              await t.gw.exec(["curl", "-sS", "-m", "5", "http://127.0.0.1:8080/"])
            ).stdout.trim();
            if (inbound !== "inside") await Bun.sleep(200);
          }
          expect(inbound).toBe("inside");
          // Inbound UDP: datagrams to 127.0.0.1:5353 here reach a UDP echo inside, and back.
          const insideServers = t.inner.spawnBun("tests/gateway/fixtures/servers.ts", ["0.0.0.0"]);
          await insideServers.stdout.getReader().read(); // "ready"
          const udpIn = await t.gw.runBun(CLIENT, ["udp", "127.0.0.1", "5353", "20"], {
            timeoutMs: 30_000,
          });
          expect(JSON.parse(udpIn.stdout.trim())).toEqual({ answered: 20 });
          // Firewall: the denied destination is refused (RST) although a server listens there.
          expect(await client(t, ["connect", SERVER, "7070", "10000"])).toEqual({
            result: "ECONNREFUSED",
          });
          // The host's own addresses are out of reach by default, server or not.
          t.gw.spawn(["nc", "-lk", "5555"]);
          await Bun.sleep(300);
          expect(await client(t, ["connect", GATEWAY_OUTSIDE, "5555", "10000"])).toEqual({
            result: "ECONNREFUSED",
          });
          const report = await usr1Report(t);
          expect(Number(/gwDenied (\d+)/.exec(report)?.[1])).toBeGreaterThanOrEqual(2);
          // Flow control: a destination that stops reading; the client pushes for 6 s.
          const baseline = rssBytes(t.process.pid);
          const blast = client(t, ["blast", SERVER, "9009", "6"]);
          let peak = baseline;
          let table = "";
          let stats = "";
          for (let i = 0; i < 20; i++) {
            await Bun.sleep(250);
            peak = Math.max(peak, rssBytes(t.process.pid));
            if (i === 12) table = await usr1Report(t);
            if (i === 14) stats = (await sh(t, "curl -sS -m 10 http://10.0.2.2/stats")).stdout;
          }
          const { written } = (await blast) as { written: number };
          const growth = peak - baseline;
          console.log(
            `flow control: client wrote ${(written / 1e6).toFixed(1)} MB into a stalled destination; gateway RSS ${(baseline / 1e6).toFixed(1)} -> ${(peak / 1e6).toFixed(1)} MB`,
          );
          // What one flow may hold: our receive window and send buffer and flowBufferBytes,
          // a few MB; the kernel's socket buffers are not in our RSS. Far below what was offered.
          expect(growth).toBeLessThan(48e6);
          // The NAT table lists the stalled flow with the bytes it carried.
          expect(table).toContain(`${SERVER}:9009`);
          // ... and so does /stats of the gateway's own HTTP service (at 10.0.2.2).
          const nat = JSON.parse(stats).gateway.nat as { destination: string; bytesOut: number }[];
          expect(nat.find((row) => row.destination === `${SERVER}:9009`)?.bytesOut).toBeGreaterThan(
            0,
          );
        } finally {
          servers.cleanup();
        }
      });
    }, 300_000);

    test("tstcp: limits are counted when hit; ICMP echo answered by the gateway, refused beyond it", async () => {
      await withGatewayTopology("tstcp", ["--max-pending-connects", "1"], async (t) => {
        // One host connect to a black hole is under way; a second SYN meanwhile is dropped.
        const first = client(t, ["connect", BLACK_HOLE, "80", "4000"]);
        await Bun.sleep(500);
        expect(await client(t, ["connect", BLACK_HOLE, "81", "1500"])).toEqual({
          result: "timeout",
        });
        expect((await first).result).toBe("timeout");
        const report = await usr1Report(t);
        expect(Number(/gwLimitPendingConnects (\d+)/.exec(report)?.[1])).toBeGreaterThanOrEqual(1);
        // Echo to the gateway itself is answered; echo beyond is refused (docs/gateway.md).
        expect((await t.inner.exec(["ping", "-c", "1", "-W", "5", "10.0.2.2"])).exitCode).toBe(0);
        const beyond = await t.inner.exec(["ping", "-c", "1", "-W", "5", SERVER]);
        expect(beyond.exitCode).not.toBe(0);
        expect(beyond.stdout).toMatch(/Packet filtered|Prohibited/i);
      });
    }, 120_000);
  },
  commands("curl", "dig", "dnsmasq", "ssh", "scp", "sshd", "nc"),
);
