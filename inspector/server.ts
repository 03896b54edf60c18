/**
 * The inspector's web server (`bun run start -- --inspect [ADDR:]PORT`): an ordinary
 * host socket (Bun.serve, the kernel's TCP, not ours: the page must work even when the
 * stack under study misbehaves), serving
 *
 *   GET /            the page, with the current state embedded (first paint shows data)
 *   GET /page.js     the page's script (inspector/page/page.ts, bundled once at start)
 *   GET /page.css
 *   GET /state.json  the same state as JSON (?conn=KEY for one connection)
 *   GET /events      server-sent events: every tick, what is new (?conn=KEY)
 *
 * It samples every connection's TCP_INFO every `sampleMs` for the plots.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildUpdate, type InspectorSource, newCursor } from "./updates.ts";

export interface InspectorListen {
  hostname: string;
  port: number;
}

export interface InspectorServerOptions {
  /** How often each connection's TCP_INFO is sampled (default 100 ms). */
  sampleMs?: number;
  /** How often a page gets an update (default 500 ms). */
  tickMs?: number;
}

export interface InspectorServer {
  readonly url: string;
  stop(): void;
}

const PAGE_DIR = join(import.meta.dir, "page");

/** The page's script, bundled from TypeScript for the browser. */
async function bundlePage(): Promise<string> {
  const result = await Bun.build({ entrypoints: [join(PAGE_DIR, "page.ts")], target: "browser" });
  if (!result.success || result.outputs[0] === undefined) {
    throw new Error(`inspector: the page did not build: ${result.logs.map(String).join("; ")}`);
  }
  return await result.outputs[0].text();
}

export async function startInspector(
  source: InspectorSource,
  listen: InspectorListen,
  options: InspectorServerOptions = {},
): Promise<InspectorServer> {
  const script = await bundlePage();
  const css = readFileSync(join(PAGE_DIR, "page.css"), "utf8");
  const html = readFileSync(join(PAGE_DIR, "index.html"), "utf8");
  const tickMs = options.tickMs ?? 500;
  const sampler = setInterval(
    () => source.recorder.sample(source.stack.tcp.connections(), source.clock.now()),
    options.sampleMs ?? 100,
  );
  const streams = new Set<() => void>();
  const server = Bun.serve({
    hostname: listen.hostname,
    port: listen.port,
    // SSE streams stay open; each sends at least every tick.
    idleTimeout: 60,
    fetch(request) {
      const url = new URL(request.url);
      const key = url.searchParams.get("conn") ?? undefined;
      switch (url.pathname) {
        case "/": {
          const state = JSON.stringify(buildUpdate(source, newCursor(key)));
          const page = html.replace(
            '"application/json">null<',
            // A function, so no "$&" in the JSON is taken as a replacement pattern.
            () => `"application/json">${state.replace(/</g, "\\u003c")}<`,
          );
          return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
        }
        case "/page.js":
          return new Response(script, { headers: { "content-type": "text/javascript" } });
        case "/page.css":
          return new Response(css, { headers: { "content-type": "text/css" } });
        case "/state.json":
          return Response.json(buildUpdate(source, newCursor(key)));
        case "/events":
          return events(source, key, tickMs, streams);
        default:
          return new Response("Not found: the inspector serves /, /state.json and /events.\n", {
            status: 404,
          });
      }
    },
  });
  return {
    url: `http://${listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname}:${server.port}/`,
    stop() {
      clearInterval(sampler);
      for (const stop of streams) stop();
      server.stop(true);
    },
  };
}

/**
 * Server-sent events (HTML Living Standard §9.2): one `data:` line of JSON per tick; the
 * first is the whole state again, then only what is new.
 */
function events(
  source: InspectorSource,
  key: string | undefined,
  tickMs: number,
  streams: Set<() => void>,
): Response {
  const cursor = newCursor(key);
  let timer: ReturnType<typeof setInterval> | undefined;
  const encoder = new TextEncoder();
  let closeStream = () => {};
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    streams.delete(closeStream);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => {
        try {
          const update = JSON.stringify(buildUpdate(source, cursor));
          controller.enqueue(encoder.encode(`data: ${update}\n\n`));
        } catch {
          stop();
        }
      };
      send();
      timer = setInterval(send, tickMs);
      closeStream = () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      streams.add(closeStream);
    },
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    },
  });
}
