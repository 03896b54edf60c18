/**
 * The offline graph tool on fixed captures of our stack (tests/fixtures/*.pcap, made by
 * inspector/graph/make_pictures.ts): the time-sequence graph has one bar per data segment
 * of the capture, in capture order, with exactly the retransmissions marked; SACK blocks,
 * zero-window periods and the ladder's arrows and rules are where the scenario put them.
 * The capture is read here a second time by a few lines of its own (and by tshark when it
 * is installed), not by the tool's reader, so the two can disagree.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drawConnection, main } from "../../inspector/graph/cli.ts";
import { connectionsOf } from "../../inspector/graph/connections.ts";
import { readPcap } from "../../inspector/graph/pcap_reader.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures");
const SENDER = "10.0.0.1";

interface Bar {
  seq: number;
  len: number;
  retransmit: boolean;
}

/** The data segments 10.0.0.1 sent, straight from the file: 24-byte header, 16 per record. */
function dataSegmentsOf(file: string): Bar[] {
  const bytes = readFileSync(join(FIXTURES, file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Bar[] = [];
  let isn: number | undefined;
  let highest = 0;
  for (let at = 24; at + 16 <= bytes.length; ) {
    const length = view.getUint32(at + 8, true);
    const ip = at + 16;
    at = ip + length;
    const source = [12, 13, 14, 15].map((i) => bytes[ip + i]).join(".");
    if (source !== SENDER) continue;
    const ihl = (bytes[ip]! & 15) * 4;
    const total = view.getUint16(ip + 2);
    const tcp = ip + ihl;
    const seq = view.getUint32(tcp + 4);
    const len = total - ihl - (bytes[tcp + 12]! >> 4) * 4;
    if (bytes[tcp + 13]! & 2) isn = seq;
    if (len === 0) continue;
    const rel = (seq - (isn! + 1)) >>> 0;
    out.push({ seq: rel, len, retransmit: rel < highest });
    highest = Math.max(highest, rel + len);
  }
  return out;
}

/** What the SVG drew: each `path.seg` in document order. */
function barsOf(svg: string): Bar[] {
  return [
    ...svg.matchAll(/<path class="seg( rexmit)?"[^>]*data-seq="(-?\d+)" data-len="(\d+)"/g),
  ].map((m) => ({ seq: Number(m[2]), len: Number(m[3]), retransmit: m[1] !== undefined }));
}

function draw(file: string) {
  const [connection] = connectionsOf(readPcap(readFileSync(join(FIXTURES, file))));
  expect(connection).toBeDefined();
  return { connection: connection!, ...drawConnection(connection!) };
}

describe("bun run graph on fixed captures", () => {
  for (const file of ["handshake.pcap", "sack-repair.pcap", "tail-loss.pcap", "zero-window.pcap"]) {
    test(`${file}: one bar per data segment, in order, retransmissions marked`, () => {
      const expected = dataSegmentsOf(file);
      expect(expected.length).toBeGreaterThan(0);
      expect(barsOf(draw(file).tsg)).toEqual(expected);
    });
  }

  test("sack-repair: the one lost segment is retransmitted once, after ACKs carrying SACK", () => {
    const { tsg } = draw("sack-repair.pcap");
    const bars = barsOf(tsg);
    const rexmits = bars.filter((b) => b.retransmit);
    // The 8th data segment was lost on the wire (inspector/graph/scenarios.ts).
    expect(rexmits).toEqual([{ seq: 7 * 1448, len: 1448, retransmit: true }]);
    const sack = [...tsg.matchAll(/<line class="sack"[^>]*data-left="(\d+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(sack.length).toBeGreaterThanOrEqual(3);
    expect(new Set(sack)).toEqual(new Set([8 * 1448])); // everything above the hole
    expect(tsg).not.toContain('class="zerowin"');
  });

  test("tail-loss: the probe resends the last segment, and nothing else is resent", () => {
    const bars = barsOf(draw("tail-loss.pcap").tsg);
    const rexmits = bars.filter((b) => b.retransmit);
    const last = bars.filter((b) => !b.retransmit).at(-1)!;
    expect(rexmits).toEqual([{ ...last, retransmit: true }]);
  });

  test("zero-window: the receiver's window closes and the period is shaded", () => {
    const { tsg } = draw("zero-window.pcap");
    expect(tsg.match(/class="zerowin"/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(barsOf(tsg).some((b) => b.retransmit)).toBe(false);
  });

  test("handshake: the ladder has the three-way handshake and both FINs, each change with its rule", () => {
    const { ladder } = draw("handshake.pcap");
    const arrows = [...ladder.matchAll(/class="ladder-segment" data-flags="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(arrows.slice(0, 3)).toEqual(["S", "S.", "."]);
    expect(arrows.filter((f) => f!.includes("F"))).toHaveLength(2);
    const states = [
      ...ladder.matchAll(/class="ladder-state" data-endpoint="([^"]+)" data-to="([^"]+)"/g),
    ].map((m) => `${m[1]} ${m[2]}`);
    expect(states).toEqual(
      expect.arrayContaining([
        "10.0.0.1:40000 SYN-SENT",
        "10.0.0.2:80 SYN-RECEIVED",
        "10.0.0.1:40000 ESTABLISHED",
        "10.0.0.2:80 ESTABLISHED",
        "10.0.0.1:40000 FIN-WAIT-1",
        "10.0.0.2:80 CLOSE-WAIT",
        "10.0.0.2:80 LAST-ACK",
        "10.0.0.1:40000 TIME-WAIT",
        "10.0.0.2:80 CLOSED",
      ]),
    );
    expect(ladder).toContain("RFC 9293 §3.10.7.2 third: a SYN in LISTEN");
  });

  test("tshark reads the same retransmissions (skipped without tshark)", async () => {
    if (Bun.which("tshark") === null) {
      console.warn("skipping the tshark cross-check: tshark is not installed");
      return;
    }
    for (const file of ["sack-repair.pcap", "tail-loss.pcap"]) {
      const run = Bun.spawnSync([
        "tshark",
        "-r",
        join(FIXTURES, file),
        "-Y",
        "ip.src==10.0.0.1 && tcp.len>0",
        "-T",
        "fields",
        "-e",
        "tcp.seq",
        "-e",
        "tcp.analysis.retransmission",
        "-e",
        "tcp.analysis.out_of_order",
      ]);
      const rows = run.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.split("\t"));
      const bars = barsOf(draw(file).tsg);
      expect(bars.map((b) => b.seq + 1)).toEqual(rows.map((r) => Number(r[0])));
      // Wireshark calls a resend that comes soon after the original "out-of-order".
      expect(bars.map((b) => b.retransmit)).toEqual(
        rows.map((r) => Boolean(r[1]) || Boolean(r[2])),
      );
    }
  });

  test("the command writes both pictures per connection; a bad file gets a sentence", () => {
    const out = mkdtempSync(join(tmpdir(), "tstcp-graph-"));
    try {
      expect(main([join(FIXTURES, "handshake.pcap"), "--out", out])).toBe(0);
      expect(readdirSync(out).sort()).toEqual(["handshake-c1-ladder.svg", "handshake-c1-tsg.svg"]);
      expect(main([join(FIXTURES, "handshake.pcap"), "--connection", "0"])).toBe(2);
      expect(main([join(import.meta.dir, "graph.test.ts"), "--out", out])).toBe(1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
