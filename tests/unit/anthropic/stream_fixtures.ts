/**
 * Realistic OpenAI chat completion streams (as vLLM, DeepSeek and OpenAI
 * send them) for the stream translator's tests.
 *
 * @module
 */

type Json = Record<string, unknown>;

/** One `data:` event of a chunk with the given choice delta and finish reason. */
export function chunk(delta: Json | null, finish: string | null = null, extra: Json = {}): string {
  const choices = delta === null ? [] : [{ index: 0, delta, finish_reason: finish, logprobs: null }];
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-fx1",
      object: "chat.completion.chunk",
      created: 1,
      model: "backend",
      choices,
      ...extra,
    })
  }\n\n`;
}

/** The empty-choices usage chunk `stream_options.include_usage` adds before `[DONE]`. */
export const usage = (prompt: number, completion: number, cached = 0): string =>
  chunk(null, null, {
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
    },
  });

/** The stream's last event. */
export const DONE = "data: [DONE]\n\n";

const call = (index: number, args: string, head?: { id: string; name: string }): Json => ({
  tool_calls: [{
    index,
    ...(head
      ? { id: head.id, type: "function", function: { name: head.name, arguments: args } }
      : { function: { arguments: args } }),
  }],
});

/** Named fixtures. */
export const FIXTURES: Record<string, string> = {
  text_only: chunk({ role: "assistant", content: "" }) + chunk({ content: "Héllo, " }) +
    chunk({ content: "wörld 😀" }) + chunk({}, "stop") + usage(11, 4) + DONE,
  text_then_two_interleaved_tools: chunk({ role: "assistant", content: "Let me check." }) +
    chunk(call(0, "", { id: "call_a", name: "get_weather" })) +
    chunk(call(0, '{"city": "Par')) +
    chunk(call(1, "", { id: "call_b", name: "get_time" })) +
    chunk(call(1, '{"tz": ')) +
    chunk(call(0, 'is"}')) +
    chunk(call(1, '"Europe/Paris"}')) +
    chunk({}, "tool_calls") + usage(50, 20, 32) + DONE,
  content_and_finish_in_one_chunk: chunk({ role: "assistant", content: "All in one." }, "stop") + usage(3, 3) + DONE,
  reasoning: chunk({ role: "assistant", reasoning_content: "Think: " }) + chunk({ reasoning_content: "2+2=4." }) +
    chunk({ content: "4" }) + chunk({}, "stop") + usage(8, 9) + DONE,
  content_filter: chunk({ role: "assistant", content: "I can" }) + chunk({}, "content_filter") + usage(5, 2) + DONE,
  crlf_and_keepalive: (chunk({ role: "assistant", content: "a" }) + ": keep-alive\n\n" + chunk({ content: "b" }) +
    chunk({}, "length") + DONE).replaceAll("\n", "\r\n"),
};
