/**
 * The NAT table: every flow the gateway carries, inner endpoint ↔ host socket, with
 * bytes each way and age. `/stats` lists it as JSON and SIGUSR1 prints it as a table.
 *
 *   proto  inner               destination          host socket          out      in  age
 *   tcp    10.0.2.100:40312    198.18.1.2:80        198.18.0.1:51544   1.2k   104.9M  3.1s
 */
import { formatIpv4 } from "../stack/address.ts";

export interface NatEntry {
  readonly protocol: "tcp" | "udp";
  readonly innerAddress: number;
  readonly innerPort: number;
  /** TCP: the destination; UDP (endpoint-independent): the first destination. */
  destination: number;
  destinationPort: number;
  /** The host socket's local endpoint once known, "" before. */
  hostSocket: string;
  /** Inner → outside and outside → inner, in payload bytes. */
  bytesOut: number;
  bytesIn: number;
  readonly createdAt: number;
  state: string;
}

export interface NatRow {
  protocol: string;
  inner: string;
  destination: string;
  hostSocket: string;
  bytesOut: number;
  bytesIn: number;
  ageMs: number;
  state: string;
}

export class NatTable {
  private readonly entries = new Set<NatEntry>();

  get size(): number {
    return this.entries.size;
  }

  add(entry: NatEntry): void {
    this.entries.add(entry);
  }

  remove(entry: NatEntry): void {
    this.entries.delete(entry);
  }

  count(protocol: "tcp" | "udp"): number {
    let n = 0;
    for (const entry of this.entries) if (entry.protocol === protocol) n++;
    return n;
  }

  rows(now: number): NatRow[] {
    return [...this.entries].map((e) => ({
      protocol: e.protocol,
      inner: `${formatIpv4(e.innerAddress)}:${e.innerPort}`,
      destination: `${formatIpv4(e.destination)}:${e.destinationPort}`,
      hostSocket: e.hostSocket,
      bytesOut: e.bytesOut,
      bytesIn: e.bytesIn,
      ageMs: Math.round(now - e.createdAt),
      state: e.state,
    }));
  }

  /** The table as text, for SIGUSR1. */
  format(now: number): string {
    const rows = this.rows(now);
    const lines = [`NAT table: ${rows.length} flows`];
    lines.push(
      `${"proto".padEnd(6)}${"inner".padEnd(22)}${"destination".padEnd(22)}${"host socket".padEnd(22)}${"out".padStart(9)}${"in".padStart(9)}${"age".padStart(8)}  state`,
    );
    for (const r of rows) {
      lines.push(
        `${r.protocol.padEnd(6)}${r.inner.padEnd(22)}${r.destination.padEnd(22)}${r.hostSocket.padEnd(22)}${bytes(r.bytesOut).padStart(9)}${bytes(r.bytesIn).padStart(9)}${`${(r.ageMs / 1000).toFixed(1)}s`.padStart(8)}  ${r.state}`,
      );
    }
    return `${lines.join("\n")}\n`;
  }
}

function bytes(n: number): string {
  if (n < 1000) return `${n}`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}
