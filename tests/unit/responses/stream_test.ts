/**
 * The Responses stream translator (chat chunks in, Responses events out),
 * driven as the relay drives it: upstream bytes framed into events, each
 * read by the chat grammar, through the real EventStages. Every stream is
 * checked against the accumulator rules openai-node enforces (created first,
 * then in_progress; no delta before its item and part; output_item.done for
 * every item; one terminal event, last; sequence numbers counting from 0; no
 * unknown event types), and a seeded property test cuts the same bytes
 * anywhere and expects the same events.
 */

import assert from "node:assert/strict";
import { ItemStore } from "../../../src/responses/item_store.ts";
import { translateResponsesRequest } from "../../../src/responses/request.ts";
import { ResponsesStreamTranslator } from "../../../src/responses/stream.ts";
import { CHAT_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import { EventStages } from "../../../src/stream/event_stages.ts";
import { END_MESSAGES } from "../../../src/stream/relay.ts";
import { SseFramer } from "../../../src/stream/sse_framer.ts";

type Json = Record<string, unknown>;
interface Ev {
  event: string;
  data: Json;
}

// ---------------------------------------------------------------------------
// Upstream chat chunks

/** One `data:` event of a chat chunk with the given choice delta and finish reason (null delta: no choices). */
function chunk(delta: Json | null, finish: string | null = null, extra: Json = {}): string {
  const choices = delta === null ? [] : [{ index: 0, delta, finish_reason: finish, logprobs: null }];
  const body = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "backend", choices, ...extra };
  return `data: ${JSON.stringify(body)}\n\n`;
}
/** The empty-choices usage chunk `stream_options.include_usage` adds before `[DONE]`. */
const usage = (prompt: number, completion: number, details: Json = {}) =>
  chunk(null, null, { usage: { prompt_tokens: prompt, completion_tokens: completion, ...details } });
/** A tool call fragment; `head` starts the call (its id and name). */
const call = (index: number | undefined, args: string, head?: { id: string; name: string }): Json => ({
  tool_calls: [{
    ...(index === undefined ? {} : { index }),
    ...(head ? { id: head.id, type: "function", function: { name: head.name, arguments: args } } : {
      function: { arguments: args },
    }),
  }],
});
const DONE = "data: [DONE]\n\n";

const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+héllo 😀\n*** End Patch\n";
const LONG = "mcp__a_very_long_server_name_for_testing__and_a_long_tool_name_beyond64";

/** The tools the client offered: a function, Codex's custom apply_patch, a namespace, tool_search, local_shell. */
const TOOLS = [
  { type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } } } },
  { type: "function", name: "view_image", parameters: null },
  { type: "custom", name: "apply_patch", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
  { type: "namespace", name: "multi_agent_v1", tools: [{ type: "function", name: "spawn_agent", parameters: null }] },
  { type: "tool_search", execution: "client", parameters: { type: "object" } },
  { type: "local_shell" },
  { type: "function", name: LONG, parameters: null },
];

