/**
 * Asking a backend whether it lives, for a stream whose response head is
 * late (see `HeadWatch` in upstream/attempt.ts): `GET {base}/models`, which
 * every OpenAI-compatible server answers at once whatever it is generating.
 * Any HTTP answer (even a 401 or 404) means alive; no answer within as long
 * as the head was given (at most five seconds) means a backend that accepted
 * the connection and is not there.
 *
 * @module
 */

import { probeStatus } from "../upstream/status_probe.ts";
import type { HeadWatch } from "../upstream/attempt.ts";
import { checkedUpstreamUrl } from "../upstream/upstream_url.ts";
import type { Route } from "./state.ts";

/** The longest a liveness request may take (it gets no longer than the head did, at most this). */
const ALIVE_WITHIN_MS = 5000;

/** The head watch for a stream on `route` (none for the demo backend, or with PROXY_HEAD_TIMEOUT=0). */
export function headWatch(route: Route, afterMs: number): HeadWatch | undefined {
  const target = route.target;
  if (target === undefined || afterMs <= 0) return undefined;
  return {
    afterMs,
    alive: async () => {
      const url = checkedUpstreamUrl(target, "/v1/models", "");
      const answer = await probeStatus(route.transport, url, route.config.apiKey, Math.min(ALIVE_WITHIN_MS, afterMs));
      return answer.status !== undefined;
    },
  };
}
