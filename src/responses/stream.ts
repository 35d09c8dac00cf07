/**
 * Stream translation: chat completion events in, Responses API events out,
 * in the order the official SDKs accumulate (`response.created`,
 * `response.in_progress`, then per item `output_item.added`, its parts and
 * deltas, their `.done` events and `output_item.done`, then exactly one
 * terminal event with the whole `output` and usage). Every event carries
 * `type` and an increasing `sequence_number`; no event type is invented.
 *
 * One item is open at a time: reasoning, then the message, then tool calls.
 * The first function call streams its arguments live; the other calls (and
 * any free-form, tool-search or shell call, whose input is known only once
 * its arguments are whole) come out as separate items once the answer
 * finished, as does text the backend sent after a tool call began. A stream
 * that breaks ends with an `error` event and `response.failed`, never
 * `response.completed`.
 *
 * @module
 */

import { type EventInfo, finishReasonOf } from "../stream/event_grammar.ts";
import { ChatToolCalls, type ToolCall } from "../stream/chat_tool_calls.ts";
import type { StreamTranslator } from "../stream/event_stages.ts";
import type { SseEvent } from "../stream/sse_framer.ts";
import type { ItemStore } from "./item_store.ts";
import { isObject, type Json, newId } from "./json.ts";
import { callItem, finishOf, responseObject, responsesUsage } from "./output.ts";
import { emitWholeCall, PROSE, type Prose } from "./stream_events.ts";
import type { TranslatedResponses } from "./request.ts";

/** The item open now, with what it has so far. */
type Open =
  | { kind: Prose; id: string; index: number; text: string }
  | { kind: "call"; id: string; index: number; call: ToolCall; callId: string; sent: number };

/** Translates one chat completion stream into one Responses event stream. */
export class ResponsesStreamTranslator implements StreamTranslator {
  readonly #t: TranslatedResponses;
  readonly #store: ItemStore;
  readonly #id = newId("resp");
  readonly #createdAt = Math.floor(Date.now() / 1000);
  #seq = 0;
  #out = "";
  #started = false;
  #closing = false; // the finish came: items are closed, the terminal event waits for usage
  #over = false; // the terminal event was sent
  #open: Open | undefined;
  readonly #output: Json[] = [];
  #nextIndex = 0;
  readonly #calls = new ChatToolCalls<Prose>();
  #live: ToolCall | undefined;
  #finishReason: unknown = null;
  #usage: unknown = undefined;

  /** `t` is the translated request; items made are kept in `store`. */
  constructor(t: TranslatedResponses, store: ItemStore) {
    this.#t = t;
    this.#store = store;
  }

  /** True once the terminal event was sent. */
  get finished(): boolean {
    return this.#over;
  }

  event(_event: SseEvent, info: EventInfo): string {
    if (this.#over) return "";
    this.#start();
    if (info.kind === "done") this.#finish();
    else if (info.kind === "error") this.#fail(info.message ?? "the backend reported an error", "server_error");
    else if (info.json) this.#chunk(info.json);
    return this.#flush();
  }

  complete(): string {
    if (!this.#over) {
      this.#start();
      this.#finish();
    }
    return this.#flush();
  }

  fail(message: string, code: string): string {
    if (!this.#over) {
      this.#start();
      this.#fail(message, code);
    }
    return this.#flush();
  }

  #flush(): string {
    const out = this.#out;
    this.#out = "";
    return out;
  }

