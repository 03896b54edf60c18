/**
 * Keeps docs/rfc9293-requirements.md true: one row per RFC 9293 requirement (Appendix B,
 * Table 8), every MUST met or a stated deviation, every `yes` backed by test files that
 * name the ID, every code reference naming a function, method or class that exists.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";

const ROOT = `${import.meta.dir}/../..`;
const DOC = readFileSync(`${ROOT}/docs/rfc9293-requirements.md`, "utf8");

/** Table 8's IDs: MUST-1..69, SHLD-1..31, MAY-1..18 and REC-1 (window sizes in 32 bits). */
const IDS = [
  ...Array.from({ length: 69 }, (_, i) => `MUST-${i + 1}`),
  ...Array.from({ length: 31 }, (_, i) => `SHLD-${i + 1}`),
  ...Array.from({ length: 18 }, (_, i) => `MAY-${i + 1}`),
  "REC-1",
];
const STATUSES = new Set(["yes", "deviation", "no"]);

interface Row {
  id: string;
  status: string;
  requirement: string;
  code: string;
  tests: string[];
  notes: string;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const line of DOC.split("\n")) {
    const match = /^\| ((?:MUST|SHLD|MAY|REC)-\d+) \|/.exec(line);
    if (match === null) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    expect(cells.length).toBe(6);
    const [id, status, requirement, code, tests, notes] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const files = [...tests.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    out.push({ id, status, requirement, code, tests: files, notes });
  }
  return out;
}

const ROWS = rows();

/** `path` `name` `name`; `path` `name` ... → [path, name] pairs. */
function codeReferences(code: string): [string, string][] {
  const refs: [string, string][] = [];
  for (const part of code.split(";")) {
    const names = [...part.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const [path, ...functions] = names;
    if (path === undefined) continue;
    expect(functions.length).toBeGreaterThan(0);
    for (const name of functions) refs.push([path, name]);
  }
  return refs;
}

/** A declaration of `name` in TypeScript source: function, class, method, getter, const. */
function declares(source: string, name: string): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `(function\\s+${n}\\b|class\\s+${n}\\b|const\\s+${n}\\b|^\\s*(?:(?:private|readonly|static|async|get|set)\\s+)*${n}\\s*[(<])`,
    "m",
  ).test(source);
}

describe("docs/rfc9293-requirements.md", () => {
  test("every requirement of Table 8 appears exactly once", () => {
    const ids = ROWS.map((r) => r.id);
    expect([...ids].sort()).toEqual([...IDS].sort());
  });

  test("statuses are yes, deviation or no; every MUST is yes or deviation", () => {
    for (const row of ROWS) {
      expect(STATUSES.has(row.status)).toBe(true);
      if (row.id.startsWith("MUST-")) expect([row.id, row.status]).not.toEqual([row.id, "no"]);
    }
  });

  test("a deviation or a no says what instead, and why", () => {
    for (const row of ROWS) {
      if (row.status !== "yes") expect([row.id, row.notes.length > 20]).toEqual([row.id, true]);
    }
  });

  test("every yes row names test files that exist and name its ID", () => {
    for (const row of ROWS.filter((r) => r.status === "yes")) {
      expect([row.id, row.tests.length > 0]).toEqual([row.id, true]);
      for (const file of row.tests) {
        expect([row.id, file, existsSync(`${ROOT}/${file}`)]).toEqual([row.id, file, true]);
        const source = readFileSync(`${ROOT}/${file}`, "utf8");
        const named = new RegExp(`\\b${row.id}\\b`).test(source);
        expect([row.id, file, named]).toEqual([row.id, file, true]);
      }
    }
  });

  test("every test file named in any row names that row's ID", () => {
    for (const row of ROWS) {
      for (const file of row.tests) {
        const source = existsSync(`${ROOT}/${file}`) ? readFileSync(`${ROOT}/${file}`, "utf8") : "";
        expect([row.id, file, new RegExp(`\\b${row.id}\\b`).test(source)]).toEqual([
          row.id,
          file,
          true,
        ]);
      }
    }
  });

  test("every code reference names a function, method or class that exists in that file", () => {
    let checked = 0;
    for (const row of ROWS) {
      if (row.status === "yes") expect([row.id, row.code.length > 0]).toEqual([row.id, true]);
      for (const [path, name] of codeReferences(row.code)) {
        expect([row.id, path, existsSync(`${ROOT}/${path}`)]).toEqual([row.id, path, true]);
        const source = readFileSync(`${ROOT}/${path}`, "utf8");
        expect([row.id, path, name, declares(source, name)]).toEqual([row.id, path, name, true]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  test("the README and docs/README.md link here", () => {
    for (const readme of ["README.md", "docs/README.md"]) {
      expect(readFileSync(`${ROOT}/${readme}`, "utf8")).toContain("rfc9293-requirements.md");
    }
  });
});
