/**
 * Where configured keys are in bytes: Knuth-Morris-Pratt per key over the
 * units the bytes decode to (see spellings.ts). Every byte is decoded once
 * and advances each key's state once; while no key prefix matches, the scan
 * jumps between the bytes that can start a key's unit (a native search per
 * such byte). The key masker (key_masker.ts) decides what to do with them.
 *
 * @module
 */

import { BACKSLASH } from "../json_bytes.ts";
import { decodeUnit, INCOMPLETE, NO_CHAR, PERCENT, type PreparedKey, type Unit } from "./spellings.ts";

/** Finds prepared keys in bytes; one run at a time (a run never yields, so its scratch is shared). */
export class KeyMatcher {
  readonly #keys: PreparedKey[];
  /** The most units a key has. */
  readonly longest: number;
  /** Bytes that can start a unit of a key: each key's first character, `\` and `%`. */
  readonly #starts: Uint8Array;
  /** 1 for each character that starts a key. */
  readonly #first: Uint8Array;
  /** Per key, the length of its prefix matching now (scratch of a run). */
  readonly #states: Int32Array;
  /** Where the last `longest` units started: a match's first byte, from its length in units (scratch of a run). */
  readonly #ring: Int32Array;
  /** Per byte of `#starts`, its next position (scratch of a run). */
  readonly #next: Int32Array;

  /** Matches `keys`. */
  constructor(keys: PreparedKey[]) {
    this.#keys = keys;
    this.longest = keys.reduce((n, k) => Math.max(n, k.chars.length), 0);
    const starts = new Set<number>([BACKSLASH, PERCENT]);
    for (const k of keys) starts.add(k.chars[0]);
    this.#starts = Uint8Array.from([...starts].filter((c) => c < 0x80));
    this.#first = new Uint8Array(128);
    for (const k of keys) if (k.chars[0] < 0x80) this.#first[k.chars[0]] = 1;
    this.#states = new Int32Array(keys.length);
    this.#ring = new Int32Array(this.longest + 1);
    this.#next = new Int32Array(this.#starts.length);
  }

  /** Whether `body` holds any byte that could start a key's unit (a native scan per candidate byte). */
  mayHold(body: Uint8Array): boolean {
    for (const b of this.#starts) if (body.indexOf(b) >= 0) return true;
    return false;
  }

  /**
   * Every match `[start, stop)` of a key in `buf[0, end)`, and the limit before
   * which they are decided: the start of the earliest key prefix still matching
   * at the end (or of an escape cut in two), unless `final`.
   */
  find(buf: Uint8Array, end: number, final: boolean): { matches: [number, number][]; limit: number } {
    const keys = this.#keys;
    // Scratch reused by every run (a run never yields, so runs never overlap): a stream's run per chunk allocates
    // nothing here. `ring` needs no reset: only slots written in this run are read.
    const states = this.#states.fill(0);
    const ring = this.#ring;
    const next = this.#next.fill(-2);
    const matches: [number, number][] = [];
    const unit: Unit = { char: 0, length: 0 };
    let units = 0;
    let active = 0; // keys with a prefix matching now
    let at = 0;
    let limit = end;
    while (at < end) {
      if (active === 0) {
        at = this.#skip(buf, at, end, next);
        if (at >= end) break;
      }
      const b = buf[at];
      if (b !== BACKSLASH && b !== PERCENT) {
        unit.char = b < 0x80 ? b : NO_CHAR;
        unit.length = 1;
      } else decodeUnit(buf, at, end, final, unit);
      if (unit.char === INCOMPLETE) {
        limit = at;
        break;
      }
      // Nothing is matching and this unit starts no key: the common case costs no key loop.
      if (active === 0 && (unit.char < 0 || this.#first[unit.char] === 0)) {
        at += unit.length;
        continue;
      }
      ring[units % ring.length] = at;
      units++;
      const c = unit.char;
      active = 0;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        let s = states[k];
        if (c < 0) s = 0;
        else {
          while (s > 0 && key.chars[s] !== c) s = key.failure[s - 1];
          if (key.chars[s] === c) s++;
        }
        if (s === key.chars.length) {
          matches.push([ring[(units - s) % ring.length], at + unit.length]);
          s = key.failure[s - 1];
        }
        states[k] = s;
        if (s > 0) active++;
      }
      at += unit.length;
    }
    if (!final) {
      for (let k = 0; k < keys.length; k++) {
        if (states[k] > 0) limit = Math.min(limit, ring[(units - states[k]) % ring.length]);
      }
    }
    return { matches, limit };
  }

  /**
   * From `at`, the next byte that could start a key's unit (no prefix is
   * matching). `next` caches each candidate byte's next position, so every
   * byte value is searched forward once per run.
   */
  #skip(buf: Uint8Array, at: number, end: number, next: Int32Array): number {
    let nearest = end;
    for (let j = 0; j < this.#starts.length; j++) {
      if (next[j] !== -1 && next[j] < at) next[j] = buf.indexOf(this.#starts[j], at);
      if (next[j] >= 0 && next[j] < nearest) nearest = next[j];
    }
    return nearest;
  }
}