/** Named upstream streams, every one also cut at random by the property test. */
const FIXTURES: Record<string, string> = {
  text: chunk({ role: "assistant", content: "" }) + chunk({ content: "Héllo, " }) + chunk({ content: "wörld 😀" }) +
    chunk({}, "stop") + usage(11, 4) + DONE,
  reasoning_then_text: chunk({ role: "assistant", reasoning_content: "Think: " }) +
    chunk({ reasoning_content: "2+2=4." }) + chunk({ content: "4" }) + chunk({}, "stop") +
    usage(9, 6, { completion_tokens_details: { reasoning_tokens: 5 } }) + DONE,
  text_then_call: chunk({ role: "assistant", content: "Let me check." }) +
    chunk(call(0, "", { id: "call_a", name: "exec_command" })) + chunk(call(0, '{"cmd": "l')) +
    chunk(call(0, 's"}')) + chunk({}, "tool_calls") + usage(20, 8) + DONE,
  two_parallel_interleaved: chunk({ role: "assistant", content: "Both." }) +
    chunk(call(0, "", { id: "call_a", name: "exec_command" })) + chunk(call(0, '{"cmd": "da')) +
    chunk(call(1, "", { id: "call_b", name: "view_image" })) + chunk(call(1, '{"path": ')) +
    chunk(call(0, 'te"}')) + chunk(call(1, '"a.png"}')) + chunk({}, "tool_calls") + usage(50, 20) + DONE,
  gemini_calls_without_index: chunk(call(undefined, '{"cmd":"a"}', { id: "call_1", name: "exec_command" })) +
    chunk(call(undefined, '{"path":"b"}', { id: "call_2", name: "view_image" })) + chunk({}, "tool_calls") + DONE,
  custom_apply_patch: chunk({ role: "assistant", content: "Writing it." }) +
    chunk(call(0, "", { id: "call_p", name: "apply_patch" })) +
    chunk(call(0, JSON.stringify({ input: PATCH }).slice(0, 25))) +
    chunk(call(0, JSON.stringify({ input: PATCH }).slice(25))) + chunk({}, "tool_calls") + DONE,
  namespace_tool_search_and_shell:
    chunk(call(0, '{"task":"t"}', { id: "call_ns", name: "multi_agent_v1__spawn_agent" })) +
    chunk(call(1, '{"query":"agents","limit":3}', { id: "call_ts", name: "tool_search" })) +
    chunk(call(2, '{"command":["ls","-la"],"workdir":"/tmp"}', { id: "call_ls", name: "local_shell" })) +
    chunk({}, "tool_calls") + DONE,
  text_after_a_call: chunk(call(0, "{}", { id: "call_a", name: "view_image" })) +
    chunk({ content: "And then " }) + chunk({ content: "some text." }) + chunk({}, "tool_calls") + DONE,
  length: chunk({ role: "assistant", content: "cut sh" }) + chunk({}, "length") + usage(5, 2) + DONE,
  content_filter: chunk({ content: "I can" }, "content_filter") + DONE,
  finish_without_done: chunk({ content: "ok" }) + chunk({}, "stop"),
  truncated: chunk({ role: "assistant", content: "half" }),
  error_chunk: chunk({ content: "a" }) + `data: {"error":{"message":"overloaded"}}\n\n`,
  keepalive_and_crlf: ": keep-alive\r\n\r\n" + chunk({ content: "a" }).replaceAll("\n", "\r\n") +
    chunk({ content: "b" }, "stop") + DONE,
};

// ---------------------------------------------------------------------------
// The translator, as the relay drives it

const dec = (bytes: Uint8Array | undefined) => bytes === undefined ? "" : new TextDecoder().decode(bytes);
const bytesOf = (s: string) => new TextEncoder().encode(s);

