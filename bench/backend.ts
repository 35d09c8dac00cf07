/**
 * The benchmark's fake backend, run in its own process so its work never
 * shares an event loop with the load generator or the proxy.
 *
 * It listens on three ports of 127.0.0.1 and prints them as one JSON line:
 * - `json`: answers every request with a static chat completion (used when
 *   nginx, the preferred static backend, is not installed),
 * - `fail`: answers every request with 503 (the failing primary),
 * - `stream`: answers with an SSE stream of `n` events `ms` apart (query
 *   parameters, default 64 and 20), each scheduled from the stream's start so
 *   timer drift never accumulates, then `data: [DONE]`.
 *
 * @module
 */

import { COMPLETION_BODY, FAILURE_BODY, SSE_DONE, sseEvent, wallMs } from "./fixtures.ts";

const encoder = new TextEncoder();
const completion = encoder.encode(COMPLETION_BODY);
const failure = encoder.encode(FAILURE_BODY);
const jsonHeaders = { "content-type": "application/json" };
const sseHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache" };

function listen(handler: (req: Request) => Response | Promise<Response>): number {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return server.addr.port;
}

async function drain(req: Request): Promise<void> {
  if (req.body) await req.body.cancel();
}

function stream(req: Request): Response {
  const q = req.url.indexOf("?");
  const params = new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1));
  const n = Math.min(10_000, Math.max(1, Number(params.get("n") ?? 64)));
  const ms = Math.min(10_000, Math.max(0, Number(params.get("ms") ?? 20)));
  void drain(req);
  const start = performance.now();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = () => {
        timer = undefined;
        try {
          controller.enqueue(encoder.encode(sseEvent(i, wallMs())));
          i++;
          if (i === n) {
            controller.enqueue(encoder.encode(SSE_DONE));
            controller.close();
            return;
          }
        } catch {
          return; // the client went away
        }
        timer = setTimeout(tick, Math.max(0, start + i * ms - performance.now()));
      };
      tick();
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
    },
  });
  return new Response(body, { headers: sseHeaders });
}

const ports = {
  json: listen(async (req) => {
    await drain(req);
    return new Response(completion, { headers: jsonHeaders });
  }),
  fail: listen(async (req) => {
    await drain(req);
    return new Response(failure, { status: 503, headers: jsonHeaders });
  }),
  stream: listen(stream),
};
console.log(JSON.stringify(ports));
