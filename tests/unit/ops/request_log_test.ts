import assert from "node:assert/strict";
import {
  BatchedLog,
  boundedRequested,
  formatLogLine,
  type LogEntry,
  MAX_REQUESTED,
} from "../../../src/ops/request_log.ts";
import { KeyMasker } from "../../../src/security/key_masker.ts";

const NOW = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
const TS = "2025-01-02T03:04:05.678Z";

const base: LogEntry = {
  method: "POST",
  path: "/v1/chat/completions",
  requested: "gpt-4",
  route: "fast",
  model: "accounts/fireworks/models/deepseek-v4-pro",
  status: 200,
  ms: 12.34,
  stream: false,
};

const exactCases: { name: string; entry: LogEntry; want: string }[] = [
  {
    name: "plain json request",
    entry: base,
    want:
      `${TS} POST /v1/chat/completions model=gpt-4 -> fast:accounts/fireworks/models/deepseek-v4-pro 200 12.3ms json fallback=no`,
  },
  {
    name: "stream with fallback and end",
    entry: {
      ...base,
      requested: "smart",
      route: "fast",
      model: "m",
      stream: true,
      fallback: "status_503",
      end: "done",
    },
    want: `${TS} POST /v1/chat/completions model=smart -> fast:m 200 12.3ms stream end=done fallback=status_503`,
  },
  {
    name: "no model, no route (404)",
    entry: { method: "GET", path: "/nope", status: 404, ms: 0.04, stream: false },
    want: `${TS} GET /nope model=- 404 0.0ms json fallback=no`,
  },
  {
    name: "non-string model",
    entry: { ...base, requested: { type: "number" } },
    want:
      `${TS} POST /v1/chat/completions model=<number> -> fast:accounts/fireworks/models/deepseek-v4-pro 200 12.3ms json fallback=no`,
  },
  {
    name: "object model",
    entry: { ...base, requested: { type: "object" }, route: undefined },
    want: `${TS} POST /v1/chat/completions model=<object> 200 12.3ms json fallback=no`,
  },
  {
    name: "null model is logged as null, not as an object",
    entry: { ...base, requested: null, route: undefined },
    want: `${TS} POST /v1/chat/completions model=null 200 12.3ms json fallback=no`,
  },
  {
    name: "array model",
    entry: { ...base, requested: { type: "array" }, route: undefined },
    want: `${TS} POST /v1/chat/completions model=<array> 200 12.3ms json fallback=no`,
  },
  {
    name: "empty model is quoted",
    entry: { ...base, requested: "", route: undefined },
    want: `${TS} POST /v1/chat/completions model="" 200 12.3ms json fallback=no`,
  },
];

for (const c of exactCases) {
  Deno.test(`request log: ${c.name}`, () => {
    assert.equal(formatLogLine(c.entry, NOW), c.want);
  });
}

const hostile: string[] = [
  "gpt-4\n2025-01-01T00:00:00.000Z POST /v1/admin model=x 200 1.0ms json fallback=no",
  "gpt-4\r\nforged",
  "gpt-4\rforged",
  'a" status=200 "b',
  'a\\" -> smart:x 500 1.0ms json fallback=no',
  "back\\slash",
  "tab\there",
  "nul\0byte",
  "esc\x1b[31mred",
  "line\u2028separator",
  "paragraph\u2029separator",
  "space in name",
  "x".repeat(10_000),
  "\n".repeat(10_000),
];

// One field: a bare token without spaces or quotes, or one JSON string literal.
const LINE = new RegExp(
  `^${TS} POST /v1/chat/completions model=("(?:[^"\\\\]|\\\\.)*"|[^\\s"\\\\]+) -> fast:accounts/fireworks/models/deepseek-v4-pro 200 12\\.3ms json fallback=no$`,
);

