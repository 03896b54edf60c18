/**
 * `bun run graph -- capture.pcap [--out DIR] [--connection N] [--sender ADDR:PORT]`:
 * for each TCP connection in a capture (ours or anyone's), writes its time-sequence
 * graph and its ladder diagram as SVG files, as tcptrace + xplot did:
 *
 *   capture-c1-tsg.svg      sequence against time, ACK and window lines, retransmissions
 *   capture-c1-ladder.svg   handshake and close, with the RFC 9293 rule of each state change
 *
 * Exit codes: 0 written, 1 unreadable file, 2 bad arguments.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { inferTransitions } from "../rules.ts";
import { type CapturedConnection, connectionsOf, mainSender } from "./connections.ts";
import { ladderDiagram, ladderItems } from "./ladder.ts";
import { PcapFormatError, readPcap } from "./pcap_reader.ts";
import { timeSequenceGraph } from "./time_sequence.ts";

interface GraphArgs {
  file: string;
  out: string;
  connection: number | undefined;
  sender: string | undefined;
}

const USAGE = `Usage: bun run graph -- capture.pcap [--out DIR] [--connection N] [--sender ADDR:PORT]

Writes the time-sequence graph and the ladder diagram of each TCP connection in the
capture as SVG files (DIR defaults to the capture's folder).`;

export function parseGraphArgs(argv: readonly string[]): GraphArgs | string {
  const args: Partial<GraphArgs> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const value = argv[i + 1];
    if (word === "--help" || word === "-h") return USAGE;
    if (word === "--out" || word === "--connection" || word === "--sender") {
      if (value === undefined) return `${word} needs a value.`;
      i++;
      if (word === "--out") args.out = value;
      else if (word === "--sender") args.sender = value;
      else {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          return `--connection ${value} is not a connection number (1, 2, ...).`;
        args.connection = n;
      }
    } else if (word.startsWith("--")) return `Unknown option ${word}: see --help.`;
    else if (args.file === undefined) args.file = word;
    else return `One capture at a time: ${word} is one too many.`;
  }
  if (args.file === undefined) return USAGE;
  return {
    file: args.file,
    out: args.out ?? join(args.file, ".."),
    connection: args.connection,
    sender: args.sender,
  };
}

/** Both pictures of one connection, as SVG text. */
export function drawConnection(
  c: CapturedConnection,
  sender?: string,
): { tsg: string; ladder: string } {
  const from = sender ?? mainSender(c);
  const tsg = timeSequenceGraph(c.segments, { sender: from }).svg;
  const ladder = ladderDiagram(ladderItems(c.segments, inferTransitions(c.segments)), {
    left: c.client,
    right: c.server,
    title: `Connection ${c.index}: ${c.client} → ${c.server}`,
  }).svg;
  return { tsg, ladder };
}

export function main(argv: readonly string[]): number {
  const args = parseGraphArgs(argv);
  if (typeof args === "string") {
    console.log(args);
    return args === USAGE ? 0 : 2;
  }
  let connections: CapturedConnection[];
  try {
    connections = connectionsOf(readPcap(readFileSync(args.file)));
  } catch (error) {
    if (error instanceof PcapFormatError || (error as NodeJS.ErrnoException).code !== undefined) {
      console.error(`Cannot read ${args.file}: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
  const chosen = connections.filter(
    (c) => args.connection === undefined || c.index === args.connection,
  );
  if (chosen.length === 0) {
    console.error(
      `${args.file}: no TCP connection${args.connection === undefined ? "" : ` number ${args.connection}`} in the capture.`,
    );
    return 1;
  }
  const stem = basename(args.file).replace(/\.pcap$/, "");
  for (const c of chosen) {
    const { tsg, ladder } = drawConnection(c, args.sender);
    const base = join(args.out, `${stem}-c${c.index}`);
    writeFileSync(`${base}-tsg.svg`, tsg);
    writeFileSync(`${base}-ladder.svg`, ladder);
    console.log(
      `connection ${c.index}: ${c.client} → ${c.server}, ${c.segments.length} segments: ${base}-tsg.svg, ${base}-ladder.svg`,
    );
  }
  return 0;
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
