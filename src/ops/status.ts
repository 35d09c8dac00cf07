/**
 * The JSON that the status page polls (`GET /status.json`): each route's
 * health and figures, open streams, uptime, version, auth, and the last
 * requests. Never a key: client strings and error messages pass `mask`.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import type { RecentRequest } from "./recent.ts";
import type { LastError } from "./route_stats.ts";
import type { Telemetry } from "./telemetry.ts";

/** A breaker as the page shows it. */
export interface BreakerView {
  /** `closed`, `cooling` or `probing`. */
  state: string;
  /** When cooling ends, as an ISO date. */
  until?: string;
}

/** One route on the status page. */
export interface RouteStatus {
  /** "fast" or "smart". */
  name: string;
  /** Backend host. */
  host: string;
  /** Forced model. */
  model: string;
  /** Circuit breaker state. */
  breaker: BreakerView;
  /** Requests this route answered. */
  requests: number;
  /** Failed attempts. */
  failures: number;
  /** Requests that fell back from this route to the other. */
  fallbacks: number;
  /** Tokens reported by the backend. */
  tokens: { input: number; output: number };
  /** Median time to first byte (first SSE event for streams), ms; null before any answer. */
  first_token_p50_ms: number | null;
  /** The last failed attempt, masked; null if none. */
  last_error: LastError | null;
}

/** The whole status document. */
export interface Status {
  /** modelpin's version. */
  version: string;
  /** Deno's version. */
  deno: string;
  /** Seconds since start. */
  uptime_s: number;
  /** Whether PROXY_API_KEYS is set. */
  auth: boolean;
  /** Demo mode. */
  demo: boolean;
  /** Whether a failing route falls back. */
  fallback: boolean;
  /** Streams being relayed now. */
  open_streams: number;
  /** The routes. */
  routes: RouteStatus[];
  /** The last requests, newest first. */
  recent: RecentRequest[];
}

/** What the status needs besides the instruments. */
export interface StatusSources {
  /** The instruments. */
  telemetry: Telemetry;
  /** Each route's breaker, by route name. */
  breaker: (route: string) => BreakerView;
  /** Streams open now. */
  openStreams: () => number;
  /** Whether inbound auth is on. */
  auth: boolean;
  /** Demo mode. */
  demo: boolean;
  /** Fallback on. */
  fallback: boolean;
  /** Hides configured keys in text. */
  mask: (text: string) => string;
  /** Clock (tests). */
  now?: () => number;
}

/** Builds the status document. */
export function buildStatus(s: StatusSources): Status {
  const now = (s.now ?? Date.now)();
  return {
    version: VERSION,
    deno: Deno.version.deno,
    uptime_s: Math.max(0, Math.floor((now - s.telemetry.startedAt) / 1000)),
    auth: s.auth,
    demo: s.demo,
    fallback: s.fallback,
    open_streams: s.openStreams(),
    routes: s.telemetry.routes().map(({ info, stats }) => ({
      name: info.name,
      host: info.host,
      model: info.model,
      breaker: s.breaker(info.name),
      requests: stats.requests,
      failures: stats.failures,
      fallbacks: stats.fallbacks,
      tokens: { input: stats.tokensIn, output: stats.tokensOut },
      first_token_p50_ms: stats.firstByteP50Ms(),
      last_error: stats.lastError ? { ...stats.lastError, message: s.mask(stats.lastError.message) } : null,
    })),
    recent: s.telemetry.recent.list(s.mask),
  };
}
