/**
 * docs/packet-journey.md and docs/loss-recovery.md name the code they walk through as
 * `path.ts:name`. This test keeps the documents honest: every such mention must point at a file that exists
 * and that declares `name` (a function, method, class, or constant).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

/** `stack/tcp/tcp.ts:input`, `device/tun.ts:Tun.read` (the last part is checked). */
const MENTION = /\b((?:[\w-]+\/)*[\w-]+\.ts):([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)/g;

export function mentions(markdown: string): { file: string; name: string }[] {
  return [...markdown.matchAll(MENTION)].map((m) => ({
    file: m[1]!,
    name: m[2]!.split(".").at(-1)!,
  }));
}

export function declares(source: string, name: string): boolean {
  const n = name.replace(/\$/g, "\\$");
  const patterns = [
    new RegExp(`\\b(?:function\\*?|class|interface|type|enum)\\s+${n}\\b`),
    new RegExp(`\\b(?:const|let|var)\\s+${n}\\b`),
    // A method or an object-literal method: `  async name(`, `  get name(`, `  name<T>(`.
    new RegExp(
      `^\\s*(?:(?:public|private|protected|static|async|readonly|override|get|set)\\s+)*${n}\\s*(?:<[^>\\n]*>)?\\(`,
      "m",
    ),
    // A property holding a function: `  name: (x) =>` or `  name = (x) =>`.
    new RegExp(
      `^\\s*(?:(?:private|protected|readonly)\\s+)*${n}\\s*[:=]\\s*(?:async\\s*)?\\(`,
      "m",
    ),
  ];
  return patterns.some((pattern) => pattern.test(source));
}

describe("the declaration finder", () => {
  test("finds functions, classes, methods and arrow properties; not mere calls", () => {
    const source =
      "export function drain() {}\nclass Tun {\n  async read(x) {}\n}\nconst kick = () => {};\n  onData: (p) => 1,\nfoo(bar());\n";
    for (const name of ["drain", "Tun", "read", "kick", "onData"])
      expect(declares(source, name)).toBe(true);
    expect(declares(source, "bar")).toBe(false);
    expect(declares("x.bar();\n", "bar")).toBe(false);
  });

  test("parses mentions", () => {
    expect(mentions("see `device/tun.ts:Tun.read` and stack/stack.ts:receive.")).toEqual([
      { file: "device/tun.ts", name: "read" },
      { file: "stack/stack.ts", name: "receive" },
    ]);
  });
});

/** The walks through the code, and how many places each must name at least. */
const WALKS = [
  { doc: "docs/packet-journey.md", atLeast: 20 },
  { doc: "docs/loss-recovery.md", atLeast: 20 },
];

for (const { doc, atLeast } of WALKS) {
  describe(doc, () => {
    const path = join(ROOT, doc);
    const markdown = existsSync(path) ? readFileSync(path, "utf8") : "";
    const found = mentions(markdown);

    test("exists and names many places in the code", () => {
      expect(found.length).toBeGreaterThanOrEqual(atLeast);
    });

    test.each(found.map((m) => [`${m.file}:${m.name}`, m]))("%s is declared there", (_, m) => {
      const file = join(ROOT, m.file);
      expect(existsSync(file)).toBe(true);
      expect(declares(readFileSync(file, "utf8"), m.name)).toBe(true);
    });
  });
}
