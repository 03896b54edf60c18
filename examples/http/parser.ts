/**
 * A small, strict, incremental HTTP/1.1 request parser (RFC 9112 message syntax,
 * RFC 9110 semantics). The server `recv`s bytes and `push`es them here; `next()` returns
 * one complete request, says it needs more bytes, or gives the error status to answer
 * with. Bytes after a request stay queued, so pipelined requests come out one by one.
 *
 * Choices, each from the RFC:
 * - Lines end in CRLF; a bare LF is accepted as a line end (RFC 9112 §2.2 "MAY"),
 *   a bare CR anywhere is an error (§2.2 "MUST consider that element to be invalid").
 * - Empty lines before the request line are skipped (§2.2 "SHOULD ignore at least one").
 * - obs-fold (a field line starting with SP or HTAB) is rejected with 400 (§5.2).
 * - Whitespace between a field name and the colon is rejected with 400 (§5.1).
 * - Request bodies are read and thrown away, never kept, framed by `Content-Length` or
 *   by the chunked coding (`chunked.ts`). Both together get 400 (§6.3); a transfer
 *   coding other than chunked gets 501 (§6.1); chunked not last gets 400 (§6.3).
 * - Limits: request line 8 KiB (414), header section 16 KiB (431), body 1 MiB (413).
 *
 * The parser never throws on any input bytes.
 *
 * @example
 * const parser = new RequestParser();
 * parser.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * parser.next(); // { kind: "request", request: { method: "GET", path: "/", ... } }
 */

import { ChunkedBodySkipper } from "./chunked.ts";

export const MAX_REQUEST_LINE_BYTES = 8 * 1024;
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpRequest {
  readonly method: string;
  /** The request-target as sent (origin-form, or the path of an absolute-form target). */
  readonly target: string;
  /** The target's path, before any "?". */
  readonly path: string;
  /** The target's query, without the "?" ("" when there is none). */
  readonly query: string;
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  /** Field lines in order; names lower-cased, values with surrounding whitespace removed. */
  readonly headers: readonly (readonly [string, string])[];
  /** Bytes of body that followed (and were discarded). */
  readonly bodyLength: number;
}

export type ParseResult =
  | { readonly kind: "request"; readonly request: HttpRequest }
  | { readonly kind: "need-more" }
  | { readonly kind: "error"; readonly status: ErrorStatus; readonly reason: string };

export type ErrorStatus = 400 | 413 | 414 | 431 | 501 | 505;

/** What the head alone says: a request, or one whose chunked body must be read first. */
type HeadResult = ParseResult | { readonly kind: "chunked"; readonly request: HttpRequest };

const LF = 0x0a;
const CR = 0x0d;

/** RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 3986 path and query characters (pchar, "/", "?"), with percent-encoding checked. */
const ORIGIN_FORM = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
/** An absolute-form target (RFC 9112 §3.2.2): a server MUST accept it; we keep its path. */
const ABSOLUTE_FORM = /^[Hh][Tt][Tt][Pp][Ss]?:\/\/[^/?#\s]+(\/[^#\s]*|\?[^#\s]*)?$/;
/** RFC 9110 §5.5: field-value characters are VCHAR, obs-text, SP and HTAB. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export class RequestParser {
  /** Bytes received but not yet consumed. */
  private pending = new Uint8Array(4096);
  private pendingLength = 0;
  /** A parsed head whose body is still arriving, and how much of it is left. */
  private awaitingBody: HttpRequest | undefined;
  private bodyRemaining = 0;
  /** Set while a chunked body is being skipped. */
  private chunked: ChunkedBodySkipper | undefined;
  private failed: ParseResult | undefined;
  /** How far the search for the end of the head has already looked. */
  private scannedTo = 0;

  /** Appends received bytes (copied: the caller may reuse its buffer). */
  push(bytes: Uint8Array): void {
    if (this.failed) return;
    if (this.awaitingBody && !this.chunked && this.pendingLength === 0) {
      // Discard body bytes as they arrive, without buffering them.
      const skip = Math.min(this.bodyRemaining, bytes.length);
      this.bodyRemaining -= skip;
      bytes = bytes.subarray(skip);
    }
    if (bytes.length === 0) return;
    const needed = this.pendingLength + bytes.length;
    if (needed > this.pending.length) {
      const grown = new Uint8Array(Math.max(needed, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength = needed;
  }

  /** The request whose head is complete and whose body is still arriving, if any. */
  get headAwaitingBody(): HttpRequest | undefined {
    return this.awaitingBody;
  }

  /** True when bytes are queued that have not become a request yet. */
  get hasPartial(): boolean {
    return this.pendingLength > 0 || this.awaitingBody !== undefined;
  }

  /** The next complete request, "need-more", or an error (after which it stays failed). */
  next(): ParseResult {
    if (this.failed) return this.failed;
    if (this.awaitingBody) return this.finishBody();
    const result = this.parseHead();
    if (result.kind === "error") this.failed = result;
    if (result.kind === "chunked") {
      this.awaitingBody = result.request;
      this.chunked = new ChunkedBodySkipper(MAX_BODY_BYTES);
      return this.finishBody();
    }
    if (result.kind !== "request") return result;
    if (result.request.bodyLength === 0) return result;
    this.awaitingBody = result.request;
    this.bodyRemaining = result.request.bodyLength;
    return this.finishBody();
  }

  private finishBody(): ParseResult {
    if (this.chunked) return this.finishChunkedBody(this.chunked);
    const skip = Math.min(this.bodyRemaining, this.pendingLength);
    this.consume(skip);
    this.bodyRemaining -= skip;
    if (this.bodyRemaining > 0) return { kind: "need-more" };
    const request = this.awaitingBody!;
    this.awaitingBody = undefined;
    return { kind: "request", request };
  }

  private finishChunkedBody(chunked: ChunkedBodySkipper): ParseResult {
    const progress = chunked.feed(this.pending.subarray(0, this.pendingLength));
    if (progress.kind === "error") {
      this.failed = error(progress.status, progress.reason);
      return this.failed;
    }
    this.consume(progress.consumed);
    if (!progress.done) return { kind: "need-more" };
    const request = { ...this.awaitingBody!, bodyLength: chunked.total };
    this.awaitingBody = undefined;
    this.chunked = undefined;
    return { kind: "request", request };
  }

  private consume(count: number): void {
    this.pending.copyWithin(0, count, this.pendingLength);
    this.pendingLength -= count;
    this.scannedTo = 0;
  }

  /** Finds the empty line that ends the head, then splits the head into lines. */
  private parseHead(): HeadResult {
    const bytes = this.pending.subarray(0, this.pendingLength);
    let start = 0;
    // RFC 9112 §2.2: ignore empty lines before the request line (a few, not forever).
    while (start < bytes.length && start < 8) {
      if (bytes[start] === LF) start++;
      else if (bytes[start] === CR && bytes[start + 1] === LF) start += 2;
      else if (bytes[start] === CR && start + 1 === bytes.length) return { kind: "need-more" };
      else break;
    }
    const firstLf = bytes.indexOf(LF, start);
    if ((firstLf < 0 ? bytes.length : firstLf) - start > MAX_REQUEST_LINE_BYTES + 1) {
      return error(414, "request line too long");
    }
    // Only rescan what is new, so a client sending one byte at a time costs linear time.
    const headEnd = findHeadEnd(bytes, Math.max(start, this.scannedTo - 2));
    if (headEnd < 0) {
      this.scannedTo = bytes.length;
      if (firstLf >= 0 && bytes.length - (firstLf + 1) > MAX_HEADER_BYTES) {
        return error(431, "header section too large");
      }
      return { kind: "need-more" };
    }
    const lines = splitLines(bytes.subarray(start, headEnd));
    if (typeof lines === "string") return error(400, lines);
    const parsed = parseRequest(lines);
    if (parsed.kind === "request" || parsed.kind === "chunked") this.consume(headEnd);
    return parsed;
  }
}

/** The index just past the first empty line (LF, CR LF) that follows a line end, or -1. */
function findHeadEnd(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(LF, from); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    if (bytes[i + 1] === LF) return i + 2;
    if (bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** Splits a head (ending in an empty line) into its non-empty lines; a reason on error. */
function splitLines(head: Uint8Array): string[] | string {
  const lines: string[] = [];
  let lineStart = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] === CR && head[i + 1] !== LF) return "bare CR in the request head";
    if (head[i] !== LF) continue;
    const end = i > lineStart && head[i - 1] === CR ? i - 1 : i;
    if (end > lineStart) lines.push(latin1(head, lineStart, end));
    lineStart = i + 1;
  }
  return lines;
}

function error(status: ErrorStatus, reason: string): ParseResult {
  return { kind: "error", status, reason };
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 4096) {
    // apply, not a spread: a typed array is array-like, so no iterator runs per byte.
    const piece = bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[];
    text += String.fromCharCode.apply(null, piece);
  }
  return text;
}

/** Builds the request from its head lines (request line first, then field lines). */
function parseRequest(lines: string[]): HeadResult {
  const [requestLine, ...fieldLines] = lines;
  if (requestLine === undefined) return error(400, "empty request");
  const start = parseRequestLine(requestLine);
  if ("status" in start) return error(start.status, start.reason);
  const headerBytes = fieldLines.reduce((sum, line) => sum + line.length + 2, 0);
  if (headerBytes > MAX_HEADER_BYTES) return error(431, "header section too large");
  const headers: [string, string][] = [];
  for (const line of fieldLines) {
    const field = parseFieldLine(line);
    if (typeof field === "string") return error(400, field);
    headers.push(field);
  }
  const hosts = headers.filter(([name]) => name === "host");
  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, or with more than one.
  if (hosts.length > 1 || (start.version === "HTTP/1.1" && hosts.length === 0)) {
    return error(400, "a request needs exactly one Host field");
  }
  const body = bodyLength(headers, start.version);
  if (body === "chunked") return { kind: "chunked", request: { ...start, headers, bodyLength: 0 } };
  if (typeof body !== "number") return error(body.status, body.reason);
  return { kind: "request", request: { ...start, headers, bodyLength: body } };
}

type RequestStart = Omit<HttpRequest, "headers" | "bodyLength">;

/** RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
function parseRequestLine(line: string): RequestStart | { status: ErrorStatus; reason: string } {
  const parts = line.split(" ");
  if (parts.length !== 3) return { status: 400, reason: "malformed request line" };
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) return { status: 400, reason: "malformed method" };
  if (!/^HTTP\/[0-9]\.[0-9]$/.test(version)) return { status: 400, reason: "malformed version" };
  // RFC 9110 §6.2: a major version we do not speak gets 505.
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return { status: 505, reason: "HTTP version not supported" };
  }
  let originForm = target;
  if (ABSOLUTE_FORM.test(target)) {
    const afterScheme = target.indexOf("//") + 2;
    const pathStart = target.slice(afterScheme).search(/[/?]/);
    originForm = pathStart < 0 ? "/" : target.slice(afterScheme + pathStart);
    if (originForm.startsWith("?")) originForm = `/${originForm}`;
  }
  if (!(ORIGIN_FORM.test(originForm) || (target === "*" && method === "OPTIONS"))) {
    return { status: 400, reason: "malformed request target" };
  }
  const question = originForm.indexOf("?");
  const path = question < 0 ? originForm : originForm.slice(0, question);
  const query = question < 0 ? "" : originForm.slice(question + 1);
  return { method, target, path, query, version };
}

/** RFC 9112 §5: field-line = field-name ":" OWS field-value OWS; returns a reason on error. */
function parseFieldLine(line: string): [string, string] | string {
  if (line.startsWith(" ") || line.startsWith("\t")) return "obs-fold is not accepted";
  const colon = line.indexOf(":");
  if (colon <= 0) return "field line without a name";
  const name = line.slice(0, colon);
  // RFC 9112 §5.1: no whitespace between the field name and the colon (400).
  if (!TOKEN.test(name)) return "malformed field name";
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
  if (!FIELD_VALUE.test(value)) return "invalid character in field value";
  return [name.toLowerCase(), value];
}

/** RFC 9112 §6.3: how long the body is, from Content-Length and Transfer-Encoding. */
function bodyLength(
  headers: readonly (readonly [string, string])[],
  version: HttpRequest["version"],
): number | "chunked" | { status: ErrorStatus; reason: string } {
  const lengths = headers.filter(([name]) => name === "content-length").map(([, v]) => v);
  const codings = headers
    .filter(([name]) => name === "transfer-encoding")
    .flatMap(([, value]) => value.toLowerCase().split(","))
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "");
  const hasTransferEncoding = headers.some(([name]) => name === "transfer-encoding");
  if (hasTransferEncoding) return transferCoding(codings, lengths.length > 0, version);
  if (lengths.length === 0) return 0;
  // RFC 9110 §8.6: a list of identical values may be treated as one value.
  const values = new Set(lengths.flatMap((value) => value.split(",").map((v) => v.trim())));
  const [only] = values;
  if (values.size !== 1 || only === undefined || !/^[0-9]{1,15}$/.test(only)) {
    return { status: 400, reason: "invalid Content-Length" };
  }
  const length = Number(only);
  if (length > MAX_BODY_BYTES) return { status: 413, reason: "request body too large" };
  return length;
}

