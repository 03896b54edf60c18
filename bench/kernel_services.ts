/**
 * The reference: the same services as `bun run start`, served by the Linux kernel's
 * TCP/IP through Bun's sockets. `bun run bench` runs it in namespace K so the kernel
 * clients in R measure "the same services on the kernel's stack".
 *
 *   TCP echo 7 (RFC 862), discard 9 (RFC 863), chargen 19 (RFC 864), UDP echo 7,
 *   HTTP/1.1 on 80: `GET /bytes/N` answers exactly N bytes (the chargen stream's first N)
 *   with Content-Length, keep-alive unless `Connection: close` (or HTTP/1.0).
 *
 * Usage: bun bench/kernel_services.ts [--address 10.1.0.2]
 * Prints "kernel services up on ADDRESS" once every port listens.
 */
import { createSocket } from "node:dgram";
import type { Socket } from "bun";
import { CHARGEN_PERIOD_BYTES, chargenBuffer } from "./patterns.ts";

const CHUNK_BYTES = 64 * 1024;
const CHARGEN = chargenBuffer(CHUNK_BYTES + CHARGEN_PERIOD_BYTES);
const MAX_HEAD_BYTES = 16 * 1024;
const SMALL_BODY_BYTES = 16 * 1024;

/** What a connection still owes its peer; `pump` writes it as far as the socket takes. */
interface Outgoing {
  /** Bytes to write first (echoed data, a response head). */
  queue: Uint8Array[];
  /** Body bytes still to come from the pattern buffer (Infinity for chargen). */
  bodyRemaining: number;
  bodySent: number;
  pattern: Uint8Array;
  period: number;
  closeWhenDone: boolean;
  /** HTTP only: request bytes not yet parsed (latin1). */
  pendingRequest: string;
  http: boolean;
}

type Conn = Socket<Outgoing>;

function outgoing(http: boolean): Outgoing {
  return {
    queue: [],
    bodyRemaining: 0,
    bodySent: 0,
    pattern: CHARGEN,
    period: CHARGEN_PERIOD_BYTES,
    closeWhenDone: false,
    pendingRequest: "",
    http,
  };
}

/** Writes queued bytes, then body bytes, until the socket stops taking them. */
function pump(socket: Conn): void {
  const out = socket.data;
  for (;;) {
    const head = out.queue[0];
    if (head !== undefined) {
      const written = socket.write(head);
      if (written < 0) return;
      if (written < head.length) {
        out.queue[0] = head.subarray(written);
        return;
      }
      out.queue.shift();
      continue;
    }
    if (out.bodyRemaining > 0) {
      const offset = out.bodySent % out.period;
      const length = Math.min(out.bodyRemaining, CHUNK_BYTES);
      const written = socket.write(out.pattern.subarray(offset, offset + length));
      if (written <= 0) return;
      out.bodySent += written;
      out.bodyRemaining -= written;
      if (written < length) return;
      continue;
    }
    if (out.closeWhenDone) {
      socket.end();
      return;
    }
    if (!out.http || !startNextResponse(socket)) return;
  }
}

/** Parses one buffered request and queues its response; false if none is complete. */
function startNextResponse(socket: Conn): boolean {
  const out = socket.data;
  const end = out.pendingRequest.indexOf("\r\n\r\n");
  if (end < 0) {
    if (out.pendingRequest.length > MAX_HEAD_BYTES) respond(socket, 431, "", true);
    return out.pendingRequest.length > MAX_HEAD_BYTES;
  }
  const head = out.pendingRequest.slice(0, end);
  out.pendingRequest = out.pendingRequest.slice(end + 4);
  const [requestLine = "", ...fields] = head.split("\r\n");
  const [method, target = "", version] = requestLine.split(" ");
  const connection = fields
    .filter((field) => field.toLowerCase().startsWith("connection:"))
    .map((field) => field.slice(11).trim().toLowerCase())
    .join(",");
  const close =
    connection.includes("close") || (version === "HTTP/1.0" && !connection.includes("keep-alive"));
  const match = /^\/bytes\/(\d{1,15})$/.exec(target);
  if (method !== "GET" && method !== "HEAD") respond(socket, 405, "", close);
  else if (match !== null) respond(socket, 200, "", close, Number(match[1]), method === "HEAD");
  else if (target === "/") respond(socket, 200, "kernel reference services\n", close);
  else respond(socket, 404, "not found\n", close);
  return true;
}

