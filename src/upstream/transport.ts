/**
 * How a route reaches its backend, decided where the connection pool is
 * owned (as Go's ReverseProxy takes a Transport): `fetch` on one keep-alive
 * pool for configured backends, the in-process echo model in demo mode.
 *
 * @module
 */

import type { RouteConfig } from "../config/config.ts";
import type { FetchLike } from "./attempt.ts";
import { demoFetch } from "./demo_backend.ts";

/** The upstream connection pool and the transport each route uses. */
export interface Transports {
  /** The transport for `route`. */
  for(route: RouteConfig): FetchLike;
  /** Closes the pool (end of shutdown). */
  close(): void;
}

/**
 * `fetch` is modelpin's only upstream client (hyper underneath): it watches
 * idle pooled connections, so stray bytes from a backend never become
 * another client's answer. After a burst (a thousand streams) the pool keeps
 * only enough idle connections for steady load.
 */
export function pooledTransports(): Transports {
  let client: Deno.HttpClient | undefined;
  const pooled: FetchLike = (url, init) => {
    client ??= Deno.createHttpClient({ poolMaxIdlePerHost: 128, poolIdleTimeout: 30_000 });
    return fetch(url, { ...init, client });
  };
  return {
    for: (route) => route.baseUrl ? pooled : demoFetch(route.name),
    close: () => client?.close(),
  };
}
