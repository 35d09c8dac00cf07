/**
 * Key custody: masking configured keys in text that leaves the proxy, and
 * checking inbound keys in constant time.
 *
 * @module
 */

const MASK = "***";
/**
 * Keys shorter than this are not masked: a local backend's `EMPTY` or `x` would
 * match ordinary text and mangle headers and bodies, and such keys guard nothing.
 */
const MIN_MASKED_KEY = 8;

/**
 * The keys to mask: long enough to be secrets, without duplicates, longest
 * first so a key that contains another is masked whole.
 */
export function maskableKeys(keys: readonly string[]): string[] {
  return [...new Set(keys.filter((k) => k.length >= MIN_MASKED_KEY))].sort((a, b) => b.length - a.length);
}

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

const MASK_BYTES = new TextEncoder().encode(MASK);

/** The keys encoded once for {@linkcode StreamKeyMasker}. */
export function streamKeys(keys: readonly string[]): Uint8Array[] {
  return maskableKeys(keys).map((k) => new TextEncoder().encode(k));
}

function startsAt(buf: Uint8Array, at: number, key: Uint8Array, length = key.length): boolean {
  for (let j = 0; j < length; j++) if (buf[at + j] !== key[j]) return false;
  return true;
}

/**
 * Masks keys in a byte stream as it passes. A chunk that ends with the start
 * of a key has those bytes held back until the next chunk shows whether the
 * key follows. Keys never contain line breaks, so an SSE event's terminating
 * blank line is never held: events are not delayed.
 */
export class StreamKeyMasker {
  readonly #keys: Uint8Array[];
  #held: Uint8Array | undefined;

  /** Masks the keys prepared once by {@linkcode streamKeys}. */
  constructor(keys: readonly Uint8Array[]) {
    this.#keys = keys as Uint8Array[];
  }

  /** False when there is nothing to mask, so callers can skip the work. */
  get active(): boolean {
    return this.#keys.length > 0;
  }

  /** The bytes to pass on for `chunk` (possibly fewer, when a key may be starting). */
  push(chunk: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    let buf = chunk;
    if (this.#held) {
      buf = new Uint8Array(this.#held.length + chunk.length);
      buf.set(this.#held);
      buf.set(chunk, this.#held.length);
      this.#held = undefined;
    }
    for (const key of this.#keys) buf = replaceAll(buf, key);
    const last = buf[buf.length - 1];
    if (buf.length === 0 || last === 10 || last === 13) return buf;
    let hold = 0;
    for (const key of this.#keys) {
      for (let k = Math.min(key.length - 1, buf.length); k > hold; k--) {
        if (startsAt(buf, buf.length - k, key, k)) {
          hold = k;
          break;
        }
      }
    }
    if (hold === 0) return buf;
    this.#held = buf.slice(buf.length - hold);
    return buf.subarray(0, buf.length - hold);
  }

  /** Bytes still held at the end of the stream (a key's start, never a whole key). */
  flush(): Uint8Array<ArrayBuffer> | undefined {
    const held = this.#held;
    this.#held = undefined;
    return held as Uint8Array<ArrayBuffer> | undefined;
  }
}

function replaceAll(buf: Uint8Array<ArrayBuffer>, key: Uint8Array): Uint8Array<ArrayBuffer> {
  let at = buf.indexOf(key[0]);
  let parts: Uint8Array[] | undefined;
  let copied = 0;
  while (at >= 0 && at + key.length <= buf.length) {
    if (startsAt(buf, at, key)) {
      (parts ??= []).push(buf.subarray(copied, at), MASK_BYTES);
      copied = at + key.length;
      at = buf.indexOf(key[0], copied);
    } else {
      at = buf.indexOf(key[0], at + 1);
    }
  }
  if (!parts) return buf;
  parts.push(buf.subarray(copied));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