/** A translator behind the real stages, for a request that offered `body.tools` (TOOLS by default). */
class Driven {
  readonly store = new ItemStore();
  readonly translator: ResponsesStreamTranslator;
  readonly #stages: EventStages;
  constructor(body: Json = {}) {
    const t = translateResponsesRequest(
      { model: "gpt-5.5", input: "hi", stream: true, tools: TOOLS, ...body },
      this.store,
    );
    this.translator = new ResponsesStreamTranslator(t, this.store);
    this.#stages = new EventStages([], new SseFramer(), CHAT_GRAMMAR, this.translator);
  }
  /** The client's text for a chunk of upstream bytes. */
  push(bytes: Uint8Array | string): string {
    const b = typeof bytes === "string" ? bytesOf(bytes) : bytes;
    return dec(this.#stages.push(b as Uint8Array<ArrayBuffer>).out);
  }
  /** The upstream closed: the closing events, or the truncation failure the relay would send. */
  end(): string {
    const closed = this.#stages.close();
    if (closed.end !== "truncated") return dec(closed.out);
    return dec(this.#stages.fail(...END_MESSAGES.truncated));
  }
  /** The relay failed the stream (the backend broke off). */
  error(): string {
    return dec(this.#stages.fail(...END_MESSAGES.broken));
  }
}

/** Runs bytes cut into `pieces`; every non-empty output is whole events. */
function run(pieces: (Uint8Array | string)[], d = new Driven()): string {
  let out = "";
  for (const p of pieces) {
    const text = d.push(p);
    if (text !== "") assert.ok(text.endsWith("\n\n"), `partial event sent: ${JSON.stringify(text.slice(-40))}`);
    out += text;
  }
  return out + d.end();
}

/** SSE text as events; each has an `event:` line equal to its data's `type`. */
function parse(text: string): Ev[] {
  return text.split("\n\n").filter((b) => b !== "").map((block) => {
    const [eventLine, dataLine, ...rest] = block.split("\n");
    assert.equal(rest.length, 0, "one event line and one data line");
    assert.ok(eventLine.startsWith("event: "), `event line: ${eventLine}`);
    assert.ok(dataLine.startsWith("data: "), `data line: ${dataLine}`);
    const data = JSON.parse(dataLine.slice(6));
    assert.equal(data.type, eventLine.slice(7), "the event line matches data.type");
    return { event: eventLine.slice(7), data };
  });
}

const events = (fixture: string, d = new Driven()) => parse(run([fixture], d));
const types = (evs: Ev[]) => evs.map((e) => e.event);

// ---------------------------------------------------------------------------
// The accumulator openai-node runs (ResponseStream + ResponseAccumulator), as a checker

/** Every event type openai-node's accumulator knows that this translator may send. */
const KNOWN = new Set([
  "response.created",
  "response.in_progress",
  "response.output_item.added",
  "response.output_item.done",
  "response.content_part.added",
  "response.content_part.done",
  "response.output_text.delta",
  "response.output_text.done",
  "response.reasoning_text.delta",
  "response.reasoning_text.done",
  "response.refusal.delta",
  "response.refusal.done",
  "response.function_call_arguments.delta",
  "response.function_call_arguments.done",
  "response.custom_tool_call_input.delta",
  "response.custom_tool_call_input.done",
  "response.completed",
  "response.incomplete",
  "response.failed",
  "error",
]);
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

interface Accumulated {
  /** The snapshot an SDK holds at the end (the terminal event's response). */
  response: Json;
  /** What the deltas and `.added`/`.done` events built, before the terminal event replaced it. */
  built: Json[];
  /** The items of the output_item.done events, by output_index. */
  done: Json[];
  /** The terminal event. */
  terminal: Ev;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Checks the rules openai-node enforces (research notes 3.3/3.4) and returns what a client assembles. */
function accumulate(evs: Ev[]): Accumulated {
  assert.ok(evs.length >= 3, "created, in_progress and a terminal event at least");
  evs.forEach((e, i) => {
    assert.equal(typeof e.data.type, "string", "every event has a type");
    assert.ok(KNOWN.has(e.event), `unknown event type ${e.event} (openai-node throws on it)`);
    assert.equal(e.data.sequence_number, i, `sequence_number counts from 0 (${e.event})`);
  });
  assert.equal(evs[0].event, "response.created", "the first event is response.created");
  assert.equal(evs[1].event, "response.in_progress", "then response.in_progress");
  const created = evs[0].data.response as Json;
  assert.equal(created.object, "response");
  assert.match(created.id as string, /^resp_[0-9a-f]{24}$/);
  assert.equal(created.status, "in_progress");
  assert.deepEqual(created.output, []);
  assert.equal(created.usage, null);
  assert.deepEqual(evs[1].data.response, created, "in_progress carries the same response");

  let snapshot = clone(created);
  const output = snapshot.output as Json[];
  const done: Json[] = [];
  let terminal: Ev | undefined;
  for (const [i, e] of evs.entries()) {
    assert.equal(terminal, undefined, `nothing after the terminal event, got ${e.event}`);
    const d = e.data;
    const item = (): Json => {
      const it = output[d.output_index as number];
      assert.ok(it, `missing output at index ${d.output_index} (${e.event})`);
      if (d.item_id !== undefined) assert.equal(d.item_id, it.id, `item_id of ${e.event}`);
      assert.equal(done[d.output_index as number], undefined, `${e.event} after the item's output_item.done`);
      return it;
    };
    const part = (type: string): Json => {
      const content = item().content as Json[] | undefined;
      const p = content?.[d.content_index as number];
      assert.ok(p, `missing content at index ${d.content_index} (${e.event})`);
      assert.equal(p.type, type, `expected content to be '${type}'`);
      return p;
    };
    switch (e.event) {
      case "response.created":
        assert.equal(i, 0);
        break;
      case "response.in_progress":
        assert.equal(i, 1, "in_progress only right after created (it replaces the snapshot)");
        break;
      case "response.output_item.added": {
        assert.equal(d.output_index, output.length, "output indexes count up from 0");
        const it = d.item as Json;
        assert.match(it.id as string, /^(msg|rs|fc|ctc|tsc|lsh)_[0-9a-f]{24}$/);
        if (it.type !== "reasoning") assert.equal(it.status, "in_progress", `added ${it.type} is in_progress`);
        if (it.type === "message") assert.deepEqual(it.content, []);
        if (it.type === "reasoning") assert.deepEqual(it.summary, []);
        if (it.type === "function_call") assert.equal(it.arguments, "");
        if (it.type === "custom_tool_call") assert.equal(it.input, "");
        output.push(clone(it));
        break;
      }
      case "response.content_part.added": {
        const it = item();
        const content = (it.content ??= []) as Json[];
        assert.equal(d.content_index, content.length, "content indexes count up");
        const empty = (d.part as Json).type === "refusal" ? (d.part as Json).refusal : (d.part as Json).text;
        assert.equal(empty, "", "a part starts empty");
        content.push(clone(d.part as Json));
        break;
      }
      case "response.output_text.delta":
        assert.ok(typeof d.delta === "string" && d.delta !== "", "a delta has text");
        part("output_text").text += d.delta as string;
        break;
      case "response.output_text.done":
        assert.equal(d.text, part("output_text").text, "output_text.done has the whole text");
        break;
      case "response.reasoning_text.delta":
        assert.ok(typeof d.delta === "string" && d.delta !== "", "a delta has text");
        part("reasoning_text").text += d.delta as string;
        break;
      case "response.reasoning_text.done":
        assert.equal(d.text, part("reasoning_text").text, "reasoning_text.done has the whole text");
        break;
      case "response.refusal.delta":
        assert.ok(typeof d.delta === "string" && d.delta !== "", "a delta has text");
        part("refusal").refusal += d.delta as string;
        break;
      case "response.refusal.done":
        assert.equal(d.refusal, part("refusal").refusal, "refusal.done has the whole refusal");
        break;
      case "response.content_part.done": {
        const p = part((d.part as Json).type as string);
        const field = p.type === "refusal" ? "refusal" : "text";
        assert.equal((d.part as Json)[field], p[field], "content_part.done has the whole text");
        break;
      }
      case "response.function_call_arguments.delta": {
        const it = item();
        assert.equal(it.type, "function_call");
        it.arguments = (it.arguments as string) + (d.delta as string);
        break;
      }
      case "response.function_call_arguments.done": {
        const it = item();
        assert.equal(d.arguments, it.arguments, "arguments.done has the arguments the deltas built");
        assert.equal(d.name, it.name);
        break;
      }
      case "response.custom_tool_call_input.delta": {
        const it = item();
        assert.equal(it.type, "custom_tool_call");
        it.input = (it.input as string) + (d.delta as string);
        break;
      }
      case "response.custom_tool_call_input.done":
        assert.equal(d.input, item().input, "input.done has the input the deltas built");
        break;
      case "response.output_item.done": {
        const it = item();
        const whole = d.item as Json;
        assert.equal(whole.id, it.id, "the done item is the added item");
        assert.equal(whole.type, it.type);
        if (whole.type === "message") {
          assert.deepEqual(
            (whole.content as Json[]).map((p) => p.text ?? p.refusal),
            (it.content as Json[]).map((p) => p.text ?? p.refusal),
            "the message's text is what the deltas built",
          );
        }
        if (whole.type === "function_call") assert.equal(whole.arguments, it.arguments);
        if (whole.type === "custom_tool_call") assert.equal(whole.input, it.input);
        output[d.output_index as number] = clone(whole);
        done[d.output_index as number] = whole;
        break;
      }
      case "error":
        assert.equal(evs[i + 1]?.event, "response.failed", "an error event is followed by response.failed");
        assert.ok(d.error && typeof (d.error as Json).message === "string", "the nested error shape OpenAI sends");
        break;
      default:
        assert.ok(TERMINAL.has(e.event));
        terminal = e;
    }
  }
  assert.ok(terminal, "exactly one terminal event");
  const response = terminal.data.response as Json;
  assert.equal(response.id, created.id, "the terminal response is the created one");
  assert.equal(response.object, "response");
  const built = snapshot.output as Json[];
  snapshot = clone(response); // the terminal event replaces the snapshot
  if (terminal.event !== "response.failed") {
    assert.equal(done.filter((x) => x !== undefined).length, built.length, "output_item.done for every item");
    assert.deepEqual(response.output, done, "the terminal output is the items of the output_item.done events");
  } else {
    assert.deepEqual(response.output, done.filter((x) => x !== undefined), "a failed response holds the whole items");
  }
  return { response: snapshot, built, done, terminal };
}

/** An output item without its minted id. */
function bare(item: Json): Json {
  const { id: _, ...rest } = item;
  return rest;
}

// ---------------------------------------------------------------------------
// Scenarios

Deno.test('responses stream: finish_reason "" in every chunk finishes nothing; the real reason does', () => {
  const evs = events(chunk({ content: "Hello" }, "") + chunk({ content: ", world" }, "") + chunk({}, "stop") + DONE);
  const { response, terminal } = accumulate(evs);
  assert.equal(terminal.event, "response.completed");
  assert.deepEqual((response.output as Json[]).map(bare).map((item) => item.content), [[{
    type: "output_text",
    text: "Hello, world",
    annotations: [],
    logprobs: [],
  }]]);
});

Deno.test("responses stream: plain text gives the exact event sequence, usage in response.completed", () => {
  const evs = events(FIXTURES.text);
  assert.deepEqual(types(evs), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const { response, terminal } = accumulate(evs);
  assert.equal(terminal.event, "response.completed");
  assert.equal(response.status, "completed");
  assert.equal(response.incomplete_details, null);
  assert.equal(response.model, "gpt-5.5", "the model the client asked for");
  assert.deepEqual((response.output as Json[]).map(bare), [{
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "Héllo, wörld 😀", annotations: [], logprobs: [] }],
  }]);
  assert.deepEqual(response.usage, {
    input_tokens: 11,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 4,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 15,
  });
  assert.deepEqual(evs[3].data.part, { type: "output_text", text: "", annotations: [], logprobs: [] });
  assert.deepEqual(evs[4].data.logprobs, [], "output_text.delta carries logprobs: []");
});

Deno.test("responses stream: the created response carries the echo fields", () => {
  const d = new Driven({ instructions: "Be brief.", temperature: 0.2, tool_choice: "auto" });
  const created = parse(d.push(FIXTURES.text)).find((e) => e.event === "response.created")!.data.response as Json;
  assert.equal(created.instructions, "Be brief.");
  assert.equal(created.temperature, 0.2);
  assert.equal(created.tool_choice, "auto");
  assert.deepEqual(created.tools, TOOLS);
  assert.equal(created.error, null);
  assert.equal(created.incomplete_details, null);
});

Deno.test("responses stream: text goes out with the chunk that carried it; a role-only chunk only opens the response", () => {
  const d = new Driven();
  assert.deepEqual(types(parse(d.push(chunk({ role: "assistant", content: "" })))), [
    "response.created",
    "response.in_progress",
  ]);
  const first = parse(d.push(chunk({ content: "Hi" })));
  assert.deepEqual(types(first), [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
  ]);
  assert.equal(first[2].data.delta, "Hi");
  assert.deepEqual(types(parse(d.push(chunk({ content: " there" })))), ["response.output_text.delta"]);
});

Deno.test("responses stream: reasoning then text: a reasoning item with reasoning_text, closed before the message", () => {
  const evs = events(FIXTURES.reasoning_then_text);
  assert.deepEqual(types(evs), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.reasoning_text.delta",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const { response } = accumulate(evs);
  assert.deepEqual((response.output as Json[]).map(bare), [
    { type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "Think: 2+2=4." }] },
    {
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "4", annotations: [], logprobs: [] }],
    },
  ]);
  assert.deepEqual(
    (response.usage as Json).output_tokens_details,
    { reasoning_tokens: 5 },
    "reasoning tokens counted",
  );
});

