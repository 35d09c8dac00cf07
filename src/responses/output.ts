/**
 * The pieces of a translated Responses answer, shared by the JSON answer and
 * the stream: output items (message, reasoning, and the tool call items each
 * chat call stands for), usage in Responses' shape, the status a finish
 * reason means, and the Response object with its echo fields.
 *
 * @module
 */

import { argumentsObject } from "../stream/chat_tool_calls.ts";
import { parseJson } from "../json_depth.ts";
import { isObject, type Json, newId } from "./json.ts";
import type { ToolMap } from "./tools.ts";

/** The status of a finished answer, and why it is incomplete. */
export interface Finish {
  /** `completed`, or `incomplete` for a length or content-filter stop. */
  status: "completed" | "incomplete";
  /** `{reason}` for an incomplete answer, else null. */
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
}

/** What a chat `finish_reason` means for a Response. */
export function finishOf(finishReason: unknown): Finish {
  if (finishReason === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finishReason === "content_filter") {
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  }
  return { status: "completed", incomplete_details: null };
}

const count = (v: unknown): number => typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;

/** Chat usage in Responses' shape (cached and reasoning tokens included), or null without any. */
export function responsesUsage(usage: unknown): Json | null {
  if (!isObject(usage)) return null;
  const input = count(usage.prompt_tokens);
  const output = count(usage.completion_tokens);
  const prompt = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(prompt.cached_tokens) || count(usage.prompt_cache_hit_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: count(completion.reasoning_tokens) },
    total_tokens: count(usage.total_tokens) || input + output,
  };
}

/** An assistant message item holding `text`. */
export function messageItem(id: string, text: string, status: string): Json {
  return {
    id,
    type: "message",
    role: "assistant",
    status,
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
}

/** An assistant message item holding a refusal. */
export function refusalItem(id: string, refusal: string, status: string): Json {
  return { id, type: "message", role: "assistant", status, content: [{ type: "refusal", refusal }] };
}

/** A reasoning item holding the backend's raw reasoning text. */
export function reasoningItem(id: string, text: string): Json {
  return { id, type: "reasoning", summary: [], content: [{ type: "reasoning_text", text }] };
}

/** A custom tool's input: `{"input": "..."}` as asked for, else the arguments' text itself. */
function customInput(args: string): string {
  const parsed = argumentsObject(args, parseJson);
  return typeof parsed.input === "string" ? parsed.input : args;
}

/**
 * The output item for a complete chat tool call: what the client offered the
 * tool as (see tools.ts). `callId` is the backend's call id (one is made up
 * when it sent none).
 */
export function callItem(callId: string, chatName: string, args: string, tools: ToolMap, status: string): Json {
  const kind = tools.kindOf(chatName);
  const call_id = callId || newId("call");
  switch (kind.kind) {
    case "function": {
      const item: Json = { id: newId("fc"), type: "function_call", status, call_id, name: kind.name, arguments: args };
      if (kind.namespace) item.namespace = kind.namespace;
      return item;
    }
    case "custom": {
      const item: Json = { id: newId("ctc"), type: "custom_tool_call", status, call_id, name: kind.name };
      item.input = customInput(args);
      if (kind.namespace) item.namespace = kind.namespace;
      return item;
    }
    case "tool_search":
      return {
        id: newId("tsc"),
        type: "tool_search_call",
        status,
        call_id,
        execution: "client",
        arguments: argumentsObject(args, parseJson),
      };
    case "local_shell": {
      const a = argumentsObject(args, parseJson);
      const command = Array.isArray(a.command)
        ? a.command.map(String)
        : typeof a.command === "string"
        ? [a.command]
        : [];
      const action = {
        type: "exec",
        command,
        env: {},
        timeout_ms: typeof a.timeout_ms === "number" ? a.timeout_ms : null,
        working_directory: typeof a.workdir === "string" ? a.workdir : null,
        user: null,
      };
      return { id: newId("lsh"), type: "local_shell_call", status, call_id, action };
    }
  }
}

/** A Response object. */
export function responseObject(r: {
  id: string;
  createdAt: number;
  model: unknown;
  status: string;
  output: Json[];
  usage: Json | null;
  incomplete?: Finish["incomplete_details"];
  error?: Json | null;
  echo: Json;
}): Json {
  return {
    id: r.id,
    object: "response",
    created_at: r.createdAt,
    status: r.status,
    error: r.error ?? null,
    incomplete_details: r.incomplete ?? null,
    model: typeof r.model === "string" ? r.model : "",
    output: r.output,
    usage: r.usage,
    ...r.echo,
  };
}
