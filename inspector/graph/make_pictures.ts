/**
 * `bun inspector/graph/make_pictures.ts`: makes the captures of `scenarios.ts` again,
 * writes them to tests/fixtures/ (the graph tool's test reads them) and draws their
 * pictures into docs/pictures/ (docs/seeing-tcp.md shows them).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { drawConnection } from "./cli.ts";
import { connectionsOf } from "./connections.ts";
import { readPcap } from "./pcap_reader.ts";
import { captureScenario, SCENARIOS } from "./scenarios.ts";

const root = join(import.meta.dir, "..", "..");
const fixtures = join(root, "tests", "fixtures");
const pictures = join(root, "docs", "pictures");
mkdirSync(fixtures, { recursive: true });
mkdirSync(pictures, { recursive: true });
for (const name of SCENARIOS) {
  const pcap = await captureScenario(name);
  writeFileSync(join(fixtures, `${name}.pcap`), pcap);
  const [connection] = connectionsOf(readPcap(pcap));
  if (connection === undefined) throw new Error(`${name}: the capture has no connection`);
  const { tsg, ladder } = drawConnection(connection);
  writeFileSync(join(pictures, `${name}-tsg.svg`), tsg);
  writeFileSync(join(pictures, `${name}-ladder.svg`), ladder);
  console.log(`${name}: ${pcap.length} bytes, ${connection.segments.length} segments`);
}