Deno.test("responses stream: text then a function call whose arguments stream live, finish tool_calls", () => {
  const d = new Driven();
  const pieces = FIXTURES.text_then_call.split(/(?<=\n\n)/);
  const outs = pieces.map((p) => d.push(p));
  // The call's item opens with its first fragment (closing the message); each argument fragment goes out at once.
  assert.deepEqual(types(parse(outs[1])), [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.output_item.added",
  ]);
  const added = parse(outs[1])[3].data.item as Json;
  assert.deepEqual(bare(added), {
    type: "function_call",
    status: "in_progress",
    call_id: "call_a",
    name: "exec_command",
    arguments: "",
  });
  assert.deepEqual(parse(outs[2]).map((e) => [e.event, e.data.delta]), [
    ["response.function_call_arguments.delta", '{"cmd": "l'],
  ]);
  assert.deepEqual(parse(outs[3]).map((e) => [e.event, e.data.delta]), [
    ["response.function_call_arguments.delta", 's"}'],
  ]);
  const evs = parse(outs.join("") + d.end());
  const { response } = accumulate(evs);
  assert.equal(response.status, "completed");
  assert.deepEqual((response.output as Json[]).map(bare), [
    {
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Let me check.", annotations: [], logprobs: [] }],
    },
    { type: "function_call", status: "completed", call_id: "call_a", name: "exec_command", arguments: '{"cmd": "ls"}' },
  ]);
  assert.equal((response.output as Json[])[1].id, added.id, "the item keeps the id it was added with");
});

