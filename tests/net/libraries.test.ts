/**
 * Real libraries on our TCP, each against its real server: in a network namespace the
 * test creates, the kernel side runs the server (openssl s_server, PostgreSQL, a node:http
 * server, mosquitto, and curl / openssl s_client as clients), and the stack side is
 * fixtures/library_host.ts: `createHost` on a TUN, the library over `host.net`.
 *
 *   kernel 10.77.0.1 ── tstnet0 ── our stack 10.77.0.2
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { collectLines } from "../helpers/lines.ts";
import { type Netns, withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const FIXTURE = `${import.meta.dir}/fixtures/library_host.ts`;
const KERNEL_HTTP = `${import.meta.dir}/fixtures/kernel_http.ts`;

/** Resolves once a line of `child`'s stdout or stderr matches; throws after `ms`. */
async function waitForLine(child: Subprocess<"pipe", "pipe", "pipe">, match: RegExp, ms = 60_000) {
  const lines: string[] = [];
  const found = Promise.withResolvers<void>();
  const check = () => {
    if (lines.some((line) => match.test(line))) found.resolve();
  };
  // Both streams at their end without the line: the server has exited; say why.
  void Promise.all([
    collectLines(child.stdout, lines, check),
    collectLines(child.stderr, lines, check),
  ]).then(() => found.reject(new Error(`exited before ${match}: ${lines.join("\n")}`)));
  const timer = setTimeout(
    () => found.reject(new Error(`no ${match} within ${ms} ms: ${lines.join("\n")}`)),
    ms,
  );
  try {
    await found.promise;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the stack-side fixture and returns its JSON report; fails with its error. */
async function runFixture(ns: Netns, scenario: string): Promise<Record<string, unknown>> {
  const out = await ns.runBun(FIXTURE, [scenario, dir], { timeoutMs: 150_000 });
  const last = out.stdout.trim().split("\n").pop() ?? "";
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(last);
  } catch {
    throw new Error(
      `fixture printed no report (exit ${out.exitCode}): ${out.stdout}\n${out.stderr}`,
    );
  }
  if (report.ok !== true) throw new Error(`fixture failed: ${report.error}\n${out.stderr}`);
  return report;
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(`${tmpdir()}/tstcp-net-`);
  chmodSync(dir, 0o755);
});
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/**
 * A PostgreSQL server program: on PATH, or where Debian keeps it
 * (/usr/lib/postgresql/VERSION/bin, the newest version).
 */
function postgresProgram(name: "initdb" | "postgres"): string | undefined {
  const onPath = Bun.which(name);
  if (onPath !== null) return onPath;
  const found = [...new Bun.Glob(`/usr/lib/postgresql/*/bin/${name}`).scanSync("/")];
  return found.sort(
    (x, y) => Number(/(\d+)\/bin/.exec(y)?.[1]) - Number(/(\d+)\/bin/.exec(x)?.[1]),
  )[0];
}

