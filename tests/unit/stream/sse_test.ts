import assert from "node:assert/strict";
import { type FirstEvent, FirstEventScanner, isCommentOnly, judgeEvent, splitEvents } from "../../../src/stream/sse.ts";

const enc = new TextEncoder();

// ---------------------------------------------------------------------------
// splitEvents
// ---------------------------------------------------------------------------

const splitCases: { name: string; text: string; events: string[]; rest: string }[] = [
  { name: "empty", text: "", events: [], rest: "" },
  { name: "one LF event", text: "data: a\n\n", events: ["data: a\n\n"], rest: "" },
  { name: "event plus partial", text: "data: a\n\ndata: b", events: ["data: a\n\n"], rest: "data: b" },
  { name: "partial line ending", text: "data: a\n", events: [], rest: "data: a\n" },
  { name: "two events", text: "data: a\n\ndata: b\n\n", events: ["data: a\n\n", "data: b\n\n"], rest: "" },
  { name: "CRLF event", text: "data: a\r\n\r\n", events: ["data: a\r\n\r\n"], rest: "" },
  { name: "CR event", text: "data: a\r\rdata: b\r\rx", events: ["data: a\r\r", "data: b\r\r"], rest: "x" },
  {
    name: "mixed line endings",
    text: "data: a\n\r\ndata: b\r\n\n",
    events: ["data: a\n\r\n", "data: b\r\n\n"],
    rest: "",
  },
  { name: "trailing CR is held back (LF may follow)", text: "data: a\r\n\r", events: [], rest: "data: a\r\n\r" },
  { name: "trailing lone CR after line", text: "data: a\r", events: [], rest: "data: a\r" },
  {
    name: "multi-line event",
    text: 'event: message\ndata: {"a":\ndata: 1}\nid: 7\n\nrest',
    events: ['event: message\ndata: {"a":\ndata: 1}\nid: 7\n\n'],
    rest: "rest",
  },
  { name: "comment event", text: ": keep-alive\n\ndata: x\n\n", events: [": keep-alive\n\n", "data: x\n\n"], rest: "" },
  { name: "unicode", text: "data: héllo 🌍\n\n", events: ["data: héllo 🌍\n\n"], rest: "" },
];

for (const c of splitCases) {
  Deno.test(`sse splitEvents: ${c.name}`, () => {
    const got = splitEvents(c.text);
    assert.deepEqual(got, { events: c.events, rest: c.rest });
    assert.equal(got.events.join("") + got.rest, c.text);
  });
}

// ---------------------------------------------------------------------------
// isCommentOnly
// ---------------------------------------------------------------------------

const commentCases: { event: string; comment: boolean }[] = [
  { event: ": keep-alive\n\n", comment: true },
  { event: ":\n\n", comment: true },
  { event: ": a\n: b\n\n", comment: true },
  { event: ": ping\r\n\r\n", comment: true },
  { event: ": ping\r\r", comment: true },
  { event: "\n", comment: true },
  { event: "data: x\n\n", comment: false },
  { event: ": c\ndata: x\n\n", comment: false },
  { event: "event: ping\n\n", comment: false },
  { event: " : not a comment\n\n", comment: false },
  { event: "id: 1\n\n", comment: false },
];

for (const c of commentCases) {
  Deno.test(`sse isCommentOnly: ${JSON.stringify(c.event)} -> ${c.comment}`, () => {
    assert.equal(isCommentOnly(c.event), c.comment);
  });
}

// ---------------------------------------------------------------------------
// judgeEvent
// ---------------------------------------------------------------------------

const judgeCases: { name: string; event: string; want: FirstEvent }[] = [
  {
    name: "normal chunk",
    event: 'data: {"id":"1","choices":[{"delta":{"content":"hi"}}]}\n\n',
    want: { isError: false },
  },
  { name: "[DONE]", event: "data: [DONE]\n\n", want: { isError: false } },
  { name: "plain text data", event: "data: hello\n\n", want: { isError: false } },
  {
    name: "data error object",
    event: 'data: {"error":{"message":"model overloaded","type":"server_error"}}\n\n',
    want: { isError: true, message: "model overloaded" },
  },
  {
    name: "data error string",
    event: 'data: {"error":"bad things"}\n\n',
    want: { isError: true, message: "bad things" },
  },
  {
    name: "data error without space after colon",
    event: 'data:{"error":{"message":"x"}}\n\n',
    want: { isError: true, message: "x" },
  },
  {
    name: "data error with CRLF",
    event: 'data: {"error":{"message":"x"}}\r\n\r\n',
    want: { isError: true, message: "x" },
  },
  {
    name: "data error with CR",
    event: 'data: {"error":{"message":"x"}}\r\r',
    want: { isError: true, message: "x" },
  },
  {
    name: "data error split over data lines",
    event: 'data: {"error":\ndata: {"message":"multi"}}\n\n',
    want: { isError: true, message: "multi" },
  },
  { name: "error null is not an error", event: 'data: {"error":null,"choices":[]}\n\n', want: { isError: false } },
  { name: "error_count is not an error", event: 'data: {"error_count":0}\n\n', want: { isError: false } },
  {
    name: "event: error with JSON message",
    event: 'event: error\ndata: {"message":"rate limited"}\n\n',
    want: { isError: true, message: "rate limited" },
  },
  { name: "event: error with text", event: "event: error\ndata: oops\n\n", want: { isError: true, message: "oops" } },
  { name: "event:error, no data", event: "event:error\n\n", want: { isError: true } },
  { name: "event: error with padding", event: "event:   error  \ndata: x\n\n", want: { isError: true, message: "x" } },
  { name: "event: message", event: 'event: message\ndata: {"a":1}\n\n', want: { isError: false } },
  { name: "comment lines ignored", event: ': note\ndata: {"choices":[]}\n\n', want: { isError: false } },
  { name: "error with non-string message", event: 'data: {"error":{"code":500}}\n\n', want: { isError: true } },
];