Deno.test("responses stream: two parallel calls interleaved by index come out as two items, each with its whole arguments", () => {
  const evs = events(FIXTURES.two_parallel_interleaved);
  const { response } = accumulate(evs);
  const calls = (response.output as Json[]).filter((i) => i.type === "function_call");
  assert.deepEqual(calls.map(bare), [
    {
      type: "function_call",
      status: "completed",
      call_id: "call_a",
      name: "exec_command",
      arguments: '{"cmd": "date"}',
    },
    {
      type: "function_call",
      status: "completed",
      call_id: "call_b",
      name: "view_image",
      arguments: '{"path": "a.png"}',
    },
  ]);
  assert.notEqual(calls[0].id, calls[1].id);
  // The first streamed live; the second, once the answer finished, whole.
  const deltasOf = (id: unknown) =>
    evs.filter((e) => e.event === "response.function_call_arguments.delta" && e.data.item_id === id).map((e) =>
      e.data.delta
    );
  assert.deepEqual(deltasOf(calls[0].id), ['{"cmd": "da', 'te"}']);
  assert.deepEqual(deltasOf(calls[1].id), ['{"path": "a.png"}']);
  assert.equal(response.status, "completed");
});

Deno.test("responses stream: calls without index (Gemini) are told apart by id; none is lost", () => {
  const { response } = accumulate(events(FIXTURES.gemini_calls_without_index));
  assert.deepEqual((response.output as Json[]).map((i) => [i.type, i.call_id, i.name, i.arguments]), [
    ["function_call", "call_1", "exec_command", '{"cmd":"a"}'],
    ["function_call", "call_2", "view_image", '{"path":"b"}'],
  ]);
});

