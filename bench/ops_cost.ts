/**
 * What the metrics' counting costs per request, measured in isolation: the
 * hooks one non-streaming chat completion runs (first byte, usage from the
 * JSON answer, request done) and reading one stream's events (where its usage
 * is found), in ns per request.
 * Run: deno run bench/ops_cost.ts
 */

import { Telemetry } from "../src/ops/telemetry.ts";
import type { LogEntry } from "../src/ops/request_log.ts";
import { CHAT_GRAMMAR } from "../src/stream/event_grammar.ts";
import { SseFramer } from "../src/stream/sse_framer.ts";
import { type Usage, usageFromJson } from "../src/stream/usage.ts";

const t = new Telemetry({
  routes: [
    { name: "fast", host: "h", model: "m", cooling: () => false },
    { name: "smart", host: "h", model: "m2", cooling: () => false },
  ],
  openStreams: () => 0,
});
const body = new TextEncoder().encode(JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "hello ".repeat(50) }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 50, total_tokens: 62 },
}));
const events = Array.from(
  { length: 64 },
  (_, i) => new TextEncoder().encode(`data: {"id":"c","choices":[{"index":0,"delta":{"content":"tok${i} "}}]}\n\n`),
);
events.push(new TextEncoder().encode('data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":64}}\n\n'));

function perOp(name: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < n / 10; i++) fn(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const ns = (performance.now() - start) * 1e6 / n;
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(7)} ns`);
}

perOp("JSON request: firstByte + usageFromJson + requestDone", 500_000, (i) => {
  const entry: LogEntry = {
    method: "POST",
    path: "/v1/chat/completions",
    route: "fast",
    status: 200,
    ms: 1 + (i & 7),
    stream: false,
  };
  t.firstByte("fast", 0.001);
  const u = usageFromJson(body);
  if (u) t.tokens("fast", u);
  t.requestDone(entry);
});
// A stream's usage is read where the relay reads every event: framed once, each read through its grammar.
perOp("stream of 64 events + usage chunk: frame and read every event", 20_000, () => {
  const framer = new SseFramer();
  let usage: Usage | undefined;
  for (const e of events) {
    for (const event of framer.push(e)) usage = CHAT_GRAMMAR.inspect(event).usage ?? usage;
  }
  if (usage) t.tokens("smart", usage);
});
perOp("one /metrics render (for scale)", 2_000, () => void t.registry.render());
