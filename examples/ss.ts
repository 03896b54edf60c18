/**
 * An `ss`-like view of the stack: one row per TCP connection (five-tuple, state, queues,
 * RTT estimate, congestion window, retransmissions), plus the named counters of
 * `stats.ts`. The host prints it on SIGUSR1; the HTTP server serves it at `/stats`.
 *
 *   State        Recv-Q Send-Q Local Address:Port   Peer Address:Port    rtt/rto      cwnd  retrans
 *   ESTABLISHED       0      0 10.0.0.2:80          10.0.0.1:53422       0.4/201      14480       0
 *   ESTABLISHED       0      0 [fd00::2]:80         [fd00::1]:53424      0.4/201      14400       0
 */
import { formatEndpoint } from "../stack/network.ts";
import type { Stack } from "../stack/stack.ts";

export interface ConnectionRow {
  readonly protocol: "tcp" | "udp";
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  /** Bytes received and not yet read by the application. */
  readonly recvQ: number;
  /** Bytes queued to send and not yet acknowledged. */
  readonly sendQ: number;
  readonly srttMs: number;
  readonly rtoMs: number;
  readonly cwndBytes: number;
  readonly retransmits: number;
}

/** The rows for every connection TCP knows, at time `now`. */
export function connectionRows(stack: Stack, now: number): ConnectionRow[] {
  const rows: ConnectionRow[] = [];
  for (const connection of stack.tcp.connections()) {
    const info = connection.info(now);
    rows.push({
      protocol: "tcp",
      local: formatEndpoint(connection.localAddress, connection.localPort),
      remote: formatEndpoint(connection.remoteAddress, connection.remotePort),
      state: connection.state,
      recvQ: connection.readableBytes,
      sendQ: Math.max(0, connection.options.sendBufferBytes - connection.writableBytes),
      srttMs: info.srttMs,
      rtoMs: info.rtoMs,
      cwndBytes: info.cwndBytes,
      retransmits: info.retransmits,
    });
  }
  return rows;
}

/**
 * Rows for sockets that wait rather than connect: TCP listeners (LISTEN) and bound UDP
 * sockets (UNCONN, as ss calls them), given by whoever opened them.
 */
export function listeningRows(
  sockets: readonly { protocol: string; port: number; address?: string }[],
): ConnectionRow[] {
  return sockets.map((socket) => ({
    protocol: socket.protocol === "udp" ? "udp" : "tcp",
    // IPv6 addresses in brackets, as ss prints them ("[::]:80", RFC 5952 §6).
    local: socket.address?.includes(":")
      ? `[${socket.address}]:${socket.port}`
      : `${socket.address ?? "0.0.0.0"}:${socket.port}`,
    remote: socket.address?.includes(":") ? "[::]:*" : "0.0.0.0:*",
    state: socket.protocol === "udp" ? "UNCONN" : "LISTEN",
    recvQ: 0,
    sendQ: 0,
    srttMs: Number.NaN,
    rtoMs: Number.NaN,
    cwndBytes: 0,
    retransmits: 0,
  }));
}

/** The rows as an aligned text table, like `ss -tuni`. */
export function formatConnectionTable(rows: readonly ConnectionRow[]): string {
  const header = [
    "Proto",
    "State",
    "Recv-Q",
    "Send-Q",
    "Local Address:Port",
    "Peer Address:Port",
    "rtt/rto",
    "cwnd",
    "retrans",
  ];
  const lines = rows.map((row) => [
    row.protocol,
    row.state,
    String(row.recvQ),
    String(row.sendQ),
    row.local,
    row.remote,
    `${round(row.srttMs)}/${round(row.rtoMs)}`,
    String(row.cwndBytes),
    String(row.retransmits),
  ]);
  const table = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...table.map((cells) => cells[i]!.length)));
  const numeric = new Set([2, 3, 7, 8]);
  return table
    .map((cells) =>
      cells
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Counters as "name value" lines, name-sorted (zero counters are never stored). */
export function formatCounters(snapshot: Record<string, number>): string {
  const names = Object.keys(snapshot);
  const width = Math.max(0, ...names.map((name) => name.length));
  return names.map((name) => `${name.padEnd(width)}  ${snapshot[name]}`).join("\n");
}

/** The whole view: listening sockets and connections, then counters. */
export function formatSs(
  stack: Stack,
  now: number,
  listening: readonly { protocol: string; port: number }[] = [],
): string {
  const rows = [...listeningRows(listening), ...connectionRows(stack, now)];
  return `${formatConnectionTable(rows)}\n\n${formatCounters(stack.stats.snapshot())}\n`;
}

function round(ms: number): string {
  return Number.isFinite(ms) ? String(Math.round(ms * 10) / 10) : "-";
}
