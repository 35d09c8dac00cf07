/**
 * A small keyed request to a backend whose only question is whether, and
 * with what status, it answers: the Responses API probe and the liveness
 * check of a late stream. It never follows a redirect (the key stays on its
 * host), reads no body, and gives up after `withinMs`.
 *
 * @module
 */

import type { FetchLike } from "./attempt.ts";
import { headerPairs, setUpstreamKey } from "./headers.ts";

/** How `url` answered: its status, or why there was none (a timeout, a connection that failed). */
export type ProbeAnswer = { status: number } | { status: undefined; said: string };

/** Asks `url` with `method` (and `body`, as JSON) under `key`, for at most `withinMs`. */
export async function probeStatus(
  fetch: FetchLike,
  url: string,
  key: string,
  withinMs: number,
  method: "GET" | "POST" = "GET",
  body?: string,
): Promise<ProbeAnswer> {
  const headers = new Headers({ "accept-encoding": "identity" });
  if (body !== undefined) headers.set("content-type", "application/json");
  setUpstreamKey(headers, key);
  try {
    const res = await fetch(url, {
      method,
      headers: headerPairs(headers),
      body,
      signal: AbortSignal.timeout(withinMs),
      redirect: "manual",
    });
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  } catch (err) {
    return { status: undefined, said: err instanceof Error ? err.name : "no answer" };
  }
}
