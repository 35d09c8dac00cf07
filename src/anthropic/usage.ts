/**
 * Token usage: OpenAI's `prompt_tokens` include cached tokens, Anthropic's
 * `input_tokens` do not (cache reads are reported beside them), so the
 * cached count is moved out of the input count.
 *
 * @module
 */

/** Anthropic's usage object. */
export interface AnthropicUsage {
  /** Input tokens not read from the cache. */
  input_tokens: number;
  /** Generated tokens. */
  output_tokens: number;
  /** Input tokens written to a cache (OpenAI backends report none). */
  cache_creation_input_tokens: number;
  /** Input tokens read from the backend's prompt cache. */
  cache_read_input_tokens: number;
}

const count = (v: unknown): number => typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;

/**
 * Usage from an OpenAI `usage` object. Cached tokens come from
 * `prompt_tokens_details.cached_tokens` (OpenAI, vLLM) or
 * `prompt_cache_hit_tokens` (DeepSeek). Missing fields count 0.
 */
export function translateUsage(usage: unknown): AnthropicUsage {
  const u = typeof usage === "object" && usage !== null ? usage as Record<string, unknown> : {};
  const details = u.prompt_tokens_details as Record<string, unknown> | undefined;
  const cached = count(details?.cached_tokens) || count(u.prompt_cache_hit_tokens);
  const prompt = count(u.prompt_tokens);
  return {
    input_tokens: Math.max(0, prompt - cached),
    output_tokens: count(u.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}
