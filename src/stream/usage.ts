/**
 * Token usage as the backend reports it: the `usage` object of a JSON answer,
 * or of the stream event that carries it. Only what passes is read; modelpin
 * never adds `stream_options` or anything else to get it.
 *
 * @module
 */

import { BACKSLASH, CLOSE_BRACE, OPEN_BRACE, QUOTE } from "../json_bytes.ts";

/** Tokens of one answer. */
export interface Usage {
  /** Prompt (input) tokens. */
  input: number;
  /** Completion (output) tokens. */
  output: number;
}

/**
 * The usage in a parsed `usage` value: chat and completions say
 * prompt/completion, the Responses API input/output. `undefined` without either.
 */
export function usageOf(value: unknown): Usage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const u = value as Record<string, unknown>;
  const input = u.prompt_tokens ?? u.input_tokens;
  const output = u.completion_tokens ?? u.output_tokens;
  if (typeof input !== "number" && typeof output !== "number") return undefined;
  const n = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0;
  return { input: n(input), output: n(output) };
}

// `"usage"` as bytes.
const KEY = [0x22, 0x75, 0x73, 0x61, 0x67, 0x65, 0x22];
/** A usage object is small; a longer one is not read. */
const MAX_USAGE_BYTES = 4096;
/**
 * How many `"usage"` keys are tried, from the end. Backends put usage last;
 * a bound keeps a hostile answer of nothing but `"usage":{` linear.
 */
const MAX_TRIES = 4;
const decoder = new TextDecoder();

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Whether `"usage"` starts at `at`, with an unescaped opening quote. */
function keyAt(bytes: Uint8Array, at: number): boolean {
  for (let k = 0; k < KEY.length; k++) if (bytes[at + k] !== KEY[k]) return false;
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && bytes[i] === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** The end (exclusive) of the object starting at `start`, honouring strings; -1 if it does not end in range. */
function objectEnd(bytes: Uint8Array, start: number, end: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE) depth++;
    else if (b === CLOSE_BRACE && --depth === 0) return i + 1;
  }
  return -1;
}

/** Parses the usage object whose `"usage"` key starts at `at`. */
function usageAt(bytes: Uint8Array, at: number): Usage | undefined {
  let i = at + KEY.length;
  while (i < bytes.length && isSpace(bytes[i])) i++;
  if (bytes[i] !== 0x3a) return undefined; // ':'
  i++;
  while (i < bytes.length && isSpace(bytes[i])) i++;
  if (bytes[i] !== OPEN_BRACE) return undefined; // `"usage": null` and the like
  const close = objectEnd(bytes, i, Math.min(bytes.length, i + MAX_USAGE_BYTES));
  if (close < 0) return undefined;
  try {
    return usageOf(JSON.parse(decoder.decode(bytes.subarray(i, close))));
  } catch {
    return undefined;
  }
}

/**
 * The usage in a JSON answer, searched from the end (where backends put it)
 * without parsing the whole body: a native backward search for quotes, and
 * at most {@linkcode MAX_TRIES} keys read. `undefined` when there is none.
 */
export function usageFromJson(body: Uint8Array): Usage | undefined {
  let tries = 0;
  for (
    let at = body.lastIndexOf(QUOTE);
    at >= 0 && tries < MAX_TRIES;
    at = at > 0 ? body.lastIndexOf(QUOTE, at - 1) : -1
  ) {
    if (body[at + 1] !== 0x75 || !keyAt(body, at)) continue; // 'u'
    tries++;
    const usage = usageAt(body, at);
    if (usage) return usage;
  }
  return undefined;
}
