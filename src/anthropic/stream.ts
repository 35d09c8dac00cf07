/**
 * Stream translation: OpenAI chat completion SSE bytes in, Anthropic
 * Messages SSE bytes out, event by event as they arrive.
 *
 * The output is a function of the upstream *events* only, never of how the
 * bytes were cut, so any chunking gives the same Anthropic events. Blocks
 * open lazily and one at a time (no empty text block is ever sent). Parallel
 * tool calls are told apart by `index`: the first tool block stays open
 * until the answer finishes, and fragments of later tool calls (even
 * interleaved ones) wait for their block's turn, so no fragment ever arrives
 * after its block stopped. Text is never held back.
 *
 * @module
 */

import { eventFields, splitEvents } from "../stream/sse.ts";
import { anthropicErrorEvent } from "./errors.ts";
import { type IdMaker, messageId, randomId } from "./ids.ts";
import type { AnswerContext } from "./response.ts";
import { mapStop } from "./stop_reason.ts";
import { translateUsage } from "./usage.ts";
import { isObject, type Json } from "./json.ts";

interface ToolState {
  id: string;
  name: string;
  /** Argument fragments received while the block was not open. */
  pending: string[];
  /** The block index once opened. */
  block?: number;
}

/** What is open now: a text or thinking block, or the tool call with this `index`. */
type Open = { kind: "text" | "thinking"; block: number } | { kind: "tool"; block: number; tool: number };

/** One SSE event with its `event:` line (the Anthropic SDKs skip data-only events). */
function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** Translates one OpenAI chat completion stream into one Anthropic message stream. */
export class AnthropicStreamTranslator {
  readonly #ctx: AnswerContext;
  readonly #newId: IdMaker;
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();
  #text = "";
  #out = "";
  #started = false;
  #pinged = false;
  #closing = false; // finish_reason seen: blocks are closed, message_delta waits for usage
  #done = false; // message_stop sent
  #failed = false; // error event sent
  #open: Open | undefined;
  #nextBlock = 0;
  readonly #tools = new Map<number, ToolState>();
  readonly #toolOrder: number[] = [];
  // Text or thinking after a tool block opened waits until the tools are done, not to split them.
  readonly #after: { kind: "text" | "thinking"; text: string }[] = [];
  #finishReason: unknown = null;
  #matched: unknown = null;
  #usage: unknown = undefined;

  /** `ctx` comes from the translated request. */
  constructor(ctx: AnswerContext) {
    this.#ctx = ctx;
    this.#newId = ctx.newId ?? randomId;
  }

  /** True once `message_stop` was sent. */
  get complete(): boolean {
    return this.#done;
  }

  /** True once an error event was sent. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feeds upstream bytes; returns the Anthropic events they complete (possibly none). */
  push(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
    if (this.#done || this.#failed) return new Uint8Array(0);
    this.#text += this.#decoder.decode(chunk, { stream: true });
    const { events, rest } = splitEvents(this.#text);
    this.#text = rest;
    for (const event of events) this.#event(event);
    return this.#flush();
  }

  /**
   * The upstream ended cleanly: the closing `message_delta` and
   * `message_stop` if the answer finished (`finish_reason` or `[DONE]` seen),
   * otherwise an error event: a `message_stop` is never made up.
   */
  end(): Uint8Array<ArrayBuffer> {
    if (this.#done || this.#failed) return this.#flush();
    this.#text += this.#decoder.decode();
    if (this.#text.trim() !== "") this.#event(this.#text);
    this.#text = "";
    if (this.#done || this.#failed) return this.#flush();
    if (this.#closing) this.#finishMessage();
    else this.#fail("the backend ended the stream before it finished the answer");
    return this.#flush();
  }

  /** An Anthropic `event: error` (type `api_error`); nothing is closed or made up before it. */
  error(message: string): Uint8Array<ArrayBuffer> {
    if (!this.#done && !this.#failed) this.#fail(message);
    return this.#flush();
  }

  #flush(): Uint8Array<ArrayBuffer> {
    if (this.#out === "") return new Uint8Array(0);
    const bytes = this.#encoder.encode(this.#out);
    this.#out = "";
    return bytes;
  }

  #fail(message: string): void {
    this.#failed = true;
    this.#out += anthropicErrorEvent(message);
  }

  #event(event: string): void {
    if (this.#done || this.#failed) return;
    const data = eventFields(event).data;
    if (data === undefined) return; // comments and keep-alives
    if (data.trim() === "[DONE]") {
      this.#closeAll();
      this.#finishMessage();
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return; // not a chunk: nothing a client could use
    }
    if (!isObject(chunk)) return;
    if (chunk.error !== undefined && chunk.error !== null) {
      const e = chunk.error;
      this.#fail(
        typeof e === "string" ? e : isObject(e) && typeof e.message === "string" ? e.message : "backend error",
      );
      return;
    }
    this.#start(chunk);
    if (isObject(chunk.usage)) this.#usage = chunk.usage;
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((c) => isObject(c) && (c.index ?? 0) === 0)
      : undefined;
    if (isObject(choice)) this.#choice(choice);
  }

  #start(chunk: Json): void {
    if (this.#started) return;
    this.#started = true;
    const usage = translateUsage(chunk.usage);
    this.#out += sse("message_start", {
      message: {
        id: messageId(chunk.id, this.#newId),
        type: "message",
        role: "assistant",
        model: this.#ctx.requestedModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage,
      },
    });
  }

  #choice(choice: Json): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (!this.#closing) {
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (this.#ctx.wantsThinking && typeof reasoning === "string" && reasoning !== "") {
        this.#prose("thinking", reasoning);
      }
      if (typeof delta.content === "string" && delta.content !== "") this.#prose("text", delta.content);
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) if (isObject(call)) this.#toolFragment(call);
      }
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined && !this.#closing) {
      this.#finishReason = choice.finish_reason;
      this.#matched = choice.stop_reason ?? null;
      this.#closeAll();
    }
  }

