/**
 * Token usage as the backend reports it: the `usage` object of a JSON answer,
 * or of the SSE chunk that carries it. Only what passes is read; modelpin
 * never adds `stream_options` or anything else to get it.
 *
 * @module
 */

import type { ChunkSource } from "../upstream/chunk_reader.ts";

/** Tokens of one answer. */
export interface Usage {
  /** Prompt (input) tokens. */
  input: number;
  /** Completion (output) tokens. */
  output: number;
}

// `"usage"` as bytes.
const KEY = [0x22, 0x75, 0x73, 0x61, 0x67, 0x65, 0x22];
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const LF = 0x0a;
const MAX_USAGE_BYTES = 4096;
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
    else if (b === OPEN) depth++;
    else if (b === CLOSE && --depth === 0) return i + 1;
  }
  return -1;
}

function toUsage(value: unknown): Usage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const u = value as Record<string, unknown>;
  // Chat and completions say prompt/completion; the Responses API says input/output.
  const input = u.prompt_tokens ?? u.input_tokens;
  const output = u.completion_tokens ?? u.output_tokens;
  if (typeof input !== "number" && typeof output !== "number") return undefined;
  const n = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0;
  return { input: n(input), output: n(output) };
}

/** Parses the usage object whose `"usage"` key starts at `at`, within `[at, end)`. */
function usageAt(bytes: Uint8Array, at: number, end: number): Usage | undefined {
  let i = at + KEY.length;
  while (i < end && isSpace(bytes[i])) i++;
  if (bytes[i] !== 0x3a) return undefined; // ':'
  i++;
  while (i < end && isSpace(bytes[i])) i++;
  if (bytes[i] !== OPEN) return undefined; // `"usage": null` and the like
  const close = objectEnd(bytes, i, Math.min(end, i + MAX_USAGE_BYTES));
  if (close < 0) return undefined;
  try {
    return toUsage(JSON.parse(decoder.decode(bytes.subarray(i, close))));
  } catch {
    return undefined;
  }
}

/**
 * The usage in a JSON answer, searched from the end (where backends put it)
 * without parsing the whole body; `undefined` when the answer has none.
 */
export function usageFromJson(body: Uint8Array, start = 0, end = body.length): Usage | undefined {
  for (let at = end - KEY.length; at >= start; at--) {
    if (body[at] === QUOTE && keyAt(body, at)) {
      const usage = usageAt(body, at, end);
      if (usage) return usage;
    }
  }
  return undefined;
}

/** The longest SSE line kept across reads; a longer one is skipped (a usage line is small). */
const MAX_CARRY_BYTES = 64 * 1024;

/**
 * Watches SSE chunks as they pass and keeps the last usage seen (a backend
 * may report running totals; the last one is the answer's). Only a line cut
 * by a read boundary is copied, never the stream.
 */
export class StreamUsageScanner {
  #carry: Uint8Array | undefined;
  #skipping = false;
  /** The last usage seen, if any. */
  usage: Usage | undefined;

  /** Looks at one chunk as it passes; the chunk is not kept. */
  push(chunk: Uint8Array): void {
    let from = 0;
    if (this.#carry || this.#skipping) {
      const lf = chunk.indexOf(LF);
      if (lf < 0) {
        this.#hold(chunk);
        return;
      }
      if (this.#carry) {
        const line = new Uint8Array(this.#carry.length + lf);
        line.set(this.#carry);
        line.set(chunk.subarray(0, lf), this.#carry.length);
        this.#scan(line, 0, line.length);
      }
      this.#carry = undefined;
      this.#skipping = false;
      from = lf + 1;
    }
    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf >= from) this.#scan(chunk, from, lastLf);
    if (lastLf + 1 < chunk.length) this.#hold(chunk.subarray(Math.max(from, lastLf + 1)));
  }

  /** Keeps a line's unfinished start for the next read, within bounds. */
  #hold(part: Uint8Array): void {
    if (this.#skipping) return;
    const have = this.#carry?.length ?? 0;
    if (have + part.length > MAX_CARRY_BYTES) {
      this.#carry = undefined;
      this.#skipping = true;
      return;
    }
    const next = new Uint8Array(have + part.length);
    if (this.#carry) next.set(this.#carry);
    next.set(part, have);
    this.#carry = next;
  }

  /** Finds the last usage in complete lines `[start, end)`. */
  #scan(bytes: Uint8Array, start: number, end: number): void {
    const found = usageFromJson(bytes, start, end);
    if (found) this.usage = found;
  }
}

/** A chunk source that shows every chunk to `scanner` as it passes (no copy, no delay). */
export function tapUsage(source: ChunkSource, scanner: StreamUsageScanner): ChunkSource {
  return {
    read: async () => {
      const result = await source.read();
      if (!result.done) scanner.push(result.value);
      return result;
    },
    cancel: () => source.cancel(),
  };
}
