/**
 * What the benchmark sends and what its fake backends answer, shared by the
 * nginx configuration and the Deno backend so every target sees the same bytes.
 *
 * @module
 */

/** A typical small chat completion request (the model is forced by the proxies that can). */
export const REQUEST_BODY = JSON.stringify({
  model: "gpt-4",
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Say hello in one short sentence." },
  ],
  temperature: 0.2,
  max_tokens: 64,
});

/** The same request, asking for a stream. */
export const STREAM_REQUEST_BODY = JSON.stringify({ ...JSON.parse(REQUEST_BODY), stream: true });

/** The static non-streaming answer. Contains no single quote, so nginx can `return` it. */
export const COMPLETION_BODY = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1700000000,
  model: "bench-model",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "Hello from the benchmark backend." },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 24, completion_tokens: 7, total_tokens: 31 },
});

/** What the failing primary answers (status 503). */
export const FAILURE_BODY = JSON.stringify({
  error: { message: "overloaded (benchmark)", type: "server_error", code: "overloaded" },
});

/**
 * One SSE chunk of the streaming backend. `i` is its index, `t` the backend's
 * wall clock in ms (sub-ms precision) when it was written, so the client can
 * measure each event's one-way delay on the same machine.
 */
export function sseEvent(i: number, t: number): string {
  return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model",` +
    `"choices":[{"index":0,"delta":{"content":"tok${i} "}}],"i":${i},"t":${t.toFixed(3)}}\n\n`;
}

/** The last SSE event of a chat completion stream. */
export const SSE_DONE = "data: [DONE]\n\n";

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