Deno.test("responses stream: Codex's apply_patch comes back as a custom_tool_call with the raw patch as its input", () => {
  const evs = events(FIXTURES.custom_apply_patch);
  const { response } = accumulate(evs);
  const patchEvents = evs.filter((e) => e.event.startsWith("response.custom_tool_call_input"));
  assert.deepEqual(patchEvents.map((e) => [e.event, e.data.delta ?? e.data.input]), [
    ["response.custom_tool_call_input.delta", PATCH],
    ["response.custom_tool_call_input.done", PATCH],
  ]);
  assert.ok(!evs.some((e) => e.event.startsWith("response.function_call_arguments")), "no function call events");
  assert.deepEqual((response.output as Json[]).map(bare)[1], {
    type: "custom_tool_call",
    status: "completed",
    call_id: "call_p",
    name: "apply_patch",
    input: PATCH,
  });
});

Deno.test("responses stream: a namespace member, tool_search and local_shell come back in the form they were offered", () => {
  const evs = events(FIXTURES.namespace_tool_search_and_shell);
  const { response } = accumulate(evs);
  const added = evs.find((e) => e.event === "response.output_item.added")!.data.item as Json;
  assert.equal(added.namespace, "multi_agent_v1", "the live call's added item carries its namespace");
  assert.deepEqual((response.output as Json[]).map(bare), [
    {
      type: "function_call",
      status: "completed",
      call_id: "call_ns",
      name: "spawn_agent",
      arguments: '{"task":"t"}',
      namespace: "multi_agent_v1",
    },
    {
      type: "tool_search_call",
      status: "completed",
      call_id: "call_ts",
      execution: "client",
      arguments: { query: "agents", limit: 3 },
    },
    {
      type: "local_shell_call",
      status: "completed",
      call_id: "call_ls",
      action: {
        type: "exec",
        command: ["ls", "-la"],
        env: {},
        timeout_ms: null,
        working_directory: "/tmp",
        user: null,
      },
    },
  ]);
});

