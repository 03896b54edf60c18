/**
 * The layering of stack/ holds: no file imports, at run time, a file that imports it back
 * (directly or round a longer loop). Type-only imports (`import type`, or a specifier
 * list whose every name is `type X`) vanish when TypeScript is erased and are allowed:
 * a module may name the TCB's type without running the module that builds it.
 *
 * A cycle makes the order the modules run in matter and hides which one decides; inside
 * stack/tcp/ the modules stack up as boxes (README, "Map of the source", draws
 * TCP_BOXES): a file imports only its own box or boxes below it. A failure names the
 * loop, e.g. `output.ts -> timers.ts -> output.ts`, or the import that goes upward.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "../..");

/** `import … from "x"` and `export … from "x"`, with what they name. */
const FROM = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']/gms;
/** `import "x"` for its effect only. */
const BARE = /^\s*import\s+["']([^"']+)["']/gm;

/** The relative modules `source` needs when it runs (type-only imports left out). */
export function runtimeImports(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(FROM)) {
    if (m[2] !== undefined) continue; // `import type { … }`, `export type { … }`
    if (onlyTypes(m[3]!)) continue;
    found.push(m[4]!);
  }
  for (const m of source.matchAll(BARE)) found.push(m[1]!);
  return found.filter((spec) => spec.startsWith("."));
}

/** `{ type A, type B }` (and nothing outside the braces): erased entirely. */
function onlyTypes(clause: string): boolean {
  const braces = clause.match(/^\{([^}]*)\}$/s);
  if (braces === null) return false; // a default or namespace import is a value
  const names = braces[1]!
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return names.length > 0 && names.every((name) => name.startsWith("type "));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The run-time import graph of the files under `dir`, keyed by path from the repo. */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(join(ROOT, dir))) {
    const targets = runtimeImports(readFileSync(file, "utf8")).map((spec) =>
      relative(ROOT, resolve(dirname(file), spec)),
    );
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

/** One cycle of `graph` as a path that ends where it starts, or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const at = onPath.indexOf(node);
    if (at >= 0) return [...onPath.slice(at), node];
    if (done.has(node) || !graph.has(node)) return undefined;
    onPath.push(node);
    for (const next of graph.get(node)!) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    onPath.pop();
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe("the import reader", () => {
  test("counts value imports and re-exports, not type-only ones", () => {
    const source = [
      'import { a, type B } from "./a.ts";',
      'import type { C } from "./c.ts";',
      'import { type D, type E } from "./d.ts";',
      'import * as f from "./f.ts";',
      'export { g } from "./g.ts";',
      'export type { H } from "./h.ts";',
      'import {\n  i,\n  j,\n} from "./ij.ts";',
      'import "./effect.ts";',
      'import { k } from "node:fs";',
    ].join("\n");
    expect(runtimeImports(source).sort()).toEqual(
      ["./a.ts", "./effect.ts", "./f.ts", "./g.ts", "./ij.ts"].sort(),
    );
  });

  test("finds a loop and names it", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(findCycle(graph)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
    expect(findCycle(new Map([["a.ts", ["b.ts"]]]))).toBeUndefined();
  });
});

describe("stack/", () => {
  test("has no import cycle at run time", () => {
    const graph = importGraph("stack");
    expect(graph.size).toBeGreaterThan(50); // it read the tree
    const cycle = findCycle(graph);
    expect(cycle === undefined ? "no cycle" : cycle.join(" -> ")).toBe("no cycle");
  });
});

/**
 * stack/tcp/ as a stack of boxes, top first. Each file is in one box (a new file must be
 * placed); the last box holds everything not named above it.
 */
const TCP_BOXES: readonly { box: string; files: readonly string[] }[] = [
  { box: "the layer", files: ["tcp.ts"] },
  {
    box: "events: segments, user calls, timeouts",
    files: [
      "listen.ts",
      "syn_sent.ts",
      "segment_arrives.ts",
      "ack.ts",
      "timeouts.ts",
      "tcb.ts",
      "listener.ts",
      "user_calls.ts",
    ],
  },
  {
    box: "deciding what to send",
    files: ["output.ts", "fast_recovery.ts", "rack/recovery.ts", "challenge_ack.ts"],
  },
  { box: "connection state", files: ["transitions.ts", "timers.ts", "paws.ts", "negotiate.ts"] },
  { box: "writing segments", files: ["transmit.ts", "stateless.ts", "rack/pto.ts"] },
  { box: "data and algorithms", files: [] },
];

function boxOf(file: string): number {
  const index = TCP_BOXES.findIndex(({ files }) => files.includes(file));
  return index >= 0 ? index : TCP_BOXES.length - 1;
}

describe("stack/tcp/", () => {
  test("is a stack of boxes: no file imports, at run time, a box above its own", () => {
    const graph = importGraph("stack/tcp");
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      const file = relative("stack/tcp", from);
      for (const target of targets) {
        const to = relative("stack/tcp", target);
        if (to.startsWith("..")) continue; // outside TCP: the stack's shared modules
        if (boxOf(to) < boxOf(file))
          upward.push(
            `${file} (${TCP_BOXES[boxOf(file)]!.box}) imports ${to} (${TCP_BOXES[boxOf(to)]!.box})`,
          );
      }
    }
    expect(upward).toEqual([]);
  });

  test("every file the boxes name exists", () => {
    const files = new Set(
      [...importGraph("stack/tcp").keys()].map((f) => relative("stack/tcp", f)),
    );
    for (const { files: named } of TCP_BOXES)
      for (const f of named) expect(files.has(f)).toBe(true);
  });
});
