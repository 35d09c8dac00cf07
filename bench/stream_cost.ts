/**
 * CPU per relayed event, in process: the `handle()` of the modelpin checkout
 * at ROOT (this one by default) on plain Requests, its route's transport a
 * stub that answers every request with the same 64-event SSE stream (one
 * chunk per event, as a backend writes them). No sockets, so what is timed
 * is modelpin's own stream path: framing, judging, masking, relaying.
 * Prints the median and the minimum of 15 batches of 200 concurrent streams,
 * then the JS heap each open stream holds (1,000 streams that have sent their
 * first event and wait for more; needs `--expose-gc`).
 *
 * Run: deno run --allow-all --v8-flags=--expose-gc bench/stream_cost.ts [ROOT]
 *
 * @module
 */

import { SSE_DONE, sseEvent } from "./fixtures.ts";

const root = Deno.args[0] ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { parseConfig } = await import(`${root}/src/config/config.ts`);
const { handle } = await import(`${root}/src/proxy/handler.ts`);
const { buildState } = await import(`${root}/src/proxy/state.ts`);
const endpoints = await import(`${root}/src/endpoints.ts`);
// The endpoint table's export was renamed by the request-lifecycle restructure.
const table = endpoints.TABLE ?? endpoints.ENDPOINTS;

const EVENTS = 64;
const STREAMS = 200;
const BATCHES = 15;
const encoder = new TextEncoder();
const events = Array.from({ length: EVENTS }, (_, i) => encoder.encode(sseEvent(i, 1)));
const done = encoder.encode(SSE_DONE);

/** Upstreams of the heap measurement, left open after their first events. */
const open: ReadableStreamDefaultController<Uint8Array>[] = [];
let holdOpen = false;

/** The backend's answer: one event per pull, as they would come off a socket (or two, then silence). */
function upstream(): Response {
  if (holdOpen) {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(events[0]);
        controller.enqueue(events[1]);
        open.push(controller);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < EVENTS) controller.enqueue(events[i++]);
      else {
        controller.enqueue(done);
        controller.close();
      }
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const config = parseConfig({
  FAST_BASE_URL: "http://fast.test/v1",
  FAST_MODEL_NAME: "bench-forced-model",
  FAST_API_KEY: "bench-key",
  PROXY_IDLE_TIMEOUT: "0",
  PROXY_LOG: "off",
});
const transports = {
  for: () => async (_url: string, init: RequestInit) => {
    await new Response(init.body).arrayBuffer();
    return upstream();
  },
  close: () => {},
};
const state = buildState(config, transports, () => {});
const body = JSON.stringify({ model: "gpt-4", stream: true, messages: [{ role: "user", content: "hello" }] });

async function oneStream(): Promise<number> {
  const req = new Request("http://proxy.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const res: Response = await handle(state, table, req);
  let bytes = 0;
  for await (const chunk of res.body!) bytes += chunk.length;
  return bytes;
}

const expected = events.reduce((n, e) => n + e.length, done.length);
const got = await oneStream();
if (got !== expected) throw new Error(`a stream came through with ${got} bytes, not ${expected}`);
const perEvent: number[] = [];
for (let b = 0; b < BATCHES; b++) {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: STREAMS }, oneStream));
  perEvent.push((performance.now() - t0) * 1000 / (STREAMS * EVENTS));
}
perEvent.sort((a, b) => a - b);
console.log(
  `${perEvent[BATCHES >> 1].toFixed(2)} µs per event (min ${perEvent[0].toFixed(2)}), ${STREAMS} streams at a time`,
);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  holdOpen = true;
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const openOne = async () => {
    const req = new Request("http://proxy.test/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const reader = (await handle(state, table, req) as Response).body!.getReader();
    await reader.read(); // the first event is through: the stream is relaying
    readers.push(reader);
  };
  for (let i = 0; i < 50; i++) await openOne(); // warm, and outside the measurement
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < 1000; i++) await openOne();
  gc();
  gc();
  const perStream = (Deno.memoryUsage().heapUsed - before) / 1000 / 1024;
  console.log(`${perStream.toFixed(2)} KiB of JS heap per open stream (${readers.length} open)`);
}
Deno.exit(0);