Deno.test("responses stream: a shortened tool name streams back as the client's long name", () => {
  const d = new Driven();
  const short = translateResponsesRequest({ input: "x", tools: TOOLS }, new ItemStore()).tools.chatName(LONG);
  const { response } = accumulate(
    events(chunk(call(0, "{}", { id: "c", name: short })) + chunk({}, "tool_calls") + DONE, d),
  );
  assert.equal((response.output as Json[])[0].name, LONG);
});

Deno.test("responses stream: text the backend sends after a call began is its own message item after the calls", () => {
  const { response } = accumulate(events(FIXTURES.text_after_a_call));
  assert.deepEqual((response.output as Json[]).map((i) => i.type), ["function_call", "message"]);
  assert.equal(((response.output as Json[])[1].content as Json[])[0].text, "And then some text.");
});

Deno.test("responses stream: every output_text.delta carries logprobs: [] (the SDK's event type requires it)", () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    for (const e of events(fixture).filter((e) => e.event === "response.output_text.delta")) {
      // BUG?: text held until the tool calls are done (stream.ts #closeAll, the `#after` loop) goes out as an
      // output_text.delta without `logprobs`, unlike every other output_text.delta (ResponseTextDeltaEvent has
      // `logprobs` as a required array). Expected: logprobs: [] on that delta too.
      assert.deepEqual(e.data.logprobs, [], `${name}: ${JSON.stringify(e.data)}`);
    }
  }
});

