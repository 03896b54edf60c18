/**
 * Node's own node:net, as the third world: the behaviour suite (behaviour.test.ts) holds
 * Bun's node:net and ours to these event logs; here Node (run as a child process, over the
 * kernel's loopback) is held to the same ones, so all three agree.
 */
import { expect, test } from "bun:test";

test("Node's node:net gives the event logs the behaviour suite expects of Bun's and ours", async () => {
  const node = Bun.which("node");
  if (node === null) throw new Error("node is not installed (CI has it: it runs npm)");
  const child = Bun.spawn([node, `${import.meta.dir}/fixtures/node_reference.mjs`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, errors, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect({ exitCode, errors }).toEqual({ exitCode: 0, errors: "" });
  const report = JSON.parse(out);
  expect(report.eventOrder).toEqual([
    "connect",
    "ready",
    "data:hello",
    "end",
    "finish",
    "close:false",
  ]);
  expect(report.halfClose).toEqual(["data:question", "end", "finish", "close:false"]);
  expect(report.refused).toEqual(["error:ECONNREFUSED:connect", "close:true"]);
  expect(report.reset).toEqual(["error:ECONNRESET:read", "close:true"]);
}, 60_000);