/** The npm packages the fixture loads, when some are not installed (npm ci installs them). */
function missingPackages(...names: string[]): string | undefined {
  const missing = names.filter((name) => {
    try {
      Bun.resolveSync(`${name}/package.json`, import.meta.dir);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length === 0
    ? undefined
    : `npm packages missing (run npm ci): ${missing.join(", ")}`;
}

/** A PostgreSQL program run as the postgres user (the server refuses root). */
function asPostgres(name: "initdb" | "postgres", args: string[]): string[] {
  return ["runuser", "-u", "postgres", "--", postgresProgram(name)!, ...args];
}

/** A user's ids, from `id` (the server refuses to run as root). */
function userIds(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(String(Bun.spawnSync(["id", flag, name]).stdout).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** A throwaway self-signed certificate for both TLS directions. */
async function makeCertificate() {
  const made = Bun.spawnSync([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/cert.pem`,
    "-days",
    "1",
    "-subj",
    "/CN=test",
  ]);
  if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  chmodSync(`${dir}/key.pem`, 0o644);
}

describeTun(
  "real libraries over net/ on a TUN, against their real servers",
  () => {
    test("createHost starts no services unless asked: only ICMP echo answers", async () => {
      await withNetns("net-bare", async (ns) => {
        const report = await runFixture(ns, "bare");
        // curl's exit 7: failed to connect (refused).
        expect(report).toMatchObject({ curlHttp: 7, curlEcho: 7, ping: 0 });
        expect(report.linkAfterClose).not.toBe(0); // ip link show: no such device
      });
    }, 180_000);

    test("TLS client: tls.connect({ socket }) over ours to openssl s_server", async () => {
      await makeCertificate();
      await withNetns("net-tls", async (ns) => {
        const server = ns.spawn([
          "openssl",
          "s_server",
          "-accept",
          "4433",
          "-key",
          `${dir}/key.pem`,
          "-cert",
          `${dir}/cert.pem`,
          "-www",
        ]);
        await waitForLine(server, /ACCEPT/);
        const report = await runFixture(ns, "tls-client");
        expect(report.protocol).toBe("TLSv1.3");
        expect(report.status).toBe("HTTP/1.0 200 ok");
        expect(report.length as number).toBeGreaterThan(1000);
      });
    }, 180_000);

    test("TLS server: new tls.TLSSocket(ours, { isServer: true }) reached by curl and openssl s_client", async () => {
      await makeCertificate();
      await withNetns("net-tlss", async (ns) => {
        const report = await runFixture(ns, "tls-server");
        expect(report.curlExit).toBe(0);
        expect(report.curlError).toBe("");
        expect(report.curlSha).toBe(report.bodySha as string);
        expect(report.sClientProtocol).toBe("TLSv1.3");
        expect(report.sClientStatus).toBe("HTTP/1.1 200 OK");
        expect(report.handshakes).toBe(2);
      });
    }, 180_000);

    test("PostgreSQL: the pg driver's stream option: queries, transactions, 10 MB COPY in and out", async () => {
      // initdb refuses root: the cluster belongs to the postgres user, in our temp dir.
      const data = `${dir}/pgdata`;
      mkdirSync(data, { mode: 0o700 });
      const { uid, gid } = userIds("postgres");
      chownSync(data, uid, gid);
      const initdb = Bun.spawnSync(
        asPostgres("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
        { cwd: dir },
      );
      if (initdb.exitCode !== 0) console.error(String(initdb.stderr));
      expect(initdb.exitCode).toBe(0);
      // The cluster admits the stack's address (only inside the namespace).
      writeFileSync(
        `${data}/pg_hba.conf`,
        "host all all 10.77.0.0/24 trust\nlocal all all trust\n",
      );
      await withNetns("net-pg", async (ns) => {
        const server = ns.spawn(
          asPostgres("postgres", [
            ...["-D", data, "-c", "listen_addresses=*", "-c", "port=5432"],
            ...["-c", `unix_socket_directories=${data}`, "-c", "fsync=off"],
          ]),
        );
        await waitForLine(server, /ready to accept connections/);
        const report = await runFixture(ns, "pg");
        expect(report.sum).toBe(42);
        expect(report.balances).toEqual([70, 30]);
        expect(report.count).toBe(report.lines as number);
        expect(report.copyInBytes as number).toBeGreaterThanOrEqual(10 * 1024 * 1024);
        expect(report.copyOutBytes).toBe(report.copyInBytes as number);
        expect(report.sameCopy).toBe(true);
      });
    }, 180_000);

    test("HTTP: http.request with an Agent, and undici's connect option, over ours: a 16 MB body, then keep-alive", async () => {
      await withNetns("net-http", async (ns) => {
        const server = ns.spawnBun(KERNEL_HTTP, ["8080"]);
        await waitForLine(server, /listening/);
        const report = await runFixture(ns, "http");
        expect(report.largeStatus).toBe(200);
        expect(report.largeBytes).toBe(16 * 1024 * 1024);
        expect(report.largeIsPattern).toBe(true);
        expect(report.smallBytes).toEqual([1000, 1001, 1002]);
        // Keep-alive: all four requests on one connection, made once.
        expect(report.serverConnections).toEqual(["1", "1", "1", "1"]);
        expect(report.createdConnections).toBe(1);
        // undici: the same, through its connect option.
        const undici = report.undici as {
          replies: { status: number; bytes: number; pattern: boolean; connection: string }[];
          connections: number;
        };
        expect(undici.replies.map((reply) => reply.bytes)).toEqual([16 * 1024 * 1024, 1000, 1001]);
        expect(undici.replies.every((reply) => reply.status === 200 && reply.pattern)).toBe(true);
        expect(new Set(undici.replies.map((reply) => reply.connection)).size).toBe(1);
        expect(undici.connections).toBe(1);
      });
    }, 180_000);

    test("HTTP server: node:http's Server on our accepted sockets, fetched by curl with keep-alive", async () => {
      await withNetns("net-https", async (ns) => {
        const report = await runFixture(ns, "http-server");
        expect(report.curlExit).toBe(0);
        expect(report.curlError).toBe("");
        // "status bytes new-connections" per URL: one connection, reused twice.
        expect(report.transfers).toEqual([`200 ${16 * 1024 * 1024} 1`, "200 1000 0", "200 1001 0"]);
      });
    }, 180_000);

    test("MQTT: MQTT.js's MqttClient(streamBuilder) over ours to mosquitto, QoS 1, a 1 MB message", async () => {
      writeFileSync(
        `${dir}/mosquitto.conf`,
        "listener 1883 0.0.0.0\nallow_anonymous true\nlog_dest stderr\n",
      );
      await withNetns("net-mqtt", async (ns) => {
        const server = ns.spawn(["mosquitto", "-v", "-c", `${dir}/mosquitto.conf`]);
        await waitForLine(server, /running/);
        const report = await runFixture(ns, "mqtt");
        expect(report.received).toEqual(report.sent as string[]);
        expect((report.sent as string[]).length).toBe(3);
      });
    }, 180_000);
  },
  () =>
    commands("openssl", "curl", "mosquitto", "runuser")() ??
    missingPackages("pg", "pg-copy-streams", "mqtt", "undici") ??
    (postgresProgram("initdb") === undefined
      ? "the PostgreSQL server is not installed"
      : undefined),
);
