/**
 * Answer translation: an OpenAI `chat.completion` becomes an Anthropic
 * `message`.
 *
 * @module
 */

import { argumentsObject } from "../stream/chat_tool_calls.ts";
import { parseJson } from "../json_depth.ts";
import { type IdMaker, messageId, randomId } from "./ids.ts";
import { mapStop } from "./stop_reason.ts";
import type { ToolNames } from "../request/tool_names.ts";
import { translateUsage } from "./usage.ts";
import { isObject, type Json } from "./json.ts";

/** What the answer's translation needs from the request. */
export interface AnswerContext {
  /** The model name the client asked for; the answer carries it (see NOTES / README). */
  requestedModel: string;
  /** Only when true does backend reasoning become a `thinking` block. */
  wantsThinking: boolean;
  /** Restores tool names shortened for the backend. */
  toolNames: ToolNames;
  /** The client's stop sequences, to tell `stop_sequence` from `end_turn`. */
  stopSequences: readonly string[];
  /** Id maker (tests inject a stable one). */
  newId?: IdMaker;
}

/** A backend answer that is not a chat completion (502 for the client). */
export class BackendAnswerError extends Error {
  /** `message` says what is wrong with the answer. */
  constructor(message: string) {
    super(message);
    this.name = "BackendAnswerError";
  }
}

/** Tool arguments as an object: JSON text parsed; empty, unparsable or non-object text gives `{}`. */
function parseToolInput(args: unknown): Json {
  if (isObject(args)) return args;
  return typeof args === "string" ? argumentsObject(args, parseJson) : {};
}

/** The backend's reasoning text: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, newer vLLM). */
function reasoningOf(message: Json): string {
  const r = message.reasoning_content ?? message.reasoning;
  return typeof r === "string" ? r : "";
}

function toolUseBlocks(calls: unknown, ctx: AnswerContext, newId: IdMaker): Json[] {
  if (!Array.isArray(calls)) return [];
  return calls.filter(isObject).map((call) => {
    const fn = isObject(call.function) ? call.function : {};
    return {
      type: "tool_use",
      id: typeof call.id === "string" && call.id !== "" ? call.id : newId("toolu_"),
      name: ctx.toolNames.restore(typeof fn.name === "string" ? fn.name : ""),
      input: parseToolInput(fn.arguments),
    };
  });
}

/** Translates a chat completion; throws {@linkcode BackendAnswerError} when it has no choice. */
export function translateResponse(completion: unknown, ctx: AnswerContext): Json {
  const newId = ctx.newId ?? randomId;
  if (!isObject(completion) || !Array.isArray(completion.choices) || !isObject(completion.choices[0])) {
    throw new BackendAnswerError("the backend's answer has no choices");
  }
  const choice = completion.choices[0];
  const message = isObject(choice.message) ? choice.message : {};
  const content: Json[] = [];
  const reasoning = reasoningOf(message);
  if (ctx.wantsThinking && reasoning !== "") content.push({ type: "thinking", thinking: reasoning, signature: "" });
  if (typeof message.content === "string" && message.content !== "") {
    content.push({ type: "text", text: message.content });
  }
  const tools = toolUseBlocks(message.tool_calls, ctx, newId);
  content.push(...tools);
  const stop = mapStop(choice.finish_reason, choice.stop_reason, ctx.stopSequences, tools.length > 0);
  return {
    id: messageId(completion.id, newId),
    type: "message",
    role: "assistant",
    model: ctx.requestedModel,
    content,
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: translateUsage(completion.usage),
  };
}
