/**
 * The keys clients present (PROXY_API_KEYS), checked in constant time.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ea = encoder.encode(a);
  const eb = encoder.encode(b);
  let diff = ea.length ^ eb.length;
  const n = Math.max(ea.length, eb.length);
  for (let i = 0; i < n; i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/**
 * The key a client presented (`Authorization: Bearer`, `x-api-key` as the
 * Anthropic SDK sends it, or `api-key` as Azure OpenAI clients do), checked
 * against every accepted key without stopping early.
 */
export function clientKeyAccepted(headers: Headers, accepted: readonly string[]): boolean {
  const auth = headers.get("authorization");
  const presented = auth !== null && /^bearer /i.test(auth)
    ? auth.slice(7).trim()
    : headers.get("x-api-key") ?? headers.get("api-key") ?? "";
  let ok = false;
  for (const key of accepted) ok = constantTimeEqual(presented, key) || ok;
  return ok && presented !== "";
}