for (const model of hostile) {
  Deno.test(`request log: hostile model ${JSON.stringify(model.slice(0, 30))} cannot forge or flood lines`, () => {
    const line = formatLogLine({ ...base, requested: model }, NOW);
    assert.ok(!/[\r\n\u2028\u2029\u0085]/.test(line), `one physical line: ${JSON.stringify(line)}`);
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\x00-\x1f]/.test(line), "no raw control characters");
    assert.ok(line.length < 400, `bounded length: ${line.length}`);
    const m = LINE.exec(line);
    assert.ok(m, `fields intact: ${line}`);
    const field = m[1];
    const shown: string = field.startsWith('"') ? JSON.parse(field) : field;
    assert.ok(model.startsWith(shown.replace(/…$/, "")), "the field decodes to the model (maybe cut)");
  });
}

Deno.test("request log: never includes bodies or keys even if present on the entry", () => {
  const entry = {
    ...base,
    body: '{"messages":[{"content":"SECRET PROMPT"}]}',
    apiKey: "sk-live-secret",
    headers: { authorization: "Bearer sk-live-secret" },
  } as unknown as LogEntry;
  const line = formatLogLine(entry, NOW);
  assert.ok(!line.includes("SECRET"));
  assert.ok(!line.includes("sk-live-secret"));
  assert.equal(line, formatLogLine(base, NOW));
});

Deno.test("request log: BatchedLog writes queued lines once, in order, on flush", () => {
  const writes: string[] = [];
  const log = new BatchedLog((t) => writes.push(t));
  log.line("one");
  log.line("two");
  log.line("three");
  assert.deepEqual(writes, [], "nothing written synchronously");
  log.flush();
  assert.deepEqual(writes, ["one\ntwo\nthree\n"]);
  log.flush();
  assert.deepEqual(writes, ["one\ntwo\nthree\n"], "empty flush writes nothing");
  log.line("four");
  log.flush();
  assert.deepEqual(writes, ["one\ntwo\nthree\n", "four\n"]);
});

Deno.test("request log: BatchedLog flushes by itself on the next turn", async () => {
  const writes: string[] = [];
  const written = new Promise<void>((resolve) => {
    const log = new BatchedLog((t) => {
      writes.push(t);
      resolve();
    });
    log.line("auto");
    log.line("second");
    assert.deepEqual(writes, []);
  });
  await written;
  assert.deepEqual(writes, ["auto\nsecond\n"]);
});

const KEY = "sk-proxy-client-0123456789";
const masker = new KeyMasker([KEY]);

const boundedCases: { name: string; sent: unknown; kept: unknown }[] = [
  { name: "a model name is kept as sent", sent: "gpt-4", kept: "gpt-4" },
  { name: "no model stays absent", sent: undefined, kept: undefined },
  { name: "a null model stays null", sent: null, kept: null },
  { name: "a number is kept as its type", sent: 42, kept: { type: "number" } },
  { name: "a boolean is kept as its type", sent: true, kept: { type: "boolean" } },
  { name: "an object is kept as its type, never its content", sent: { evil: "\n" }, kept: { type: "object" } },
  { name: "an array is an array, not an object", sent: ["gpt-4"], kept: { type: "array" } },
  { name: "a key in the name is masked", sent: `gpt-4-${KEY}`, kept: "gpt-4-***" },
  { name: "a long name is cut to 200 and marked", sent: "m".repeat(10_000), kept: `${"m".repeat(200)}…` },
];

for (const c of boundedCases) {
  Deno.test(`request log: boundedRequested: ${c.name}`, () => {
    assert.deepEqual(boundedRequested(c.sent, masker), c.kept);
  });
}

Deno.test("request log: boundedRequested masks before it cuts, so a key across the cut leaves no prefix", () => {
  assert.equal(MAX_REQUESTED, 200);
  for (let at = MAX_REQUESTED - KEY.length; at <= MAX_REQUESTED; at++) {
    const kept = boundedRequested(`${"m".repeat(at)}${KEY}${"n".repeat(300)}`, masker);
    assert.equal(typeof kept, "string");
    assert.match(kept as string, /^m*\**n*…$/, `key at ${at}`);
  }
});

Deno.test("request log: a kept model is what the line shows, masked and bounded", () => {
  const line = formatLogLine({ ...base, requested: boundedRequested(`${KEY}\n${"x".repeat(500)}`, masker) }, NOW);
  assert.ok(!line.includes(KEY.slice(0, 8)), line);
  assert.match(line, / model="\*\*\*\\nx+…" -> fast:/);
});
