/**
 * Stream translation: OpenAI chat completion events in (framed and read once
 * by the relay), Anthropic Messages SSE out, event by event as they arrive.
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

import { parseJson } from "../json_depth.ts";
import { type EventInfo, finishReasonOf } from "../stream/event_grammar.ts";
import type { StreamTranslator } from "../stream/event_stages.ts";
import type { SseEvent } from "../stream/sse_framer.ts";
import { argumentsObject, ChatToolCalls, type ToolCall } from "../stream/chat_tool_calls.ts";
import { anthropicErrorEvent } from "./errors.ts";
import { messageEnd, messageStart, sse } from "./stream_events.ts";
import { type IdMaker, messageId, randomId } from "./ids.ts";
import type { AnswerContext } from "./response.ts";
import { mapStop } from "./stop_reason.ts";
import { translateUsage } from "./usage.ts";
import { isObject, type Json } from "./json.ts";

/** What is open now: a text or thinking block, or a tool call's. */
type Open = { kind: "text" | "thinking"; block: number } | { kind: "tool"; block: number; call: ToolCall };

/** Translates one OpenAI chat completion stream into one Anthropic message stream. */
export class AnthropicStreamTranslator implements StreamTranslator {
  readonly #ctx: AnswerContext;
  readonly #newId: IdMaker;
  #out = "";
  #started = false;
  #pinged = false;
  #closing = false; // finish_reason seen: blocks are closed, message_delta waits for usage
  #done = false; // message_stop sent
  #failed = false; // error event sent
  #open: Open | undefined;
  #nextBlock = 0;
  readonly #calls = new ChatToolCalls<"text" | "thinking">();
  /** The block of each tool call that has one. */
  readonly #toolBlocks = new Map<ToolCall, number>();
  #finishReason: unknown = null;
  #matched: unknown = null;
  #usage: unknown = undefined;

  /** `ctx` comes from the translated request. */
  constructor(ctx: AnswerContext) {
    this.#ctx = ctx;
    this.#newId = ctx.newId ?? randomId;
  }

  /** True once `message_stop` or an error event was sent: the client's stream is whole. */
  get finished(): boolean {
    return this.#done || this.#failed;
  }

  /** The Anthropic events one upstream event completes (possibly none). */
  event(_event: SseEvent, info: EventInfo): string {
    if (!this.#done && !this.#failed) this.#event(info);
    return this.#flush();
  }

  /**
   * The upstream answer is complete (it finished, and the backend closed
   * without `[DONE]`): the closing `message_delta` and `message_stop`.
   */
  complete(): string {
    if (!this.#done && !this.#failed) {
      this.#closeAll();
      this.#finishMessage();
    }
    return this.#flush();
  }

  /** An Anthropic `event: error` (type `api_error`); nothing is closed or made up before it. */
  fail(message: string): string {
    if (!this.#done && !this.#failed) this.#fail(message);
    return this.#flush();
  }

  #flush(): string {
    const out = this.#out;
    this.#out = "";
    return out;
  }

  #fail(message: string): void {
    this.#failed = true;
    this.#out += anthropicErrorEvent(message);
  }

  #event(info: EventInfo): void {
    if (info.kind === "done") {
      this.#closeAll();
      this.#finishMessage();
      return;
    }
    if (info.kind === "error") {
      this.#fail(info.message ?? "backend error");
      return;
    }
    const chunk = info.json;
    if (chunk === undefined) return; // comments, keep-alives, anything that is not a chunk
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
    this.#out += messageStart(messageId(chunk.id, this.#newId), this.#ctx.requestedModel, translateUsage(chunk.usage));
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
    const finish = finishReasonOf(choice);
    if (finish !== undefined && !this.#closing) {
      this.#finishReason = finish;
      this.#matched = choice.stop_reason ?? null;
      this.#closeAll();
    }
  }

  /** Text or thinking: into the open block of its kind, or a new one. */
  #prose(kind: "text" | "thinking", text: string): void {
    if (this.#calls.all.length > 0) return this.#calls.holdAfter(kind, text);
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

  /**
   * A tool call fragment. The first call's block opens as soon as its name is
   * known (the client learns a tool is coming); every call's arguments are
   * held until the answer finishes, then sent whole and parseable (see
   * `argumentsObject`), as the JSON answer gives them.
   */
  #toolFragment(fragment: Json): void {
    const { call } = this.#calls.add(fragment);
    if (call.name === "" || this.#toolBlocks.size > 0 || this.#open?.kind === "tool") return;
    this.#closeOpen();
    this.#openTool(call);
  }

  #openTool(call: ToolCall): void {
    if (call.id === "") call.id = this.#newId("toolu_");
    const block = this.#nextBlock;
    this.#toolBlocks.set(call, block);
    this.#openBlock({ type: "tool_use", id: call.id, name: this.#ctx.toolNames.restore(call.name), input: {} });
    this.#open = { kind: "tool", block, call };
  }

  /** The open tool block's arguments, whole, then its stop. */
  #closeTool(): void {
    if (this.#open?.kind !== "tool") return;
    this.#delta("tool", JSON.stringify(argumentsObject(this.#open.call.args, parseJson)));
    this.#closeOpen();
  }

  /** The answer finished: close the open block, then play the waiting tool calls and prose in order. */
  #closeAll(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeTool();
    this.#closeOpen();
    for (const call of this.#calls.all) {
      if (this.#toolBlocks.has(call)) continue;
      this.#openTool(call);
      this.#closeTool();
    }
    for (const { kind, text } of this.#calls.after) {
      this.#openBlock(kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" });
      this.#open = { kind, block: this.#nextBlock - 1 };
      this.#delta(kind, text);
      this.#closeOpen();
    }
  }

  #finishMessage(): void {
    if (!this.#started) this.#start({});
    const stop = mapStop(this.#finishReason, this.#matched, this.#ctx.stopSequences, this.#calls.all.length > 0);
    this.#out += messageEnd(stop, translateUsage(this.#usage));
    this.#done = true;
  }
}
