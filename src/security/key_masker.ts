/**
 * Masking configured keys in what leaves the proxy, in every spelling a
 * reader would decode to the key: literal, JSON-escaped (`\u0066` in either
 * hex case, `\/` as PHP writes it, `\"`, `\\`) and percent-encoded (`%2B` as
 * in a URL), in any mix: the keys are matched on what the bytes' units
 * decode to (see spellings.ts).
 *
 * The keys are found by key_matcher.ts, each byte read once. A stream holds back
 * only what could still become a key: the bytes since the earliest key
 * prefix that is still matching, at most a key's length in escapes, so a
 * key split anywhere (and a longer key that starts with a shorter one) is
 * masked whole, and an event's blank line is never held.
 *
 * @module
 */

/** What a key is replaced with. */
export const MASK = "***";

/**
 * Keys shorter than this are not masked: a local backend's `EMPTY` or `x` would
 * match ordinary text and mangle headers and bodies, and such keys guard nothing.
 */
export const MIN_MASKED_KEY = 8;

import { concatBytes } from "../bytes.ts";
import { KeyStream } from "./key_stream.ts";
import { KeyMatcher } from "./key_matcher.ts";
import { prepare, type PreparedKey } from "./spellings.ts";

const MASK_BYTES = new TextEncoder().encode(MASK);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/**
 * The keys to mask: long enough to be secrets, without duplicates, longest
 * first.
 */
export function maskableKeys(keys: readonly string[]): string[] {
  return [...new Set(keys.filter((k) => k.length >= MIN_MASKED_KEY))].sort((a, b) => b.length - a.length);
}

/** The configured keys, prepared once, and masking in text, whole bodies and streams. */
export class KeyMasker {
  readonly #sources: string[];
  readonly #keys: PreparedKey[];
  #lower: KeyMasker | undefined;
  readonly #matcher: KeyMatcher;

  /** Masks `keys` (too short ones and duplicates are dropped, see {@linkcode maskableKeys}). */
  constructor(keys: readonly string[]) {
    this.#sources = maskableKeys(keys);
    this.#keys = this.#sources.flatMap((key) => prepare(key, MIN_MASKED_KEY));
    this.#matcher = new KeyMatcher(this.#keys);
  }

  /** The same keys lower-cased, for text that is (header names): made once. */
  lowerCased(): KeyMasker {
    return this.#lower ??= new KeyMasker(this.#sources.map((k) => k.toLowerCase()));
  }

  /** False when there is nothing to mask, so callers can skip the work. */
  get active(): boolean {
    return this.#keys.length > 0;
  }

  /** `text` with every key masked. */
  text(text: string): string {
    if (!this.active || text === "") return text;
    const bytes = encoder.encode(text);
    const masked = this.bytes(bytes);
    return masked === bytes ? text : decoder.decode(masked);
  }

  /**
   * `text` masked, then cut to `max` characters (and "…" when it was longer):
   * only a window a key could straddle is read, and a key across the cut is
   * masked, never cut.
   */
  cut(text: string, max: number): string {
    if (text.length <= max) return this.text(text);
    // An escape spells a character in at most 6: a key starting before the cut ends within this window.
    // Masked as a stream, so a key that the window's end cuts is held back, not slid into view.
    const window = text.slice(0, max + 6 * this.#matcher.longest);
    if (!this.active) return text.slice(0, max) + "…";
    const whole = window.length === text.length;
    const bytes = encoder.encode(window);
    const { out, held } = this.run(bytes, bytes.length, whole);
    const masked = decoder.decode(out);
    return !whole || held > 0 || masked.length > max ? masked.slice(0, max) + "…" : masked;
  }

  /** A whole body with every key masked; the same array when nothing was found. */
  bytes<T extends Uint8Array>(body: T): T | Uint8Array<ArrayBuffer> {
    if (!this.active || body.length === 0) return body;
    const run = this.run(body, body.length, true);
    return run.replaced ? run.out : body;
  }

  /** A masker for one stream: it holds back what could still become a key. */
  stream(): KeyStream {
    return new KeyStream(this);
  }

  /**
   * Masks `buf[0, end)`. Unless `final`, it stops at the earliest unit from which
   * a key could still complete: those `held` bytes wait for the next chunk.
   */
  run(buf: Uint8Array, end: number, final: boolean): { out: Uint8Array<ArrayBuffer>; held: number; replaced: boolean } {
    const all = buf.subarray(0, end) as Uint8Array<ArrayBuffer>;
    if (!this.#matcher.mayHold(all)) return { out: all, held: 0, replaced: false };
    const { matches, limit } = this.locate(buf, end, final);
    const parts: Uint8Array[] = [];
    let copied = 0;
    for (const [start, stop] of matches) {
      if (start >= limit) break;
      if (start > copied) parts.push(buf.subarray(copied, start));
      parts.push(MASK_BYTES);
      copied = stop;
    }
    const keep = Math.max(limit, copied);
    if (copied < keep) parts.push(buf.subarray(copied, keep));
    return { out: join(parts), held: end - keep, replaced: matches.length > 0 && matches[0][0] < limit };
  }

  /**
   * Where keys are in `buf[0, end)`: the matches to mask (leftmost, then
   * longest, never overlapping: what a reader sees as one key is masked as
   * one), and, unless `final`, the `limit` from which a key could still
   * complete with more bytes (`end` when none could).
   */
  locate(buf: Uint8Array, end: number, final: boolean): { matches: [number, number][]; limit: number } {
    const { matches, limit } = this.#matcher.find(buf, end, final);
    matches.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const chosen: [number, number][] = [];
    let copied = 0;
    for (const m of matches) {
      if (m[0] < copied || m[0] >= limit) continue;
      chosen.push(m);
      copied = m[1];
    }
    return { matches: chosen, limit };
  }
}

/** The parts as one array (a single part as it is). */
function join(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts as Uint8Array<ArrayBuffer>[]);
}
