/**
 * Whether this machine can run the tests that open a real TUN device, and `describe` /
 * `test` wrappers that act on the answer:
 *
 * - available: the tests run;
 * - unavailable and REQUIRE_TUN unset: they are skipped, and the reason is printed once;
 * - unavailable and REQUIRE_TUN=1 (CI): they fail, with the reason as the error.
 *
 * @example
 * describeTun("TUN device", () => {
 *   test("the kernel's ping arrives", async () => { ... });
 * });
 */
import { describe, test } from "bun:test";
import { accessSync, constants } from "node:fs";

/** Undefined when TUN tests can run here; otherwise the reason they cannot. */
export function tunUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "TUN tests need Linux";
  if (process.getuid?.() !== 0) return "TUN tests need root (run with sudo)";
  try {
    accessSync("/dev/net/tun", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/net/tun is missing (modprobe tun)";
  }
  if (Bun.which("ip") === null) return "the ip command (iproute2) is missing";
  return undefined;
}

export function tunAvailable(): boolean {
  return tunUnavailableReason() === undefined;
}

export function tunRequired(): boolean {
  const value = process.env.REQUIRE_TUN;
  return value !== undefined && value !== "" && value !== "0";
}

const announced = new Set<string>();

function announceSkip(what: string, reason: string): void {
  if (announced.has(what)) return;
  announced.add(what);
  console.warn(`skipping "${what}": ${reason} (set REQUIRE_TUN=1 to make this a failure)`);
}

/**
 * `describe` for a group of tests that need root and /dev/net/tun. `extra` names another
 * requirement (e.g. a command the tests run), checked the same way.
 */
export function describeTun(
  name: string,
  body: () => void,
  extra?: () => string | undefined,
): void {
  const reason = tunUnavailableReason() ?? extra?.();
  if (reason === undefined) {
    describe(name, body);
  } else if (tunRequired()) {
    describe(name, () => {
      test("the environment can run TUN tests", () => {
        throw new Error(`REQUIRE_TUN is set but ${reason}`);
      });
    });
  } else {
    announceSkip(name, reason);
    describe.skip(name, body);
  }
}

/** `test` for a single test that needs root and /dev/net/tun. */
export function testTun(name: string, body: () => Promise<void> | void, timeoutMs?: number): void {
  const reason = tunUnavailableReason();
  if (reason === undefined) {
    test(name, body, timeoutMs);
  } else if (tunRequired()) {
    test(name, () => {
      throw new Error(`REQUIRE_TUN is set but ${reason}`);
    });
  } else {
    announceSkip(name, reason);
    test.skip(name, body);
  }
}

/** An `extra` requirement for describeTun: the named commands are on PATH. */
export function commands(...names: string[]): () => string | undefined {
  return () => {
    const missing = names.filter((n) => Bun.which(n) === null);
    return missing.length === 0 ? undefined : `missing command(s): ${missing.join(", ")}`;
  };
}