Deno.test("responses stream: finish length ends with response.incomplete, reason max_output_tokens", () => {
  const evs = events(FIXTURES.length);
  const { response, terminal } = accumulate(evs);
  assert.equal(terminal.event, "response.incomplete");
  assert.equal(response.status, "incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal((response.output as Json[])[0].status, "incomplete", "the cut item is incomplete too");
  assert.equal((response.usage as Json).output_tokens, 2);
  assert.ok(!types(evs).includes("response.completed"));
});

Deno.test("responses stream: finish content_filter ends with response.incomplete, reason content_filter", () => {
  const { response, terminal } = accumulate(events(FIXTURES.content_filter));
  assert.equal(terminal.event, "response.incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "content_filter" });
});

Deno.test("responses stream: finish, then the usage chunk, then [DONE]: the items close at the finish, usage in completed", () => {
  const d = new Driven();
  const atFinish = parse(d.push(chunk({ content: "ok" }) + chunk({}, "stop")));
  assert.equal(atFinish.at(-1)!.event, "response.output_item.done", "items close at the finish");
  assert.equal(d.push(usage(7, 1, { prompt_tokens_details: { cached_tokens: 3 } })), "", "usage alone says nothing");
  const last = parse(d.push(DONE));
  assert.deepEqual(types(last), ["response.completed"]);
  assert.deepEqual((last[0].data.response as Json).usage, {
    input_tokens: 7,
    input_tokens_details: { cached_tokens: 3 },
    output_tokens: 1,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 8,
  });
  assert.equal(d.end(), "", "nothing after the terminal event");
});

Deno.test("responses stream: a clean close after the finish, without [DONE], completes", () => {
  const d = new Driven();
  const out = d.push(FIXTURES.finish_without_done);
  assert.ok(!out.includes("response.completed"), "the terminal event waits for the end (usage may come)");
  const { response, terminal } = accumulate(parse(out + d.end()));
  assert.equal(terminal.event, "response.completed");
  assert.equal(response.usage, null, "no usage was sent");
});

Deno.test("responses stream: a stream cut short (no finish) ends with error and response.failed, never completed", () => {
  const evs = events(FIXTURES.truncated);
  const { response, terminal } = accumulate(evs);
  assert.deepEqual(types(evs).slice(-2), ["error", "response.failed"]);
  assert.equal(terminal.event, "response.failed");
  assert.ok(!types(evs).includes("response.completed") && !types(evs).includes("response.incomplete"));
  assert.deepEqual(evs.at(-2)!.data.error, {
    type: "server_error",
    code: "upstream_stream_truncated",
    message: END_MESSAGES.truncated[0],
    param: null,
  });
  assert.equal(response.status, "failed");
  assert.deepEqual(response.error, { code: "server_error", message: END_MESSAGES.truncated[0] });
  assert.deepEqual(response.output, [], "the unfinished message is not passed off as whole");
});

Deno.test("responses stream: an empty upstream body also fails, after created and in_progress", () => {
  const evs = parse(run([]));
  assert.deepEqual(types(evs), ["response.created", "response.in_progress", "error", "response.failed"]);
  accumulate(evs);
});

Deno.test("responses stream: an error chunk mid-stream ends with error and response.failed", () => {
  const evs = events(FIXTURES.error_chunk);
  const { response } = accumulate(evs);
  assert.deepEqual(types(evs).slice(-2), ["error", "response.failed"]);
  assert.equal((evs.at(-2)!.data.error as Json).message, "overloaded");
  assert.equal(response.status, "failed");
  assert.equal((response.error as Json).message, "overloaded");
});

Deno.test("responses stream: the relay failing a stream mid-answer keeps the whole items and sends nothing after", () => {
  const d = new Driven();
  d.push(chunk({ reasoning_content: "hmm" }) + chunk({ content: "partial" }));
  const out = d.error();
  assert.deepEqual(types(parse(out)), ["error", "response.failed"]);
  const failed = parse(out)[1].data.response as Json;
  assert.deepEqual((failed.output as Json[]).map((i) => i.type), ["reasoning"], "the closed reasoning item only");
  assert.equal(d.end(), "");
  assert.equal(d.push(chunk({ content: "late" }) + DONE), "");
  assert.equal(d.translator.finished, true);
});

Deno.test("responses stream: nothing after [DONE]", () => {
  const d = new Driven();
  d.push(FIXTURES.text);
  assert.equal(d.translator.finished, true);
  assert.equal(d.push(chunk({ content: "more" }) + DONE), "");
  assert.equal(d.end(), "");
});

Deno.test("responses stream: keep-alive comments and CRLF line endings", () => {
  const { response } = accumulate(events(FIXTURES.keepalive_and_crlf));
  assert.equal(((response.output as Json[])[0].content as Json[])[0].text, "ab");
});

Deno.test("responses stream: every item made is kept in the store for a later item_reference", () => {
  const d = new Driven();
  const { response } = accumulate(events(FIXTURES.two_parallel_interleaved, d));
  assert.equal(d.store.size, 3);
  for (const item of response.output as Json[]) assert.deepEqual(d.store.get(item.id as string), item);
});

Deno.test("responses stream: every fixture follows the accumulator rules", () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    try {
      accumulate(events(fixture));
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
  }
});

// ---------------------------------------------------------------------------
// Property: the same bytes, cut anywhere, give the same events

/** mulberry32: a tiny seeded PRNG, so a failing cut can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cutRandomly(bytes: Uint8Array, next: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = 1 + Math.floor(next() * Math.min(40, bytes.length - at));
    pieces.push(bytes.subarray(at, at + len));
    at += len;
  }
  return pieces;
}

/** Minted ids as the order they first appear in, and created_at as 0: two runs of one stream compare equal. */
function normalised(text: string): string {
  const seen = new Map<string, string>();
  return text
    .replace(/\b(resp|msg|rs|fc|ctc|tsc|lsh|call)_[0-9a-f]{24}\b/g, (id, prefix) => {
      if (!seen.has(id)) seen.set(id, `${prefix}_#${seen.size}`);
      return seen.get(id)!;
    })
    .replace(/"created_at":\d+/g, '"created_at":0');
}

for (const [name, text] of Object.entries(FIXTURES)) {
  Deno.test(`responses stream property: '${name}' cut anywhere gives identical events`, () => {
    const bytes = bytesOf(text);
    const raw = run([bytes]);
    accumulate(parse(raw));
    const whole = normalised(raw);
    assert.equal(normalised(run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))), whole, "byte by byte");
    for (let seed = 1; seed <= 100; seed++) {
      assert.equal(normalised(run(cutRandomly(bytes, rng(seed * 7919)))), whole, `seed ${seed}`);
    }
  });
}

Deno.test("responses stream: a refusal streams as a message whose part is a refusal, with refusal events", () => {
  const evs = events(chunk({ refusal: "I can't " }) + chunk({ refusal: "help with that." }, "stop") + DONE);
  const { response } = accumulate(evs);
  assert.ok(types(evs).includes("response.refusal.delta"));
  assert.deepEqual(
    (response.output as Json[]).map((item) => (item.content as Json[]).map((p) => [p.type, p.refusal])),
    [[["refusal", "I can't help with that."]]],
  );
});
