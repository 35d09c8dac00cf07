/**
 * Extra end-to-end helpers: a backend that records raw body bytes, a port
 * nothing listens on, fixed SSE answers, and collecting everything a client
 * or the operator could see (to scan it for keys).
 *
 * @module
 */

import type { TestProxy } from "./proxy.ts";
import { logLines } from "./proxy.ts";
import { unusedPort } from "./raw_tcp.ts";

/** One request as a {@linkcode byteBackend} saw it. */
export interface SeenBytes {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** Request headers. */
  headers: Headers;
  /** The body exactly as received. */
  bytes: Uint8Array;
}

/** A backend that records raw request bytes (for byte-for-byte checks). */
export interface ByteBackend extends AsyncDisposable {
  /** Base URL ending in `/v1`. */
  baseUrl: string;
  /** Every request received, in order. */
  seen: SeenBytes[];
}

/** Starts a backend on 127.0.0.1:0 that records bytes and answers with `respond()`. */
export function byteBackend(respond: () => Response): ByteBackend {
  const seen: SeenBytes[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      bytes: new Uint8Array(await req.arrayBuffer()),
    });
    return respond();
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export function closedPort(): number {
  return unusedPort();
}

/** An SSE response carrying exactly `events`, in order, each as its own chunk. */
export function fixedSse(events: string[], headers: Record<string, string> = {}): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < events.length) controller.enqueue(encoder.encode(events[i++]));
      else controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", ...headers } });
}

/** Status line, headers and body of a response as one text (consumes the body). */
export async function dump(res: Response): Promise<string> {
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  return `${res.status}\n${head}\n\n${await res.text()}`;
}

/**
 * Waits until a request log line matching `match` has been written, giving
 * the proxy's batched log one event-loop turn at a time (bounded).
 */
export async function waitForLog(proxy: TestProxy, match: (line: string) => boolean): Promise<string> {
  for (let turn = 0; turn < 200; turn++) {
    const line = (await logLines(proxy)).find(match);
    if (line !== undefined) return line;
  }
  throw new Error(`no log line matched; log so far:\n${proxy.stdout.join("")}`);
}

/** Concatenated `delta.content` of the chat chunks in an SSE text. */
export function sseContent(text: string): string {
  let out = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    const chunk = JSON.parse(line.slice(6));
    out += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return out;
}
