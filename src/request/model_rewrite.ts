/**
 * Forcing the model without re-serialising the body: every byte but the
 * `model` value stays as the client sent it (big integers, `1.0`, key order,
 * whitespace), and no second JSON.stringify is paid for.
 *
 * @module
 */

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "../json_bytes.ts";

/** Index just past the string literal that starts at `start` (a quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let j = q - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** Index just past the JSON value that starts at `i`. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d === 32 || d === 10 || d === 13 || d === 9) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === QUOTE) {
      i = stringEnd(text, i);
      continue;
    }
    if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
    else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}

function isModelKey(raw: string): boolean {
  if (raw === '"model"') return true;
  return raw.includes("\\") && JSON.parse(raw) === "model";
}

/**
 * Sets the top-level `model` of `text`, which must be a JSON object already
 * validated by JSON.parse. Every top-level `model` member is replaced (JSON.parse
 * honours the last one, a backend might honour the first); with none, one is
 * added at the front.
 */
export function rewriteModel(text: string, model: string): string {
  const literal = JSON.stringify(model);
  const open = skipSpace(text, 0);
  let out = "";
  let copied = 0;
  let found = false;
  let i = skipSpace(text, open + 1);
  while (i < text.length && text.charCodeAt(i) === QUOTE) {
    const keyEnd = stringEnd(text, i);
    const key = text.slice(i, keyEnd);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) break;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (isModelKey(key)) {
      out += text.slice(copied, start) + literal;
      copied = end;
      found = true;
    }
    i = skipSpace(text, end);
    if (text.charCodeAt(i) !== COMMA) break;
    i = skipSpace(text, i + 1);
  }
  if (found) return out + text.slice(copied);
  const empty = text.charCodeAt(skipSpace(text, open + 1)) === CLOSE_BRACE;
  return text.slice(0, open + 1) + `"model":${literal}` + (empty ? "" : ",") + text.slice(open + 1);
}
