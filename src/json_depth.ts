/**
 * A bound on how deeply JSON nests, checked before anything parses or
 * re-serialises it: a client's body, and a backend's answer or event. V8
 * here neither throws nor returns quickly on JSON nested millions deep (a
 * 14 MB body under the size limit held the event loop for 16 s), so a guard
 * that waits for a `RangeError` never fires: the depth is counted first, in
 * one pass.
 *
 * @module
 */

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "./json_bytes.ts";

/**
 * The deepest nesting accepted. Real requests (JSON schemas of tools, nested
 * content) stay far below it; it is deep enough for any of them.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Whether `json` (JSON text, as UTF-8 bytes or a string) nests objects and
 * arrays deeper than `max`. Brackets inside strings do not count. One pass,
 * no allocation.
 */
export function nestsDeeperThan(json: Uint8Array | string, max: number = MAX_JSON_DEPTH): boolean {
  // Each level opens with a bracket of its own: text shorter than that cannot nest that deep.
  if (json.length <= max) return false;
  const text = typeof json === "string";
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const b = text ? json.charCodeAt(i) : json[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * `JSON.parse(text)` for text from outside (a backend's answer or event): JSON
 * nested deeper than {@linkcode MAX_JSON_DEPTH} is refused like invalid JSON
 * (a `SyntaxError`), before it is parsed.
 */
export function parseJson(text: string): unknown {
  if (nestsDeeperThan(text)) throw new SyntaxError(`JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
  return JSON.parse(text);
}