/** Response heads already encoded, by status, length and connection handling. */
const heads = new Map<string, Uint8Array>();

function respond(
  socket: Conn,
  status: number,
  text: string,
  close: boolean,
  patternBytes = 0,
  headOnly = false,
): void {
  const out = socket.data;
  const length = patternBytes > 0 ? patternBytes : text.length;
  const reason = { 200: "OK", 404: "Not Found", 405: "Method Not Allowed" }[status] ?? "Error";
  const key = `${status} ${length} ${close} ${headOnly} ${text}`;
  let bytes = heads.get(key);
  if (bytes === undefined) {
    const head =
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${length}\r\n` +
      `Content-Type: ${patternBytes > 0 ? "application/octet-stream" : "text/plain"}\r\n` +
      (close ? "Connection: close\r\n" : "") +
      "\r\n";
    bytes = Buffer.from(headOnly ? head : head + text, "latin1");
    // A small body goes out with its head in one write (one segment, as a good server does).
    if (!headOnly && patternBytes > 0 && patternBytes <= SMALL_BODY_BYTES) {
      const whole = new Uint8Array(bytes.length + patternBytes);
      whole.set(bytes);
      whole.set(CHARGEN.subarray(0, patternBytes), bytes.length);
      bytes = whole;
    }
    if (heads.size < 1000) heads.set(key, bytes);
  }
  out.queue.push(bytes);
  if (!headOnly && patternBytes > SMALL_BODY_BYTES) {
    out.bodyRemaining = patternBytes;
    out.bodySent = 0;
  }
  out.closeWhenDone = close;
}

function listen(
  hostname: string,
  port: number,
  handlers: { open?: (s: Conn) => void; data?: (s: Conn, d: Uint8Array) => void },
  http = false,
): void {
  Bun.listen<Outgoing>({
    hostname,
    port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = outgoing(http);
        handlers.open?.(socket);
      },
      data(socket, data) {
        handlers.data?.(socket, data);
      },
      drain: pump,
      // The peer's FIN: discard and echo have nothing more to say (RFC 862, 863).
      end(socket) {
        if (socket.data.bodyRemaining === Infinity) socket.end();
        else socket.data.closeWhenDone = true;
        pump(socket);
      },
      error() {},
    },
  });
}

function main(): void {
  const at = process.argv.indexOf("--address");
  const hostname = at >= 0 ? (process.argv[at + 1] ?? "0.0.0.0") : "0.0.0.0";
  listen(hostname, 7, {
    data(socket, data) {
      socket.data.queue.push(new Uint8Array(data));
      pump(socket);
    },
  });
  listen(hostname, 9, {});
  listen(hostname, 19, {
    open(socket) {
      const out = socket.data;
      out.pattern = CHARGEN;
      out.period = CHARGEN_PERIOD_BYTES;
      out.bodyRemaining = Infinity;
      pump(socket);
    },
  });
  listen(
    hostname,
    80,
    {
      data(socket, data) {
        socket.data.pendingRequest += Buffer.from(data).toString("latin1");
        if (socket.data.bodyRemaining === 0 && socket.data.queue.length === 0) pump(socket);
      },
    },
    true,
  );
  const udp = createSocket("udp4");
  udp.on("message", (message, remote) => udp.send(message, remote.port, remote.address));
  udp.bind(7, hostname, () => console.log(`kernel services up on ${hostname}`));
}

main();