for (const c of judgeCases) {
  Deno.test(`sse judgeEvent: ${c.name}`, () => {
    const got = judgeEvent(c.event);
    assert.equal(got.isError, c.want.isError);
    if ("message" in c.want) assert.equal(got.message, c.want.message);
    if (!c.want.isError) assert.equal(got.message, undefined);
  });
}

// ---------------------------------------------------------------------------
// FirstEventScanner
// ---------------------------------------------------------------------------

function scanChunks(chunks: Uint8Array<ArrayBuffer>[]): { verdict: FirstEvent | undefined; at: number } {
  const s = new FirstEventScanner();
  for (let i = 0; i < chunks.length; i++) {
    const v = s.push(chunks[i]);
    if (v !== undefined) return { verdict: v, at: i };
  }
  return { verdict: undefined, at: -1 };
}

const streams: { name: string; text: string; want: FirstEvent | undefined }[] = [
  { name: "ok first event", text: 'data: {"choices":[{"delta":{"content":"é🌍"}}]}\n\n', want: { isError: false } },
  {
    name: "keep-alives then ok",
    text: ': keep-alive\n\n: keep-alive\r\n\r\ndata: {"choices":[]}\n\n',
    want: { isError: false },
  },
  {
    name: "keep-alives then error",
    text: ': ping\n\ndata: {"error":{"message":"überlastet 🌍"}}\n\n',
    want: { isError: true, message: "überlastet 🌍" },
  },
  { name: "event: error CRLF", text: "event: error\r\ndata: boom\r\n\r\n", want: { isError: true, message: "boom" } },
  {
    name: "event: error CR",
    text: "event: error\rdata: boom\r\rdata: x\n\n",
    want: { isError: true, message: "boom" },
  },
  { name: "only keep-alives", text: ": a\n\n: b\n\n", want: undefined },
  { name: "incomplete first event", text: 'data: {"error":{"message":"x"}}\n', want: undefined },
  { name: "ok then error: first decides", text: 'data: {"a":1}\n\ndata: {"error":"x"}\n\n', want: { isError: false } },
  { name: "not SSE at all", text: '{"id":"chatcmpl","choices":[]}', want: undefined },
];

for (const c of streams) {
  Deno.test(`sse FirstEventScanner: ${c.name}, whole and split at every byte position`, () => {
    const bytes = enc.encode(c.text);
    const whole = scanChunks([bytes]).verdict;
    assert.deepEqual(whole, c.want);
    // Two chunks, split at every position (including inside multi-byte characters).
    for (let i = 0; i <= bytes.length; i++) {
      const got = scanChunks([bytes.slice(0, i), bytes.slice(i)]).verdict;
      assert.deepEqual(got, c.want, `split at ${i}`);
    }
    // One byte per chunk.
    const singles = Array.from(bytes, (b) => new Uint8Array([b]));
    assert.deepEqual(scanChunks(singles).verdict, c.want, "byte by byte");
  });
}

Deno.test("sse FirstEventScanner: the verdict comes as soon as the first real event is complete", () => {
  const text = ': keep-alive\n\ndata: {"choices":[]}\n\ndata: more\n\n';
  const bytes = enc.encode(text);
  const singles = Array.from(bytes, (b) => new Uint8Array([b]));
  const { verdict, at } = scanChunks(singles);
  assert.deepEqual(verdict, { isError: false });
  assert.equal(at, text.indexOf("\n\ndata: more") + 1, "decided on the blank line ending the first data event");
});

Deno.test("sse FirstEventScanner: keep-alive alone gives no verdict, later event does", () => {
  const s = new FirstEventScanner();
  assert.equal(s.push(enc.encode(": keep-alive\n\n")), undefined);
  assert.equal(s.push(enc.encode(": keep-alive\n\n")), undefined);
  assert.equal(s.push(enc.encode('data: {"error":{"message":"late"}}\n')), undefined);
  assert.deepEqual(s.push(enc.encode("\n")), { isError: true, message: "late" });
});

Deno.test("FirstEventScanner: blocks with only id: or retry: are not the first event", () => {
  const scanner = new FirstEventScanner();
  const enc = new TextEncoder();
  assert.equal(scanner.push(enc.encode("retry: 1000\n\nid: 7\n\n: ping\n\n")), undefined);
  assert.deepEqual(scanner.push(enc.encode('data: {"error":{"message":"overloaded"}}\n\n')), {
    isError: true,
    message: "overloaded",
  });
});
