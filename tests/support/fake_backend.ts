/**
 * A scriptable fake backend: a real HTTP server on 127.0.0.1, port 0, that
 * records every request it receives.
 *
 * @module
 */

/** One request as the backend saw it. */
export interface Seen {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** Request headers. */
  headers: Headers;
  /** The body, as text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
  /** Fires when the proxy closes this request's connection. */
  signal: AbortSignal;
}

/** A running fake backend. */
export interface FakeBackend extends AsyncDisposable {
  /** Base URL to configure, e.g. `http://127.0.0.1:1234/v1`. */
  baseUrl: string;
  /** Port it listens on. */
  port: number;
  /** Every request received, in order. */
  seen: Seen[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** What the backend answers; receives the recorded request. */
export type Script = (seen: Seen, req: Request) => Response | Promise<Response>;

/** Starts a fake backend whose base URL ends in `basePath` (default `/v1`). */
export function fakeBackend(script: Script, basePath = "/v1"): FakeBackend {
  const seen: Seen[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body);
    } catch { /* not JSON */ }
    const url = new URL(req.url);
    const s: Seen = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      json,
      signal: req.signal,
    };
    seen.push(s);
    return await script(s, req);
  });
  const close = async () => {
    await server.shutdown();
  };
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}${basePath}`,
    port: server.addr.port,
    seen,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A JSON response. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A chat completion as a backend would answer it. */
export function completion(content: string, model = "backend-model"): Record<string, unknown> {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/** One SSE chat chunk event. */
export function chunkEvent(content: string, model = "backend-model"): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      created: 1,
      model,
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    })
  }\n\n`;
}

/**
 * One SSE chat chunk event with `delta` (`null`: no choices, as the usage
 * chunk) and `finishReason`; `extra` adds top-level fields (`usage`).
 */
export function chatChunk(
  delta: Record<string, unknown> | null,
  finishReason: string | null = null,
  extra: Record<string, unknown> = {},
): string {
  const choices = delta === null ? [] : [{ index: 0, delta, finish_reason: finishReason }];
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      created: 1,
      model: "backend-model",
      choices,
      ...extra,
    })
  }\n\n`;
}

/** The empty-choices usage chunk `stream_options.include_usage` adds before `[DONE]`. */
export const USAGE_CHUNK = chatChunk(null, null, {
  usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
});

/** A chat stream's last event. */
export const DONE_EVENT = "data: [DONE]\n\n";

/**
 * An SSE response fed by the test: `send` pushes an event, `end` closes,
 * `fail` breaks the stream. `cancelled` resolves when the reader goes away.
 */
export function sseResponse(): {
  response: Response;
  send: (text: string) => void;
  end: () => void;
  fail: () => void;
  cancelled: Promise<void>;
} {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let onCancel!: () => void;
  const cancelled = new Promise<void>((resolve) => onCancel = resolve);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      onCancel();
    },
  });
  return {
    response: new Response(stream, { headers: { "content-type": "text/event-stream" } }),
    send: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    fail: () => controller.error(new Error("backend broke the stream")),
    cancelled,
  };
}
