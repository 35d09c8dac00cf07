/**
 * The Anthropic front door: `POST /v1/messages` and `/v1/messages/count_tokens`
 * for Claude Code and the Anthropic SDKs. A Messages request is translated to
 * a chat completion and goes through the same pipeline as OpenAI requests
 * (routing, fallback, breaker, timeouts, masking, logging, metrics); the
 * answer, streamed or not, is translated back.
 *
 * @module
 */

import { parseJson } from "../json_depth.ts";
import { ProxyError } from "../errors/errors.ts";
import { boundedRequested } from "../ops/request_log.ts";
import type { Reply } from "../proxy/endpoint.ts";
import { forward } from "../proxy/forward.ts";
import { pickClaudeRoute } from "../proxy/routing.ts";
import type { ProxyState, RequestContext } from "../proxy/state.ts";
import { parseJsonObject, readClientBody } from "../request/request_body.ts";
import { CHAT_GRAMMAR } from "../stream/event_grammar.ts";
import { upstreamHeaders } from "../upstream/headers.ts";
import { estimateInputTokens } from "./count_tokens.ts";
import { AnthropicRequestError } from "./errors.ts";
import { type TranslatedRequest, translateRequest } from "./request.ts";
import { BackendAnswerError, translateResponse } from "./response.ts";
import { AnthropicStreamTranslator } from "./stream.ts";

const decoder = new TextDecoder();

/** Runs a translation step; a malformed request becomes a 400 that names the field. */
function translated<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof AnthropicRequestError) {
      throw ProxyError.invalid("invalid_request", err.message);
    }
    // JSON nested thousands deep overflows any recursive walk (JSON.stringify's too): the client's mistake.
    if (err instanceof RangeError) {
      throw ProxyError.invalid("invalid_request", "the request is nested too deeply");
    }
    throw err;
  }
}

/** `POST /v1/messages`: translated to `/v1/chat/completions` on the route its model name picks. */
export async function messages(state: ProxyState, ctx: RequestContext): Promise<Reply> {
  const raw = await readClientBody(ctx.req, state.config.maxBodyBytes);
  const t = translated(() => translateRequest(parseJsonObject(raw).value));
  // Claude Code asks for 64,000 tokens; many backends allow far fewer and would refuse the request.
  const cap = state.config.anthropicMaxTokens;
  if (cap > 0 && typeof t.openai.max_tokens === "number" && t.openai.max_tokens > cap) t.openai.max_tokens = cap;
  ctx.record.requested = boundedRequested(t.requestedModel, state.masker);
  ctx.record.stream = t.stream;
  const headers = upstreamHeaders(ctx.req.headers);
  // Anthropic's protocol headers mean nothing to an OpenAI backend.
  for (const name of [...headers.keys()]) if (name.startsWith("anthropic-")) headers.delete(name);
  headers.set("content-type", "application/json");
  return await forward(state, ctx, {
    primary: pickClaudeRoute(t.requestedModel, state.config.anthropicFastModels),
    // The query (Claude Code's `?beta=true`) belongs to Anthropic's API, not the backend's.
    search: "",
    method: "POST",
    headers,
    route: (route) => ({
      path: "/v1/chat/completions",
      body: JSON.stringify({ model: route.model, ...t.openai }),
      grammar: CHAT_GRAMMAR,
      json: (body) => JSON.stringify(answer(body, t)),
      stream: () => new AnthropicStreamTranslator(t),
    }),
    wantStream: t.stream,
    forced: true,
  });
}

/** A chat completion's JSON translated into an Anthropic message. */
function answer(body: Uint8Array, t: TranslatedRequest): unknown {
  let completion: unknown;
  try {
    completion = parseJson(decoder.decode(body));
  } catch {
    throw new ProxyError(502, "upstream_error", "upstream_bad_answer", "the backend's answer is not JSON");
  }
  try {
    return translateResponse(completion, t);
  } catch (err) {
    if (!(err instanceof BackendAnswerError)) throw err;
    throw new ProxyError(502, "upstream_error", "upstream_bad_answer", err.message);
  }
}

/** `POST /v1/messages/count_tokens`: a local estimate (see count_tokens.ts), no backend call. */
export async function countTokens(state: ProxyState, ctx: RequestContext): Promise<Response> {
  const raw = await readClientBody(ctx.req, state.config.maxBodyBytes);
  const tokens = translated(() => estimateInputTokens(parseJsonObject(raw).value));
  return new Response(JSON.stringify({ input_tokens: tokens }), { headers: { "content-type": "application/json" } });
}
