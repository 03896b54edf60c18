/**
 * `--inspect [ADDR:]PORT` on `bun run start`: loopback unless an address is given; absent,
 * no inspector (and so no recorder as the stack's trace: examples/host.ts).
 */
import { expect, test } from "bun:test";
import { parseHostArgs } from "../../examples/cli_args.ts";

function inspectOf(argv: string[]) {
  const parsed = parseHostArgs(argv);
  if (parsed.kind !== "run") throw new Error(parsed.kind === "error" ? parsed.message : "help");
  return parsed.args.inspect;
}

test("--inspect: a port on 127.0.0.1, or an address and port", () => {
  expect(inspectOf([])).toBeUndefined();
  expect(inspectOf(["--inspect", "8080"])).toEqual({ hostname: "127.0.0.1", port: 8080 });
  expect(inspectOf(["--inspect=0.0.0.0:9000"])).toEqual({ hostname: "0.0.0.0", port: 9000 });
  expect(inspectOf(["--inspect", "[::1]:9000"])).toEqual({ hostname: "::1", port: 9000 });
});

test("--inspect: a bad value is one sentence", () => {
  for (const bad of ["http", "70000", "1.2.3:80", "host:"]) {
    const parsed = parseHostArgs(["--inspect", bad]);
    expect(parsed.kind).toBe("error");
    if (parsed.kind === "error") expect(parsed.message).toStartWith(`--inspect ${bad} is not`);
  }
});
