/**
 * An HTTP/1.1 server (RFC 9110, RFC 9112) written on the BSD-style socket API, one async
 * task per connection. Read `handleConnection` first: receive bytes, feed the parser,
 * answer each complete request, and repeat while the connection persists.
 *
 * Connections (RFC 9112 §9): HTTP/1.1 persists unless "Connection: close"; HTTP/1.0
 * closes unless "Connection: keep-alive". A malformed request gets its error status and
 * the connection closes (§9.6 after an error we cannot resynchronise). Two timers, on
 * the host's clock, stop a slow or silent client from holding a connection forever:
 *  - header timeout: a request head that has started must be complete within 10 s, and
 *    its body must not pause for longer than that (408);
 *  - idle timeout: a persistent connection with no request for 30 s is closed (§9.8).
 * A client that sends "Expect: 100-continue" gets its 100 (Continue) as soon as the head
 * is in (RFC 9110 §10.1.1), instead of waiting a second for it (curl does) before sending
 * the body.
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import type { Stack } from "../../stack/stack.ts";
import { type RunningService, serveStream } from "../services/service.ts";
import { expectsContinue, type HttpRequest, keepsAlive, RequestParser } from "./parser.ts";
import { type Reply, type RouteContext, route, textReply } from "./routes.ts";

export const HTTP_PORT = 80;

export interface HttpServerOptions {
  api: SocketApi;
  stack: Stack;
  clock: Clock;
  port?: number;
  address?: string;
  headerTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** The services shown on the home page. */
  services?: () => RouteContext["services"];
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/** Replies up to this size go out in one send together with the head. */
const SMALL_BODY_BYTES = 16 * 1024;
/** How long to keep reading after our last reply on a closing connection. */
const LINGER_MS = 2000;
const encoder = new TextEncoder();
/** RFC 9110 §15.2.1: the interim reply that tells the client to send its body. */
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

export function startHttpServer(options: HttpServerOptions): RunningService {
  const { api, clock } = options;
  return serveStream(
    api,
    clock,
    { name: "http", port: options.port ?? HTTP_PORT, address: options.address },
    (fd) => handleConnection(fd, options),
  );
}

/** One connection: requests in, replies out, until close, error or timeout. */
async function handleConnection(fd: number, options: HttpServerOptions): Promise<void> {
  const { api, clock } = options;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const parser = new RequestParser();
  let requestStartedAt: number | undefined;
  /** The last request whose head arrived before its body (answered with 100 if asked). */
  let continued: HttpRequest | undefined;
  for (;;) {
    const result = parser.next();
    if (result.kind === "error") {
      await sendReply(api, fd, textReply(result.status, `${result.reason}\n`), {
        head: false,
        close: true,
      });
      return lingeringClose(api, clock, fd);
    }
    if (result.kind === "request") {
      requestStartedAt = undefined;
      const keepAlive = keepsAlive(result.request);
      await answer(result.request, keepAlive, fd, options);
      if (!keepAlive) return lingeringClose(api, clock, fd);
      continue;
    }
    // Need more bytes: wait for them, but not forever.
    if (parser.hasPartial) requestStartedAt ??= clock.now();
    const head = parser.headAwaitingBody;
    if (head !== undefined && head !== continued) {
      // The head is in and its body is not: the timer now runs from the last progress,
      // and a client that asked for it gets its 100 (Continue).
      continued = head;
      requestStartedAt = clock.now();
      if (expectsContinue(head)) await api.send(fd, CONTINUE);
    }
    const deadline =
      requestStartedAt === undefined
        ? clock.now() + idleTimeoutMs
        : requestStartedAt + headerTimeoutMs;
    const data = await receiveBefore(api, clock, fd, deadline);
    if (data === "timeout") {
      if (parser.hasPartial) {
        await sendReply(api, fd, textReply(408, "Request incomplete in time.\n"), {
          head: false,
          close: true,
        });
        return lingeringClose(api, clock, fd);
      }
      return; // RFC 9112 §9.8: an idle connection may be closed at any time.
    }
    if (data.length === 0) return; // the client closed its side
    if (!parser.hasPartial || parser.headAwaitingBody !== undefined) requestStartedAt = clock.now();
    parser.push(data);
  }
}

async function answer(
  request: HttpRequest,
  keepAlive: boolean,
  fd: number,
  options: HttpServerOptions,
) {
  const context: RouteContext = {
    stack: options.stack,
    now: options.clock.now(),
    services: options.services?.() ?? [],
  };
  const reply = route(request, context);
  await sendReply(options.api, fd, reply, {
    head: request.method === "HEAD",
    close: !keepAlive,
    http10: request.version === "HTTP/1.0",
  });
}

/**
 * RFC 9112 §9.6: after shutting down our write side, keep reading (and discarding) for
 * a moment, so that closing with unread bytes does not reset the connection (RFC 1122
 * §4.2.2.13) before the client has read our reply.
 */
async function lingeringClose(api: SocketApi, clock: Clock, fd: number): Promise<void> {
  const deadline = clock.now() + LINGER_MS;
  for (;;) {
    const data = await receiveBefore(api, clock, fd, deadline);
    if (data === "timeout" || data.length === 0) return;
  }
}

/** recv, or "timeout" when `deadline` (host clock, ms) passes first. */
function receiveBefore(api: SocketApi, clock: Clock, fd: number, deadline: number) {
  const received = api.recv(fd, 64 * 1024);
  // If the timer wins, the recv is still pending; it fails with EBADF when we close.
  received.catch(() => {});
  let timer: { cancel(): void } | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = clock.at(deadline, () => resolve("timeout"));
  });
  return Promise.race([received, timeout]).finally(() => timer?.cancel());
}

/** Writes the status line and fields (RFC 9112 §4, §5), then the body unless HEAD. */
async function sendReply(
  api: SocketApi,
  fd: number,
  reply: Reply,
  how: { head: boolean; close: boolean; http10?: boolean },
): Promise<void> {
  // One string, no arrays: this runs for every reply (keep-alive profile: ~5%).
  let text = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? ""}\r\n`;
  text += `Date: ${httpDate()}\r\nServer: tstcp\r\n`;
  for (const [name, value] of reply.fields) text += `${name}: ${value}\r\n`;
  text += `Content-Length: ${reply.length}\r\n`;
  if (how.close) text += "Connection: close\r\n";
  else if (how.http10) text += "Connection: keep-alive\r\n";
  const head = encoder.encode(`${text}\r\n`);
  // With `eof` the FIN is queued with the last bytes and goes out in the same segment:
  // shut down only after the send returned, and a client that closes as soon as it has
  // the reply sends its FIN first, leaving both ends in TIME-WAIT.
  const eof = { eof: how.close };
  if (how.head) {
    await api.send(fd, head, eof);
  } else if (reply.length <= SMALL_BODY_BYTES) {
    await api.send(fd, concat(head, reply.chunks), eof);
  } else {
    // Chunks may share one reused buffer, so none is held back for the FIN.
    await api.send(fd, head);
    for (const chunk of reply.chunks) await api.send(fd, chunk);
    if (how.close) api.shutdown(fd, "write");
  }
}

let dateSecond = -1;
let dateText = "";

/** RFC 9110 §6.6.1: the Date field has a resolution of one second, so it is formatted once a second. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

function concat(head: Uint8Array, chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [head, ...chunks];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
