/**
 * `finish_reason` to `stop_reason`.
 *
 * @module
 */

/** Anthropic's stop reasons that an OpenAI backend can cause. */
export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

/** The stop reason and, for `stop_sequence`, the sequence that matched. */
export interface Stop {
  /** Why generation stopped. */
  stop_reason: StopReason;
  /** The matched stop sequence, or null. */
  stop_sequence: string | null;
}

/**
 * Maps a finish. `matched` is what the backend says stopped it (vLLM and
 * SGLang report the matched string as the choice's `stop_reason`); it counts
 * only when it is one of the client's `stopSequences`. A `stop` whose answer
 * holds tool calls is `tool_use`: some backends report it that way, and
 * clients run tools only on `tool_use`.
 */
export function mapStop(
  finishReason: unknown,
  matched: unknown,
  stopSequences: readonly string[],
  hasToolCalls: boolean,
): Stop {
  switch (finishReason) {
    case "length":
      return { stop_reason: "max_tokens", stop_sequence: null };
    case "tool_calls":
    case "function_call":
      return { stop_reason: "tool_use", stop_sequence: null };
    case "content_filter":
      return { stop_reason: "refusal", stop_sequence: null };
    default:
      if (hasToolCalls) return { stop_reason: "tool_use", stop_sequence: null };
      if (typeof matched === "string" && stopSequences.includes(matched)) {
        return { stop_reason: "stop_sequence", stop_sequence: matched };
      }
      return { stop_reason: "end_turn", stop_sequence: null };
  }
}
