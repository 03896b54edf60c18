/**
 * The inspector in a real browser: the demo host runs with `--inspect` on a TUN in a
 * namespace this test creates, curl downloads from it (rate-limited, so the transfer is
 * still running), and an idle echo connection sits beside it. Headless Chromium, started
 * inside the same namespace (`ip netns exec`, so the page's 127.0.0.1 is the host's), loads
 * the page; the test checks the DOM (the connection, its state, plots with data, the
 * time-sequence graph, the ladder with RFC rules), keeps a screenshot in tests/artifacts/,
 * and checks that the page's numbers for the idle connection are those of /stats.
 *
 * Needs root, /dev/net/tun, curl, nc and Debian's chromium (skipped without them unless
 * REQUIRE_TUN=1) and the playwright-core package (devDependency).
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnHost } from "../examples/host_process.ts";
import { type Netns, withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const STACK = "10.0.0.2";
const PORT = 8090;
const ARGS = [
  "--tun",
  "tstinsp0",
  "--address",
  `${STACK}/24`,
  "--host",
  "10.0.0.1",
  "--inspect",
  `127.0.0.1:${PORT}`,
];
const ARTIFACTS = join(import.meta.dir, "..", "artifacts");
const CHROMIUM = "/usr/bin/chromium";

interface Row {
  key?: string;
  state: string;
  local: string;
  remote: string;
  recvQ: number;
  sendQ: number;
  srttMs: number;
  rtoMs: number;
  cwndBytes: number;
  retransmits: number;
  bytesInFlight?: number;
}

async function inside(ns: Netns, script: string): Promise<string> {
  const result = await ns.exec(["bash", "-c", script], { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`${script}: ${result.stderr}`);
  return result.stdout;
}

async function state(ns: Netns): Promise<{ table: Row[] }> {
  return JSON.parse(await inside(ns, `curl -sS --max-time 10 http://127.0.0.1:${PORT}/state.json`));
}

/** Polls `probe` until it returns a value (bounded: `tries` × 250 ms). */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  tries = 120,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await Bun.sleep(250);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** playwright-core starts this instead of chromium: the same browser, inside the namespace. */
function chromiumInside(ns: Netns, dir: string): string {
  const path = join(dir, "chromium-in-netns");
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

function chromiumMissing(): string | undefined {
  return Bun.which("chromium") === null ? "Debian's chromium is not installed" : undefined;
}

describeTun(
  "the inspector in a browser",
  () => {
    test("shows a running transfer live, and the same numbers as /stats", async () => {
      const { chromium } = await import("playwright-core");
      const dir = mkdtempSync(join(tmpdir(), "tstcp-inspector-"));
      try {
        await withNetns("tstcp-insp", async (ns) => {
          const host = spawnHost(ns, ARGS);
          await host.waitFor(/is up/);
          await host.waitFor(/inspector: http/);
          // A long download, slowed so that it is still running while the page is looked at.
          ns.spawn([
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "--limit-rate",
            "4M",
            `http://${STACK}/bytes/400000000`,
          ]);
          // An idle connection: after one echo, its numbers stand still.
          const echo = ns.spawn(["nc", STACK, "7"]);
          echo.stdin.write("hello inspector\n");
          echo.stdin.flush();
          const transfer = await until("the transfer", async () => {
            const rows = (await state(ns)).table;
            return rows.find(
              (r) => r.local === `${STACK}:80` && r.state === "ESTABLISHED" && r.sendQ > 0,
            );
          });
          const idle = await until("the echo connection", async () => {
            const rows = (await state(ns)).table;
            return rows.find((r) => r.local === `${STACK}:7` && r.state === "ESTABLISHED");
          });

          // A fresh profile (user data dir) of our own, deleted with `dir`.
          const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
            executablePath: chromiumInside(ns, dir),
            headless: true,
            viewport: { width: 1600, height: 2200 },
            args: [
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--disable-quic",
              "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
            ],
            timeout: 60_000,
          });
          try {
            const page = browser.pages()[0] ?? (await browser.newPage());
            const key = transfer.key!;
            await page.goto(`http://127.0.0.1:${PORT}/?conn=${encodeURIComponent(key)}`, {
              timeout: 30_000,
            });
            // First paint, from the state embedded in the page (before any event arrives).
            const html = await inside(
              ns,
              `curl -sS --max-time 10 'http://127.0.0.1:${PORT}/?conn=${encodeURIComponent(key)}'`,
            );
            const embedded =
              /<script id="initial-state" type="application\/json">(.*?)<\/script>/s.exec(html);
            expect(JSON.parse(embedded![1]!).connection.key).toBe(key);
            const row = page.locator(`#connections tr[data-key="${key}"]`);
            expect(await row.locator('td[data-field="state"]').textContent()).toBe("ESTABLISHED");
            expect(await page.locator("#selected").textContent()).toBe(key);
            // Live: the plots fill as samples arrive.
            await page.waitForFunction(
              `Number(document.querySelector('#plot-cwnd path.series[data-name="cwnd"]')?.getAttribute("data-points") ?? 0) >= 5`,
              undefined,
              { timeout: 30_000 },
            );
            for (const id of ["plot-cwnd", "plot-rtt", "plot-rate", "plot-flight", "plot-rwnd"]) {
              const d = await page.locator(`#${id} path.series`).first().getAttribute("d");
              expect(d?.split("L").length ?? 0).toBeGreaterThan(2);
            }
            expect(await page.locator("#tsg path.seg").count()).toBeGreaterThan(10);
            expect(await page.locator("#tsg path.ack").count()).toBe(1);
            expect(await page.locator("#ladder g.ladder-segment").count()).toBeGreaterThanOrEqual(
              3,
            );
            const rules = await page.locator("#ladder g.ladder-state .rule").allTextContents();
            expect(rules.join(" ")).toContain("RFC 9293 §3.10.7.2");
            expect(await page.locator("#trace").textContent()).toContain(
              key.split(" ")[1]!.replace(":", "."),
            );
            mkdirSync(ARTIFACTS, { recursive: true });
            await page.screenshot({ path: join(ARTIFACTS, "inspector.png"), fullPage: true });

            // The idle echo connection: the page's row and /stats's row say the same.
            await page.locator(`#connections tr[data-key="${idle.key}"]`).click();
            await page.waitForFunction(
              `document.querySelector("#selected")?.textContent === ${JSON.stringify(idle.key)}`,
            );
            await Bun.sleep(600); // two updates
            const cells = await page.evaluate(
              `Object.fromEntries([...document.querySelectorAll('#connections tr[data-key="${idle.key}"] td')].map((td) => [td.dataset.field, td.textContent]))`,
            );
            const stats = JSON.parse(
              await inside(ns, `curl -sS --max-time 10 http://${STACK}/stats`),
            );
            const same = (stats.connections as Row[]).find(
              (r) => r.local === idle.local && r.remote === idle.remote,
            )!;
            expect(same).toBeDefined();
            const round = (ms: number) => String(Math.round(ms * 10) / 10);
            expect(cells).toMatchObject({
              state: same.state,
              local: same.local,
              remote: same.remote,
              recvQ: String(same.recvQ),
              sendQ: String(same.sendQ),
              srttMs: round(same.srttMs),
              rtoMs: round(same.rtoMs),
              cwndBytes: String(same.cwndBytes),
              retransmits: String(same.retransmits),
            });
            await page.screenshot({ path: join(ARTIFACTS, "inspector-echo.png"), fullPage: true });
          } finally {
            await browser.close();
            echo.kill();
            await host.stop();
          }
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  },
  () => commands("curl", "nc")() ?? chromiumMissing(),
);
