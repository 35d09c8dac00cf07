/**
 * Route choice for Anthropic model names. `fast` / `smart` work as on the
 * OpenAI side; any other name goes to fast when it contains one of the
 * configured substrings (default `haiku`, which Claude Code uses for small
 * background tasks) and to smart otherwise (Sonnet, Opus, anything new).
 *
 * @module
 */

/** The two routes (the same names as the configuration's). */
export type AnthropicRoute = "fast" | "smart";

/** The default for ANTHROPIC_FAST_MODELS: names containing `haiku` go to fast. */
export const DEFAULT_FAST_MODELS = "haiku";

/** Parses a comma list of substrings (ANTHROPIC_FAST_MODELS) into lower-case patterns; blanks are skipped. */
export function parseFastModels(value: string | undefined): string[] {
  return (value ?? DEFAULT_FAST_MODELS).split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
}

/**
 * The route for a requested model name. `fastPatterns` are lower-case
 * substrings (see {@linkcode parseFastModels}); a name containing any goes to fast.
 */
export function anthropicRoute(
  model: unknown,
  fastPatterns: readonly string[] = [DEFAULT_FAST_MODELS],
): AnthropicRoute {
  if (typeof model !== "string") return "smart";
  const name = model.toLowerCase();
  if (name === "fast" || name === "smart") return name;
  return fastPatterns.some((p) => name.includes(p)) ? "fast" : "smart";
}
