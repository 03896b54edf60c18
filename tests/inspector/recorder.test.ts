/**
 * The live recorder on the deterministic captures' connections (inspector/graph/scenarios.ts):
 * it sees the stack's own state changes, each with its RFC 9293 rule, keeps segments and
 * trace lines in bounded rings, and formats trace lines only when asked, by connection.
 */
import { expect, test } from "bun:test";
import { captureScenario } from "../../inspector/graph/scenarios.ts";
import { InspectorRecorder } from "../../inspector/recorder.ts";
import type { StateChange } from "../../inspector/rules.ts";

const CLIENT = "10.0.0.1:40000 10.0.0.2:80";

async function record(
  name: "handshake" | "sack-repair",
  options: Partial<ConstructorParameters<typeof InspectorRecorder>[0]> = {},
) {
  let recorder: InspectorRecorder | undefined;
  await captureScenario(name, {
    trace: (clock) => (recorder = new InspectorRecorder({ clock, ...options })),
  });
  return recorder!;
}

test("the ladder has the stack's own state changes, each with its RFC 9293 rule", async () => {
  const recorder = await record("handshake");
  const history = recorder.get(CLIENT)!;
  expect(history).toBeDefined();
  const changes = history
    .ladder()
    .flatMap((item) => (item.kind === "state" ? [item.c] : [])) as StateChange[];
  expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
    "CLOSED>SYN-SENT",
    "SYN-SENT>ESTABLISHED",
    "ESTABLISHED>FIN-WAIT-1",
    "FIN-WAIT-1>FIN-WAIT-2",
    "FIN-WAIT-2>TIME-WAIT", // the capture ends inside 2 MSL
  ]);
  expect(changes.every((c) => !c.inferred && c.endpoint === "10.0.0.1:40000")).toBe(true);
  expect(changes[1]!.rule).toContain("RFC 9293 §3.10.7.3");
  expect(changes[4]!.rule).toContain("§3.10.7.4 eighth");
  // The SYN-SENT change comes before the SYN it sends; ESTABLISHED after the SYN,ACK.
  const order = history.ladder().map((i) => (i.kind === "state" ? i.c.to : `[${i.s.flags}]`));
  expect(order.slice(0, 4)).toEqual(["SYN-SENT", "[2]", "[18]", "ESTABLISHED"]);
});

test("segments and trace lines are kept in bounded rings; lines filter by connection", async () => {
  const recorder = await record("sack-repair", { limits: { segments: 10 }, traceLines: 16 });
  const history = recorder.get(CLIENT)!;
  expect(history.segments.total).toBeGreaterThan(70);
  const kept = history.segments.since(0);
  expect(kept).toHaveLength(10);
  expect(kept.at(-1)!.timeMs).toBeGreaterThanOrEqual(kept[0]!.timeMs);
  const lines = recorder.lines.since(0, 100);
  expect(lines).toHaveLength(16);
  expect(lines.at(-1)!.n).toBe(recorder.lines.total - 1);
  expect(recorder.lines.since(0, 100, CLIENT).every((l) => l.key === CLIENT)).toBe(true);
  expect(recorder.lines.since(0, 100, "1.2.3.4:1 5.6.7.8:2")).toEqual([]);
  // A packet line is what --trace prints for it (stack/trace_format.ts), with the time.
  expect(
    lines.some((l) => / (in |out) 10\.0\.0\.\d\.\d+ > 10\.0\.0\.\d\.\d+: Flags \[/.test(l.text)),
  ).toBe(true);
});
