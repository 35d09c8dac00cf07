/**
 * The status page's "last error": one line of at most 200 characters saying
 * what a failed attempt said, keys masked in every spelling before the text
 * is decoded or cut, so no key and no key's prefix survives.
 */

import assert from "node:assert/strict";
import { describeFailure } from "../../../src/ops/failure_text.ts";
import { KeyMasker } from "../../../src/security/key_masker.ts";
import { CHAT_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import { sseEvent } from "../../../src/stream/sse_framer.ts";
import type { Failure } from "../../../src/upstream/failure.ts";

const KEY = "sk-upstream/0123456789abcdef";
const masker = new KeyMasker([KEY, "sk-other-route-0123"]);
const encoder = new TextEncoder();

/** A 5xx (or 429) answer with `body`. */
function status(code: number, body: string): Failure {
  return {
    kind: "status",
    code,
    retryAfterMs: undefined,
    answer: { status: code, headers: new Headers(), body: encoder.encode(body) },
  };
}

/** `key` as JSON's `\uXXXX` escapes, one per character. */
const escaped = (key: string) => [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

const cases: { name: string; failure: Failure; said: string }[] = [
  { name: "a timeout", failure: { kind: "timeout" }, said: "no answer within PROXY_TIMEOUT" },
  { name: "a connection failure", failure: { kind: "connect" }, said: "could not connect to the backend" },
  { name: "a departed client", failure: { kind: "client_gone" }, said: "the client left" },
  { name: "a redirect", failure: { kind: "redirect", code: 307 }, said: "HTTP 307 (a redirect, not followed)" },
  { name: "a bad stream, as it said", failure: { kind: "bad_stream", message: "boom" }, said: "boom" },
  {
    name: "a bad response, on one line",
    failure: { kind: "bad_response", code: "upstream_bad_status", message: "  status 999,\n\tnot relayed \r\n" },
    said: "status 999, not relayed",
  },
  {
    name: "a status with OpenAI's error shape",
    failure: status(503, '{"error":{"message":"model overloaded","type":"server_error"}}'),
    said: "HTTP 503: model overloaded",
  },
  {
    name: "a status with Anthropic's error shape",
    failure: status(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    said: "HTTP 529: Overloaded",
  },
  { name: "a status with a text body", failure: status(502, "Bad Gateway\n"), said: "HTTP 502: Bad Gateway" },
  { name: "a status with an empty body", failure: status(500, ""), said: "HTTP 500" },
  { name: "a 429", failure: status(429, '{"message":"slow down"}'), said: "HTTP 429: slow down" },
  {
    name: "a long message, cut to 200 and marked",
    failure: status(500, JSON.stringify({ error: { message: "m".repeat(5000) } })),
    said: `HTTP 500: ${"m".repeat(200)}…`,
  },
];

for (const c of cases) {
  Deno.test(`describeFailure: ${c.name}`, () => {
    assert.equal(describeFailure(c.failure, masker), c.said);
  });
}

Deno.test("describeFailure: keys are masked in every kind of failure that carries text", () => {
  const spellings = [KEY, escaped(KEY), encodeURIComponent(KEY), KEY.replace("/", "\\/")];
  for (const spelled of spellings) {
    assert.equal(
      describeFailure(status(500, `{"error":{"message":"bad key ${spelled}"}}`), masker),
      "HTTP 500: bad key ***",
    );
    assert.equal(describeFailure(status(500, `upstream said ${spelled}`), masker), "HTTP 500: upstream said ***");
  }
  // Messages of bad streams and answers are text already decoded: the literal and the URL spelling are what remain.
  for (const spelled of [KEY, encodeURIComponent(KEY)]) {
    assert.equal(describeFailure({ kind: "bad_stream", message: `error: ${spelled}` }, masker), "error: ***");
    assert.equal(describeFailure({ kind: "bad_response", code: "x", message: `${spelled}!` }, masker), "***!");
  }
});

Deno.test("describeFailure: a key straddling the 200-character cut never leaves a prefix", () => {
  for (const spelled of [KEY, escaped(KEY)]) {
    for (let at = 150; at <= 200; at++) {
      const message = `${"p".repeat(at)}${spelled}${"q".repeat(300)}`;
      // The body as a backend sends it: the key escaped in the JSON text, so only a reader sees it.
      const said = describeFailure(status(500, `{"error":{"message":"${message}"}}`), masker);
      // Nothing but filler and the mask (itself perhaps cut) may show before the cut.
      assert.match(said, /^HTTP 500: p*\**q*…$/, `at ${at}: ${said.slice(-40)}`);
      assert.equal(said, `HTTP 500: ${`${"p".repeat(at)}***${"q".repeat(300)}`.slice(0, 200)}…`);
    }
  }
});

Deno.test("describeFailure: a key in a long body is masked before the message is read out of it", () => {
  // errorMessageOf reads at most 500 characters; the key straddles that cut in the raw body.
  const message = `${"p".repeat(480)}${escaped(KEY)}`;
  const said = describeFailure(status(500, `{"error":{"message":"${message}"}}`), masker);
  assert.equal(said, `HTTP 500: ${"p".repeat(200)}…`);
  const collapsed = describeFailure(status(500, `a${" ".repeat(480)}${escaped(KEY)} tail`), masker);
  assert.equal(collapsed, "HTTP 500: a *** tail", "whitespace collapsed after masking: the mask, not a prefix");
});

// BUG?: an SSE error event whose data is plain text is read by errorMessageOf, which cuts it to 500
// characters before anything is masked. A key straddling that cut leaves its prefix in the message;
// describeFailure then collapses whitespace, and the prefix moves inside the 200 characters shown.
// (The same message is what the client's error event says.)
Deno.test("describeFailure: a bad stream's error text never shows a key's prefix", () => {
  const data = `a${" ".repeat(470)}${"b".repeat(20)}${KEY} tail`;
  const info = CHAT_GRAMMAR.inspect(sseEvent(encoder.encode(`event: error\ndata: ${data}\n\n`)));
  assert.equal(info.kind, "error");
  const said = describeFailure({ kind: "bad_stream", message: info.message! }, masker);
  assert.ok(!said.includes(KEY.slice(0, 4)), said);
});
