/**
 * The page (inspector/page/page.ts) runs in the browser, so it is type-checked with the
 * DOM's types in its own tsconfig; the root `tsc --noEmit` leaves it out (the DOM's globals
 * would clash with Bun's). This runs that check, and Bun's bundling of it, as a test.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

test("the page type-checks against the DOM and bundles for the browser", async () => {
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  const run = Bun.spawnSync([tsc, "--noEmit", "-p", join(ROOT, "inspector", "page")]);
  expect(run.stdout.toString() + run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  const built = await Bun.build({
    entrypoints: [join(ROOT, "inspector", "page", "page.ts")],
    target: "browser",
  });
  expect(built.success).toBe(true);
  expect(await built.outputs[0]!.text()).toContain("EventSource");
}, 120_000);
