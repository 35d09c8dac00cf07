/**
 * The configuration most end-to-end tests run the proxy with: the fast and
 * the smart route, each with its own key and forced model (so fallback is on),
 * and the minimal chat completion a client sends through them.
 *
 * @module
 */

import { post, type TestProxy } from "./proxy.ts";

/** A route's name. */
export type RouteName = "fast" | "smart";

/** The configuration a test passes to `startProxy`. */
export type ProxyEnv = Record<string, string>;

/** Each route's upstream key: only its own backend may ever see it. */
export const KEYS: Readonly<Record<RouteName, string>> = {
  fast: "sk-fast-route-key-0001",
  smart: "sk-smart-route-key-0002",
};

/** Each route's model, forced onto every request the route sends. */
export const MODELS: Readonly<Record<RouteName, string>> = { fast: "vendor/fast-model", smart: "vendor/smart-model" };

/** Both route keys, for scanning what the client or the operator sees. */
export const ALL_KEYS: readonly string[] = Object.values(KEYS);

/** The key {@linkcode chat} sends as the client's own: it must never travel upstream. */
export const CLIENT_KEY = "client-key-not-for-upstream";

/**
 * `extra` for tests that count attempts: one attempt per route, no
 * same-route retry before the fallback (fallback_test.ts tests the retry).
 */
export const ONE_ATTEMPT: Readonly<ProxyEnv> = { PROXY_RETRIES: "0" };

/**
 * Only the fast route, on `url`, with {@linkcode KEYS}.fast and
 * {@linkcode MODELS}.fast (smart borrows them, so there is no fallback), and a
 * 5 s first-answer timeout. `extra` is added last and wins.
 */
export function oneRoute(url: string, extra: ProxyEnv = {}): ProxyEnv {
  return {
    FAST_BASE_URL: url,
    FAST_API_KEY: KEYS.fast,
    FAST_MODEL_NAME: MODELS.fast,
    PROXY_TIMEOUT: "5",
    ...extra,
  };
}

/**
 * Both routes, fast on `fastUrl` and smart on `smartUrl` (they may be the
 * same backend), with distinct {@linkcode KEYS} and {@linkcode MODELS}, so
 * fallback is on; a 5 s first-answer timeout. `extra` is added last and wins.
 */
export function twoRoutes(fastUrl: string, smartUrl: string, extra: ProxyEnv = {}): ProxyEnv {
  return oneRoute(fastUrl, {
    SMART_BASE_URL: smartUrl,
    SMART_API_KEY: KEYS.smart,
    SMART_MODEL_NAME: MODELS.smart,
    ...extra,
  });
}

/**
 * POSTs a minimal chat completion for `model` (one user message, `hi`) to the
 * proxy, the way a client hard-coded to a model name sends it: with its own
 * key, {@linkcode CLIENT_KEY}, as `authorization`. `extra` adds or replaces
 * body fields; `headers` adds or replaces request headers.
 */
export function chat(
  proxy: TestProxy,
  model: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  return post(
    `${proxy.url}/v1/chat/completions`,
    { model, messages: [{ role: "user", content: "hi" }], ...extra },
    { authorization: `Bearer ${CLIENT_KEY}`, ...headers },
  );
}
