/**
 * The spellings a reader decodes: JSON string escapes (`\u0066` in either hex
 * case, `\/`, `\"`, `\\`, and `\n` and its kin) and percent-encoding
 * (`%2B`). Bytes are read as *units*, each one literal byte or one escape,
 * and a unit stands for the character a JSON reader or URL decoder would
 * read. The key masker matches keys on these characters, so any mix of
 * spellings is found.
 *
 * @module
 */

import { BACKSLASH } from "../json_bytes.ts";

const encoder = new TextEncoder();

/** `%`, which starts a percent escape. */
export const PERCENT = 0x25;
/** A decoded unit that can be part of no key (a control character, a non-ASCII byte). */
export const NO_CHAR = -1;
/** Where the codes of `\b`, `\f`, `\n`, `\r`, `\t` start: private-use code points, which no ASCII spelling makes. */
const ESCAPED = 0xe000;
/** Not enough bytes yet to tell what the unit at the end is. */
export const INCOMPLETE = -2;

function hex(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/**
 * Decodes the unit at `at` of `buf[0, end)`: sets `unit.char` (the character code,
 * {@linkcode NO_CHAR} or {@linkcode INCOMPLETE}) and `unit.length`.
 */
export function decodeUnit(buf: Uint8Array, at: number, end: number, final: boolean, unit: Unit): void {
  const b = buf[at];
  unit.length = 1;
  unit.char = b < 0x80 ? b : NO_CHAR;
  if (b === BACKSLASH) return backslashUnit(buf, at, end, final, unit);
  if (b === PERCENT) {
    if (at + 3 > end) {
      if (!final) unit.char = INCOMPLETE;
      return;
    }
    const hi = hex(buf[at + 1]);
    const lo = hex(buf[at + 2]);
    if (hi >= 0 && lo >= 0) {
      unit.length = 3;
      const code = (hi << 4) | lo;
      unit.char = code < 0x80 ? code : NO_CHAR;
    }
  }
}

/**
 * The most backslashes in a row read as one escape: JSON inside a JSON string
 * (tool arguments) escapes its escapes, `\u0066` becoming `\\u0066` one level
 * up and `\\\\u0066` two levels up. A longer run is text, so that a stream of
 * backslashes is never held back waiting for its end.
 */
const MAX_RUN = 15;

/**
 * A unit that starts with a backslash: a run of them and what follows, read
 * as the escape it is at whatever level of nesting (`\u0066`, `\\u0066`,
 * `\/`, `\\/`, `\"`, `\n`...), else the run as one backslash.
 */
function backslashUnit(buf: Uint8Array, at: number, end: number, final: boolean, unit: Unit): void {
  let run = 1;
  while (at + run < end && buf[at + run] === BACKSLASH) run++; // one pass: a run is read once, whole
  const next = at + run;
  const literal = () => {
    unit.length = run;
    unit.char = BACKSLASH;
  };
  if (run > MAX_RUN) return literal();
  if (next >= end) return final ? literal() : void (unit.char = INCOMPLETE);
  const e = buf[next];
  if (e === 0x75) { // u: \uXXXX at some level
    if (next + 5 > end) return final ? literal() : void (unit.char = INCOMPLETE);
    const digits = [hex(buf[next + 1]), hex(buf[next + 2]), hex(buf[next + 3]), hex(buf[next + 4])];
    if (digits.some((d) => d < 0)) return literal();
    const code = (digits[0] << 12) | (digits[1] << 8) | (digits[2] << 4) | digits[3];
    unit.length = run + 5;
    unit.char = code < 0x80 ? code : NO_CHAR;
    return;
  }
  if (e === 0x2f || e === 0x22) { // / "
    unit.length = run + 1;
    unit.char = e;
  } else if (e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) { // b f n r t
    // A character of its own, found by no other spelling: a key that holds `\n` literally still matches.
    unit.length = run + 1;
    unit.char = ESCAPED + e;
  } else literal();
}

export interface Unit {
  char: number;
  length: number;
}

/** One key, decoded, with its KMP failure table. */
export interface PreparedKey {
  chars: Uint16Array;
  failure: Int32Array;
}

/** A key's characters prepared for matching, with their KMP failure table. */
function prepared(chars: number[]): PreparedKey {
  const failure = new Int32Array(chars.length);
  for (let i = 1, k = 0; i < chars.length; i++) {
    while (k > 0 && chars[i] !== chars[k]) k = failure[k - 1];
    if (chars[i] === chars[k]) k++;
    failure[i] = k;
  }
  return { chars: Uint16Array.from(chars), failure };
}

/**
 * What each key is matched as: its own characters, and, for a key that holds
 * `\` or `%`, also what the text decoder reads its literal spelling as (so
 * `abc%41` in plain text, which decodes to `abcA`, is found too).
 */
export function prepare(key: string, minLength: number): PreparedKey[] {
  const own = [...key].map((c) => c.charCodeAt(0));
  if (!key.includes("\\") && !key.includes("%")) return [prepared(own)];
  const bytes = encoder.encode(key);
  const read: number[] = [];
  const unit: Unit = { char: 0, length: 0 };
  for (let at = 0; at < bytes.length; at += unit.length) {
    decodeUnit(bytes, at, bytes.length, true, unit);
    read.push(unit.char < 0 ? 0xffff : unit.char);
  }
  return read.length >= minLength ? [prepared(own), prepared(read)] : [prepared(own)];
}