  /** Text or thinking: into the open block of its kind, or a new one. */
  #prose(kind: "text" | "thinking", text: string): void {
    if (this.#toolOrder.length > 0) {
      const last = this.#after[this.#after.length - 1];
      if (last?.kind === kind) last.text += text;
      else this.#after.push({ kind, text });
      return;
    }
    if (this.#open?.kind !== kind) {
      this.#closeOpen();
      this.#openBlock(
        kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" },
      );
      this.#open = { kind, block: this.#nextBlock - 1 };
    }
    this.#delta(kind, text);
  }

  #delta(kind: "text" | "thinking" | "tool", value: string): void {
    const delta = kind === "text"
      ? { type: "text_delta", text: value }
      : kind === "thinking"
      ? { type: "thinking_delta", thinking: value }
      : { type: "input_json_delta", partial_json: value };
    this.#out += sse("content_block_delta", { index: this.#open!.block, delta });
  }

  #openBlock(contentBlock: Json): void {
    this.#out += sse("content_block_start", { index: this.#nextBlock++, content_block: contentBlock });
    if (!this.#pinged) {
      this.#pinged = true;
      this.#out += sse("ping", {});
    }
  }

  #closeOpen(): void {
    if (this.#open === undefined) return;
    this.#out += sse("content_block_stop", { index: this.#open.block });
    this.#open = undefined;
  }

  #toolFragment(call: Json): void {
    const index = typeof call.index === "number" ? call.index : 0;
    let state = this.#tools.get(index);
    if (state === undefined) {
      state = { id: "", name: "", pending: [] };
      this.#tools.set(index, state);
      this.#toolOrder.push(index);
    }
    const fn = isObject(call.function) ? call.function : {};
    if (state.id === "" && typeof call.id === "string") state.id = call.id;
    // Some backends repeat the name on every fragment: the first one counts.
    if (state.name === "" && typeof fn.name === "string") state.name = fn.name;
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    const open = this.#open;
    if (open?.kind === "tool" && open.tool === index) {
      if (args !== "") this.#delta("tool", args);
      return;
    }
    if (args !== "") state.pending.push(args);
    // Only the first tool call streams live; the others wait for their turn at the finish.
    if (open?.kind !== "tool" && state.block === undefined && state.name !== "" && this.#noToolOpenedYet()) {
      this.#closeOpen();
      this.#openTool(index, state);
    }
  }

  #noToolOpenedYet(): boolean {
    for (const t of this.#tools.values()) if (t.block !== undefined) return false;
    return true;
  }

  #openTool(index: number, state: ToolState): void {
    if (state.id === "") state.id = this.#newId("toolu_");
    state.block = this.#nextBlock;
    this.#openBlock({ type: "tool_use", id: state.id, name: this.#ctx.toolNames.restore(state.name), input: {} });
    this.#open = { kind: "tool", block: state.block, tool: index };
    if (state.pending.length > 0) this.#delta("tool", state.pending.join(""));
    state.pending = [];
  }

  /** The answer finished: close the open block, then play the waiting tool calls and prose in order. */
  #closeAll(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeOpen();
    for (const index of this.#toolOrder) {
      const state = this.#tools.get(index)!;
      if (state.block !== undefined) continue;
      this.#openTool(index, state);
      this.#closeOpen();
    }
    for (const { kind, text } of this.#after) {
      this.#openBlock(kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" });
      this.#open = { kind, block: this.#nextBlock - 1 };
      this.#delta(kind, text);
      this.#closeOpen();
    }
  }

  #finishMessage(): void {
    if (!this.#started) this.#start({});
    const stop = mapStop(this.#finishReason, this.#matched, this.#ctx.stopSequences, this.#toolOrder.length > 0);
    const usage = translateUsage(this.#usage);
    this.#out += sse("message_delta", {
      delta: { stop_reason: stop.stop_reason, stop_sequence: stop.stop_sequence },
      usage: {
        output_tokens: usage.output_tokens,
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
      },
    });
    this.#out += sse("message_stop", {});
    this.#done = true;
  }
}
