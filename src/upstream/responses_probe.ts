/**
 * Whether a backend has OpenAI's Responses API, asked without any model:
 * `POST {base}/responses` with the body `{}`. A backend without the endpoint
 * answers 404 (or 405, 501) for the path; one with it refuses the empty body
 * (400, 422) or the key (401, 403). Because no model is named, a 404 here
 * cannot mean "no such model", so it never flips a route to translation by
 * mistake. No answer at all decides nothing.
 *
 * @module
 */

import type { FetchLike } from "./attempt.ts";
import { probeStatus } from "./status_probe.ts";

/** What the probe found: the way to reach the backend, and the status that said so. */
export interface ResponsesProbe {
  /** `native` (the backend has /v1/responses), `translate` (it does not), or `undefined` (no answer). */
  way: "native" | "translate" | undefined;
  /** The status it answered with, or why it did not. */
  said: string;
}

/** The statuses that mean "no such path". */
const NO_SUCH_PATH = new Set([404, 405, 501]);

/** The longest the probe may take. */
const PROBE_MS = 5000;

/**
 * Asks `url` (the backend's `/responses`, stitched and checked) with the
 * route's `key`, for at most `withinMs` (and never over five seconds).
 */
export async function probeResponsesApi(
  fetch: FetchLike,
  url: string,
  key: string,
  withinMs: number = PROBE_MS,
): Promise<ResponsesProbe> {
  const answer = await probeStatus(
    fetch,
    url,
    key,
    Math.min(PROBE_MS, withinMs > 0 ? withinMs : PROBE_MS),
    "POST",
    "{}",
  );
  if (answer.status === undefined) return { way: undefined, said: answer.said };
  return { way: NO_SUCH_PATH.has(answer.status) ? "translate" : "native", said: `HTTP ${answer.status}` };
}
