/**
 * One table makes every state transition (stack/tcp/transitions.ts): no other file of
 * stack/tcp assigns a TCB's state, each row cites its rule, the trace prints it, and a
 * transition from a state its row does not list is a broken invariant.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { TcpState } from "../../../stack/tcp/connection.ts";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { TRANSITIONS, transition } from "../../../stack/tcp/transitions.ts";
import type { Trace } from "../../../stack/trace.ts";
import { arrive, IRS, ISS, seg, tcbInState } from "../../helpers/tcp_segments.ts";

const TCP_DIR = join(import.meta.dir, "../../../stack/tcp");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("the transition table", () => {
  test("no file but transitions.ts assigns a TCB's state", () => {
    const assigning = tsFiles(TCP_DIR)
      .filter((file) => !file.endsWith("/transitions.ts"))
      .filter((file) => /\btcb\.state\s*=[^=]/.test(readFileSync(file, "utf8")))
      .map((file) => relative(TCP_DIR, file));
    expect(assigning).toEqual([]);
  });

  test("every row cites an RFC (or Linux, where we follow it) and enters another state", () => {
    for (const [name, row] of Object.entries(TRANSITIONS)) {
      expect(`${name}: ${row.rule}`).toMatch(/: (RFC \d+ §[\d.]+|Linux )/);
      expect(row.from as readonly string[]).not.toContain(row.to);
    }
  });

  test("every way into TIME-WAIT is a FIN acknowledged or received (RFC 9293 §3.10.7.4)", () => {
    const into = Object.entries(TRANSITIONS)
      .filter(([, row]) => row.to === "TIME-WAIT")
      .map(([name]) => name)
      .sort();
    expect(into).toEqual(["finAckedInClosing", "finAfterFinAcked", "finInFinWait2"]);
  });

  test("a transition from a state its row does not list throws, naming both", () => {
    const h = tcbInState("ESTABLISHED");
    expect(() => transition(h.conn as Tcb, "finAcked")).toThrow(
      "transition finAcked (to FIN-WAIT-2) cannot start from ESTABLISHED",
    );
    expect(h.conn!.state).toBe("ESTABLISHED");
  });

  test("the trace gets the rule with each change", () => {
    const h = tcbInState("ESTABLISHED");
    const seen: string[] = [];
    const trace: Trace = {
      enabled: true,
      packet() {},
      drop() {},
      transition(_c: string, from: string, to: string, rule?: string) {
        seen.push(`${from} -> ${to} (${rule})`);
      },
    };
    (h.tcp.host as { trace: Trace }).trace = trace;
    arrive(h, seg({ flags: "FA", seq: IRS + 1, ack: ISS + 1 }));
    const to: TcpState = "CLOSE-WAIT";
    expect(seen).toEqual([`ESTABLISHED -> ${to} (${TRANSITIONS.finArrives.rule})`]);
  });
});
