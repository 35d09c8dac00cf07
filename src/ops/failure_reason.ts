/**
 * Why an attempt failed, as the metrics label it and as the status page
 * tells it (masked before anything is cut).
 *
 * @module
 */

/** Why an attempt failed, as the metrics label it. */
export type FailureReason = "timeout" | "connect_error" | "status_5xx" | "status_429" | "bad_stream";

/** Why a request was served by the other route, as the metrics label it. */
export type FallbackReason = FailureReason | "cooling";

/** Maps the handler's failure names (`status_503`, `fast_cooling`...) onto the metric labels. */
export function metricReason(reason: string): FallbackReason {
  if (reason.endsWith("_cooling")) return "cooling";
  if (reason === "status_429") return "status_429";
  if (reason.startsWith("status_")) return "status_5xx";
  if (reason === "timeout" || reason === "connect_error" || reason === "bad_stream") return reason;
  // An answer that cannot be relayed (odd status, unknown encoding) is a broken answer, like a bad stream.
  if (reason === "bad_response") return "bad_stream";
  return "connect_error";
}

/**
 * What a failed attempt said, for the status page's "last error". `mask` hides
 * keys; it runs on the whole text before anything is cut, so a key that
 * straddles the cut cannot survive as a readable prefix.
 */
export function describeFailure(
  reason: string,
  attempt: { outcome: { kind: string }; response?: Response; body?: Uint8Array; streamError?: string },
  mask: (text: string) => string = (text) => text,
): string {
  if (attempt.streamError) return shorten(mask(attempt.streamError));
  if (attempt.outcome.kind === "timeout") return "no answer within PROXY_TIMEOUT";
  if (attempt.outcome.kind === "connect_error") return "could not connect to the backend";
  const status = attempt.response?.status;
  let said = "";
  if (attempt.body && attempt.body.length > 0) {
    const text = mask(new TextDecoder().decode(attempt.body));
    try {
      const message = JSON.parse(text)?.error?.message;
      said = typeof message === "string" ? message : text;
    } catch {
      said = text;
    }
  }
  said = shorten(said);
  return status ? `HTTP ${status}${said ? `: ${said}` : ""}` : reason;
}

/** One line of at most 200 characters. */
function shorten(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? line.slice(0, 200) + "…" : line;
}
