/**
 * `bun run bench --smoke`: the whole harness with tiny volumes and few connections, so it
 * cannot rot. It checks that the table comes out with every expected row and that
 * nothing crashed or was left behind; it never judges a figure (timing belongs to the
 * benchmarks themselves, not to tests).
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { commands, describeTun } from "../helpers/tun_env.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

const EXPECTED_ROWS = [
  "Internet checksum, 20 B",
  "Internet checksum, 1500 B",
  "Internet checksum, 64 KiB",
  "IPv4 header parse + validate",
  "TCP segment parse with options",
  "Receive path: one in-order segment",
  "Send path: one MSS + its ACK",
  "RTT p50",
  "RTT p99",
  "Flood rate (ping -f)",
  "Bare Bun echo on the TUN (floor)",
  "Download from chargen",
  "Download GET /bytes/N",
  "Upload to discard",
  "Server process CPU per GB moved",
  "Machine CPU per GB moved",
  "Keep-alive requests",
  "Keep-alive latency p99",
  "New connections (one request each)",
  "Established",
  "Memory per idle connection",
  "Memory per connection after each echoed one byte",
  "Lost (no echo)",
];

describeTun(
  "bench --smoke",
  () => {
    test("produces the results table with every row, and cleans up", async () => {
      const out = `/tmp/tstcp-bench-smoke-test-${process.pid}.md`;
      try {
        const child = Bun.spawn(
          [process.execPath, `${ROOT}bench/run.ts`, "--smoke", "--out", out],
          {
            stdout: "pipe",
            stderr: "pipe",
          },
        );
        const timer = setTimeout(() => child.kill("SIGKILL"), 200_000);
        const [stdout, stderr] = await Promise.all([
          new Response(child.stdout).text(),
          new Response(child.stderr).text(),
        ]);
        const exitCode = await child.exited;
        clearTimeout(timer);
        expect({ exitCode, stderr: stderr.slice(-2000) }).toEqual({
          exitCode: 0,
          stderr: expect.any(String),
        });
        expect(existsSync(out)).toBe(true);
        const report = readFileSync(out, "utf8");
        expect(stdout).toContain("| Figure |");
        for (const row of EXPECTED_ROWS) expect(report).toContain(`| ${row}`);
        // The harness itself must not have crashed (a figure may be n/a, the run may not).
        expect(report).not.toContain("system benchmarks stopped");
        const left = Bun.spawnSync(["ip", "netns", "list"]).stdout.toString();
        expect(left).not.toContain(`tstcp-smoke-${child.pid}-`);
      } finally {
        rmSync(out, { force: true });
      }
    }, 240_000);
  },
  commands("ping", "curl", "nc", "wrk", "timeout"),
);