/** RFC 9112 §6.1 and §6.3: a Transfer-Encoding we can frame is exactly "chunked". */
function transferCoding(
  codings: string[],
  hasContentLength: boolean,
  version: HttpRequest["version"],
): "chunked" | { status: ErrorStatus; reason: string } {
  // §6.3 item 3: both present is a request smuggling attempt; answer 400 and close.
  if (hasContentLength) return { status: 400, reason: "both Content-Length and Transfer-Encoding" };
  // §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
  if (version === "HTTP/1.0") return { status: 400, reason: "Transfer-Encoding in HTTP/1.0" };
  // §6.3 item 4: chunked must be the final coding, and is applied at most once (§6.1).
  if (codings.at(-1) !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
    return { status: 400, reason: "chunked is not the final transfer coding" };
  }
  // §6.1: a transfer coding we do not understand gets 501.
  if (codings.length > 1)
    return { status: 501, reason: `transfer coding ${codings[0]} is not supported` };
  return "chunked";
}

/** The value of the first field named `name` (lower case), if present. */
export function headerValue(request: HttpRequest, name: string): string | undefined {
  for (const [fieldName, value] of request.headers) if (fieldName === name) return value;
  return undefined;
}

/**
 * RFC 9112 §9.3: whether the connection persists after this request. HTTP/1.1 persists
 * unless "close" is among the Connection options; HTTP/1.0 only with "keep-alive".
 */
export function keepsAlive(request: HttpRequest): boolean {
  const options = request.headers
    .filter(([name]) => name === "connection")
    .flatMap(([, value]) => value.toLowerCase().split(","))
    .map((option) => option.trim());
  if (options.includes("close")) return false;
  return request.version === "HTTP/1.1" || options.includes("keep-alive");
}

/**
 * RFC 9110 §10.1.1: the client sent "Expect: 100-continue" and waits for a 100 (Continue)
 * before its body. Only an HTTP/1.1 client may ask (a 1.0 client would not understand
 * the interim reply), and there is nothing to wait for without a body.
 */
export function expectsContinue(request: HttpRequest): boolean {
  if (request.version !== "HTTP/1.1") return false;
  return headerValue(request, "expect")?.toLowerCase() === "100-continue";
}