  #emit(type: string, fields: Json): void {
    const data = JSON.stringify({ type, sequence_number: this.#seq++, ...fields });
    this.#out += `event: ${type}\ndata: ${data}\n\n`;
  }

  #snapshot(status: string, extra: Json = {}): Json {
    return {
      ...responseObject({
        id: this.#id,
        createdAt: this.#createdAt,
        model: this.#t.requestedModel,
        status,
        output: [...this.#output],
        usage: responsesUsage(this.#usage),
        echo: this.#t.echo,
      }),
      ...extra,
    };
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#emit("response.created", { response: this.#snapshot("in_progress") });
    this.#emit("response.in_progress", { response: this.#snapshot("in_progress") });
  }

  #chunk(chunk: Json): void {
    if (isObject(chunk.usage)) this.#usage = chunk.usage;
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((c) => isObject(c) && (c.index ?? 0) === 0)
      : undefined;
    if (!isObject(choice) || this.#closing) return;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string" && reasoning !== "") this.#prose("reasoning", reasoning);
    if (typeof delta.content === "string" && delta.content !== "") this.#prose("message", delta.content);
    if (typeof delta.refusal === "string" && delta.refusal !== "") this.#prose("refusal", delta.refusal);
    if (Array.isArray(delta.tool_calls)) { for (const f of delta.tool_calls) if (isObject(f)) this.#tool(f); }
    const finish = finishReasonOf(choice);
    if (finish !== undefined) {
      this.#finishReason = finish;
      this.#closeAll();
    }
  }

  /** Reasoning, text or a refusal: into the open item of its kind, or a new one (held once tool calls began). */
  #prose(kind: Prose, text: string): void {
    if (this.#calls.all.length > 0) return this.#calls.holdAfter(kind, text);
    if (this.#open?.kind !== kind) {
      this.#closeOpen();
      this.#openProse(kind);
    }
    this.#proseDelta(this.#open as Extract<Open, { kind: Prose }>, text);
  }

  #proseDelta(open: Extract<Open, { kind: Prose }>, text: string): void {
    open.text += text;
    const at = { item_id: open.id, output_index: open.index, content_index: 0, delta: text };
    this.#emit(PROSE[open.kind].delta, { ...at, ...PROSE[open.kind].extra });
  }

  #openProse(kind: Prose): void {
    const p = PROSE[kind];
    const id = newId(p.prefix);
    const index = this.#nextIndex++;
    this.#open = { kind, id, index, text: "" };
    this.#emit("response.output_item.added", { output_index: index, item: p.shell(id) });
    this.#emit("response.content_part.added", { item_id: id, output_index: index, content_index: 0, part: p.part("") });
  }

  /** A tool call fragment: the first function call streams live, every other call waits for the finish. */
  #tool(fragment: Json): void {
    const { call, args } = this.#calls.add(fragment);
    const open = this.#open;
    if (open?.kind === "call" && open.call === call) {
      if (args !== "") this.#argsDelta(open, args);
      return;
    }
    if (this.#live !== undefined || call.name === "" || this.#t.tools.kindOf(call.name).kind !== "function") return;
    this.#closeOpen();
    this.#live = call;
    const id = newId("fc");
    const index = this.#nextIndex++;
    const callId = call.id || newId("call");
    call.id = callId;
    const opened: Open = { kind: "call", id, index, call, callId, sent: 0 };
    this.#open = opened;
    const kind = this.#t.tools.kindOf(call.name) as { name: string; namespace?: string };
    const item: Json = {
      id,
      type: "function_call",
      status: "in_progress",
      call_id: callId,
      name: kind.name,
      arguments: "",
    };
    if (kind.namespace) item.namespace = kind.namespace;
    this.#emit("response.output_item.added", { output_index: index, item });
    if (call.args !== "") this.#argsDelta(opened, call.args);
  }

  #argsDelta(open: Extract<Open, { kind: "call" }>, args: string): void {
    open.sent += args.length;
    this.#emit("response.function_call_arguments.delta", { item_id: open.id, output_index: open.index, delta: args });
  }

  #itemStatus(): string {
    return finishOf(this.#finishReason).status === "completed" ? "completed" : "incomplete";
  }

  /** Closes the open item with its `.done` events. */
  #closeOpen(): void {
    const open = this.#open;
    if (open === undefined) return;
    this.#open = undefined;
    const at = { item_id: open.id, output_index: open.index };
    if (open.kind === "call") {
      const item = callItem(open.callId, open.call.name, open.call.args, this.#t.tools, this.#itemStatus());
      item.id = open.id;
      this.#emit("response.function_call_arguments.done", { ...at, name: item.name, arguments: open.call.args });
      return this.#itemDone(open.index, item);
    }
    const p = PROSE[open.kind];
    this.#emit(p.done, { ...at, content_index: 0, [p.field]: open.text, ...p.extra });
    this.#emit("response.content_part.done", { ...at, content_index: 0, part: p.part(open.text) });
    this.#itemDone(open.index, p.item(open.id, open.text, this.#itemStatus()));
  }

  #itemDone(index: number, item: Json): void {
    this.#output[index] = item;
    this.#store.put(item);
    this.#emit("response.output_item.done", { output_index: index, item });
  }

  /** The answer finished: close the open item, then the waiting calls and text, each a whole item. */
  #closeAll(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeOpen();
    for (const call of this.#calls.all) if (call !== this.#live) this.#heldCall(call);
    for (const { kind, text } of this.#calls.after) {
      this.#openProse(kind);
      this.#proseDelta(this.#open as Extract<Open, { kind: Prose }>, text);
      this.#closeOpen();
    }
  }

  /** A call that waited: its item added, its whole input, and done. */
  #heldCall(call: ToolCall): void {
    const item = callItem(call.id, call.name, call.args, this.#t.tools, this.#itemStatus());
    const index = this.#nextIndex++;
    emitWholeCall((type, fields) => this.#emit(type, fields), item, index, call.args);
    this.#itemDone(index, item);
  }

  /** The terminal event: `response.completed`, or `response.incomplete` for a length or filter stop. */
  #finish(): void {
    this.#closeAll();
    const finish = finishOf(this.#finishReason);
    const type = finish.status === "completed" ? "response.completed" : "response.incomplete";
    this.#emit(type, { response: this.#snapshot(finish.status, { incomplete_details: finish.incomplete_details }) });
    this.#over = true;
  }

  /** A failure: an `error` event, then `response.failed` with what was whole so far. */
  #fail(message: string, code: string): void {
    const error = { type: "server_error", code, message, param: null };
    this.#emit("error", { error });
    const output = this.#output.filter((item) => item !== undefined);
    this.#emit("response.failed", {
      response: { ...this.#snapshot("failed"), output, error: { code: "server_error", message } },
    });
    this.#over = true;
  }
}
