/**
 * What the HTTP server answers (RFC 9110 semantics), as data: a status, fields and a
 * body given as chunks, so a large body is streamed from one reusable buffer.
 *
 *   GET /          a short page about the stack and what to try
 *   GET /bytes/N   exactly N bytes of the RFC 864 pattern (N up to 10^12)
 *   GET /stats     counters and the connection table: JSON, or text with ?format=text
 *                  or `Accept: text/plain`
 * HEAD works for each (§9.3.2); other methods get 405 with `Allow` (§15.5.6).
 */

import { formatIpv4 } from "../../stack/address.ts";
import type { Stack } from "../../stack/stack.ts";
import { chargenBuffer } from "../services/pattern.ts";
import { connectionRows, formatConnectionTable, formatCounters, listeningRows } from "../ss.ts";
import { type HttpRequest, headerValue } from "./parser.ts";

export interface Reply {
  readonly status: number;
  readonly fields: readonly (readonly [string, string])[];
  /** Content-Length: the total of the chunks. */
  readonly length: number;
  readonly chunks: Iterable<Uint8Array>;
}

export interface RouteContext {
  readonly stack: Stack;
  readonly now: number;
  /** The services running beside the server, for the home page. */
  readonly services: readonly { name: string; protocol: string; port: number; address?: string }[];
}

/** The largest /bytes/N served: 10^12 bytes (a terabyte), streamed, never held. */
export const MAX_BYTES = 1e12;

const encoder = new TextEncoder();
/** Reused for every /bytes/N response: 63,270 bytes of the chargen pattern. */
const PATTERN = chargenBuffer();
const ALLOW: [string, string] = ["Allow", "GET, HEAD"];

export function route(request: HttpRequest, context: RouteContext): Reply {
  const known =
    request.path === "/" || request.path === "/stats" || request.path.startsWith("/bytes/");
  if (!known) return textReply(404, `No such resource: ${request.path}\n`);
  if (request.method !== "GET" && request.method !== "HEAD") {
    // RFC 9110 §15.5.6: a 405 response MUST include an Allow field.
    return textReply(405, `${request.method} is not allowed here; use GET or HEAD.\n`, [ALLOW]);
  }
  if (request.path === "/") return homePage(request, context);
  if (request.path === "/stats") return statsReply(request, context);
  return bytesReply(request.path.slice("/bytes/".length));
}

/** A small reply whose body is one string. */
export function textReply(
  status: number,
  text: string,
  fields: readonly (readonly [string, string])[] = [],
  contentType = "text/plain; charset=utf-8",
): Reply {
  const body = encoder.encode(text);
  return {
    status,
    fields: [["Content-Type", contentType], ...fields],
    length: body.length,
    chunks: [body],
  };
}

function bytesReply(count: string): Reply {
  if (!/^(0|[1-9][0-9]{0,12})$/.test(count) || Number(count) > MAX_BYTES) {
    return textReply(400, `"${count}" is not a byte count from 0 to ${MAX_BYTES}.\n`);
  }
  const length = Number(count);
  return {
    status: 200,
    fields: [["Content-Type", "application/octet-stream"]],
    length,
    chunks: patternChunks(length),
  };
}

/** `length` bytes of the pattern as views of the one shared buffer. */
function* patternChunks(length: number): Generator<Uint8Array> {
  for (let left = length; left > 0; left -= PATTERN.length) {
    yield PATTERN.subarray(0, Math.min(left, PATTERN.length));
  }
}

function statsReply(request: HttpRequest, context: RouteContext): Reply {
  const listening = listeningRows(context.services);
  const connections = connectionRows(context.stack, context.now);
  const counters = context.stack.stats.snapshot();
  // A gateway's NAT table (stack/forwarding.ts), when the stack is one.
  const gateway = context.stack.forwarder?.snapshot?.(context.now);
  if (wantsText(request)) {
    const table = formatConnectionTable([...listening, ...connections]);
    const nat = gateway === undefined ? "" : `\n\ngateway: ${JSON.stringify(gateway, null, 1)}`;
    return textReply(200, `${table}\n\n${formatCounters(counters)}${nat}\n`);
  }
  const address = formatIpv4(context.stack.address);
  // RFC 5952 text, or null with IPv6 off.
  const address6 = context.stack.hasIpv6 ? context.stack.address6 : null;
  const fields = { address, address6, listening, connections, counters, gateway };
  const json = JSON.stringify(fields, null, 2);
  return textReply(200, `${json}\n`, [], "application/json");
}

/** `?format=text`, or an Accept field that prefers text/plain to JSON (RFC 9110 §12.5.1). */
function wantsText(request: HttpRequest): boolean {
  const format = new URLSearchParams(request.query).get("format");
  if (format === "text") return true;
  if (format === "json") return false;
  const accept = headerValue(request, "accept");
  if (accept === undefined) return false;
  return quality(accept, "text/plain") > quality(accept, "application/json");
}

/** The q-value `accept` gives `mediaType`, from its most specific matching range. */
export function quality(accept: string, mediaType: string): number {
  const [type] = mediaType.split("/");
  let best = { specificity: -1, q: 0 };
  for (const part of accept.split(",")) {
    const [range = "", ...parameters] = part.split(";").map((s) => s.trim().toLowerCase());
    const specificity =
      range === mediaType ? 2 : range === `${type}/*` ? 1 : range === "*/*" ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const qParameter = parameters.find((p) => p.startsWith("q="));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best.q;
}

function homePage(request: HttpRequest, context: RouteContext): Reply {
  const address = formatIpv4(context.stack.address);
  const v6 = context.stack.hasIpv6 ? context.stack.address6 : undefined;
  const services = context.services.map((s) => `  ${s.name.padEnd(8)} ${s.protocol}/${s.port}`);
  const text = [
    `Hello from ${v6 === undefined ? address : `${address} and ${v6}`}, a TCP/IP stack written in TypeScript, running in user space.`,
    "",
    "Every packet you send here is parsed by our own IPv4, IPv6, ICMP, UDP and TCP code;",
    "this page came back through our own TCP send path.",
    "",
    "Services:",
    "  icmp     echo (ping)",
    ...services,
    "",
    "Things to try:",
    `  ping ${address}`,
    `  curl http://${address}/stats              counters and connections (JSON)`,
    `  curl http://${address}/stats?format=text  the same as a table`,
    `  curl -o /dev/null http://${address}/bytes/100000000   100 MB, streamed`,
    `  nc ${address} 7                          echo (RFC 862)`,
    `  nc ${address} 19 | head                  chargen (RFC 864)`,
    ...(v6 === undefined
      ? []
      : [
          `  ping -6 ${v6}`,
          `  curl -g 'http://[${v6}]/'              the same page over IPv6`,
          `  nc -6 ${v6} 7                          echo over IPv6`,
        ]),
    "",
  ].join("\n");
  // Browsers ask for HTML; curl and friends get the same words as plain text.
  if (/\btext\/html\b/i.test(headerValue(request, "accept") ?? "")) {
    const escaped = text.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
    const html = `<!doctype html><title>${address}</title><pre>${escaped}</pre>\n`;
    return textReply(200, html, [], "text/html; charset=utf-8");
  }
  return textReply(200, text);
}
