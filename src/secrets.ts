/**
 * Key custody: masking configured keys in text that leaves the proxy, and
 * checking inbound keys in constant time.
 *
 * @module
 */

const MASK = "***";

/** Replaces every occurrence of any key in `text` with `***`. */
export function maskKeys(text: string, keys: readonly string[]): string {
  let out = text;
  for (const key of keys) {
    if (key.length > 0 && out.includes(key)) out = out.split(key).join(MASK);
  }
  return out;
}

/** Masks keys in a body; returns the same bytes when none occurs. */
export function maskKeysInBytes(body: Uint8Array<ArrayBuffer>, keys: readonly string[]): Uint8Array<ArrayBuffer> {
  if (keys.length === 0 || body.length === 0) return body;
  const text = new TextDecoder().decode(body);
  const masked = maskKeys(text, keys);
  return masked === text ? body : new TextEncoder().encode(masked);
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  const n = Math.max(ea.length, eb.length);
  for (let i = 0; i < n; i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/**
 * The key a client presented (`Authorization: Bearer`, or `x-api-key`), checked
 * against every accepted key without stopping early.
 */
export function clientKeyAccepted(headers: Headers, accepted: readonly string[]): boolean {
  const auth = headers.get("authorization");
  const presented = auth !== null && /^bearer /i.test(auth) ? auth.slice(7).trim() : headers.get("x-api-key") ?? "";
  let ok = false;
  for (const key of accepted) ok = constantTimeEqual(presented, key) || ok;
  return ok && presented !== "";
}
