/**
 * Property tests with a fixed-seed PRNG: the SSE framer (and the first
 * event's reading through the chat grammar), the .env parser, the model
 * rewrite, and keys split across a stream's events. Failures print the seed
 * and case number, so every failure can be replayed.
 */
import assert from "node:assert/strict";
import { parseDotenv } from "../../src/config/dotenv.ts";
import { rewriteModel } from "../../src/request/model_rewrite.ts";
import { KeyMasker } from "../../src/security/key_masker.ts";
import { ContentMasker } from "../../src/stream/content_masker.ts";
import { EventStages, passThrough } from "../../src/stream/event_stages.ts";
import { CHAT_GRAMMAR, type EventInfo } from "../../src/stream/event_grammar.ts";
import { type SseEvent, SseFramer } from "../../src/stream/sse_framer.ts";

/** mulberry32: a tiny, fast, seedable 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const SEED = 0x5eed_2025;
const enc = new TextEncoder();

// ---------------------------------------------------------------------------
// (1) SSE: the framer, and the first event read through the chat grammar
// ---------------------------------------------------------------------------

const SSE_PIECES = [
  "data: x",
  'data: {"choices":[{"delta":{"content":"hi"}}]}',
  'data: {"error":{"message":"boom"}}',
  'data: {"error":"s"}',
  "data: [DONE]",
  "data:",
  ":",
  ": keep-alive",
  "\n",
  "\n",
  "\n\n",
  "\r",
  "\r\n",
  "\r\n\r\n",
  "event: y",
  "event: error",
  "id: 3",
  "retry: 10",
  "é",
  "🌍",
  "日本",
  " ",
  "{",
  "}",
  '"',
];

function randomSse(rng: Rng): string {
  let s = "";
  const n = rng.int(24);
  for (let i = 0; i < n; i++) s += rng.pick(SSE_PIECES);
  return s;
}

function randomChunks(rng: Rng, bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>[] {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = 1 + rng.int(Math.min(8, bytes.length - at));
    chunks.push(bytes.slice(at, at + len));
    at += len;
  }
  if (rng.chance(0.2)) chunks.splice(rng.int(chunks.length + 1), 0, new Uint8Array(0));
  return chunks;
}

const dec = new TextDecoder();

interface Framed {
  /** Each block: its raw text and fields. */
  blocks: { raw: string; type: string; data: string | undefined }[];
  /** Whether the last block came from end() (it had no blank line). */
  rest: boolean;
}

/** Frames `chunks` with one framer, end() included. */
function framed(chunks: Uint8Array<ArrayBuffer>[]): Framed {
  const framer = new SseFramer();
  const events: SseEvent[] = chunks.flatMap((c) => framer.push(c));
  const last = framer.end();
  if (last) events.push(last);
  return { blocks: events.map((e) => ({ raw: dec.decode(e.raw), type: e.type, data: e.data })), rest: !!last };
}

/** The raw blocks, in order: the same for any chunking of the same bytes. */
function raws(f: Framed): string[] {
  return f.blocks.map((b) => b.raw);
}

/** The fields of the blocks that carry data, in order. */
const fieldsWithData = (f: Framed) =>
  f.blocks.filter((b) => b.data !== undefined).map(({ type, data }) => ({ type, data }));

/** What the first-event judge would read: the first block that is not a comment, through the chat grammar. */
function firstInfo(chunks: Uint8Array<ArrayBuffer>[]): EventInfo | undefined {
  const framer = new SseFramer();
  for (const c of chunks) {
    for (const event of framer.push(c)) {
      const info = CHAT_GRAMMAR.inspect(event);
      if (info.kind !== "none") return info;
    }
  }
  return undefined;
}

Deno.test("fuzz sse: the framer loses no bytes; every block but end()'s ends with a line break", () => {
  const rng = new Rng(SEED);
  for (let n = 0; n < 5000; n++) {
    const text = randomSse(rng);
    let got: Framed;
    try {
      got = framed([enc.encode(text)]);
    } catch (err) {
      assert.fail(`case ${n}: threw ${err} on ${JSON.stringify(text)}`);
    }
    assert.equal(got.blocks.map((b) => b.raw).join(""), text, `case ${n}: ${JSON.stringify(text)}`);
    const whole = got.rest ? got.blocks.slice(0, -1) : got.blocks;
    for (const b of whole) {
      assert.ok(/(\r\n|\r|\n)$/.test(b.raw), `case ${n}: block without line end ${JSON.stringify(b.raw)}`);
    }
    if (got.rest) {
      // Framing the rest again finds no event in it.
      const rest = got.blocks[got.blocks.length - 1].raw;
      assert.deepEqual(new SseFramer().push(enc.encode(rest)), [], `case ${n}: rest holds an event`);
    }
  }
});

Deno.test("fuzz sse: random chunking frames the same events as one push", () => {
  const rng = new Rng(SEED + 1);
  for (let n = 0; n < 3000; n++) {
    const text = randomSse(rng);
    const bytes = enc.encode(text);
    const whole = framed([bytes]);
    const ways = [randomChunks(rng, bytes), randomChunks(rng, bytes), Array.from(bytes, (b) => Uint8Array.of(b))];
    for (const chunks of ways) {
      const got = framed(chunks);
      const where = `case ${n}: ${JSON.stringify(text)} in ${chunks.length} chunks`;
      assert.equal(got.blocks.map((b) => b.raw).join(""), text, `${where}: bytes`);
      assert.deepEqual(raws(got), raws(whole), `${where}: blocks`);
      assert.deepEqual(fieldsWithData(got), fieldsWithData(whole), `${where}: fields`);
    }
  }
});

Deno.test("fuzz sse: the first event reads the same through the chat grammar whole or in random chunks", () => {
  const rng = new Rng(SEED + 2);
  let decided = 0;
  let errors = 0;
  for (let n = 0; n < 4000; n++) {
    const text = randomSse(rng);
    const bytes = enc.encode(text);
    let whole: EventInfo | undefined;
    try {
      whole = firstInfo([bytes]);
    } catch (err) {
      assert.fail(`case ${n}: threw ${err} on ${JSON.stringify(text)}`);
    }
    for (let k = 0; k < 3; k++) {
      const chunked = firstInfo(randomChunks(rng, bytes));
      assert.deepEqual(chunked, whole, `case ${n}.${k}: ${JSON.stringify(text)}`);
    }
    const singles = firstInfo(Array.from(bytes, (b) => new Uint8Array([b])));
    assert.deepEqual(singles, whole, `case ${n} byte by byte: ${JSON.stringify(text)}`);
    if (whole) decided++;
    if (whole?.kind === "error") errors++;
  }
  // The generator must actually exercise both readings.
  assert.ok(decided > 1000, `only ${decided} decided cases`);
  assert.ok(errors > 100, `only ${errors} error readings`);
});

// ---------------------------------------------------------------------------
// (2) .env parser
// ---------------------------------------------------------------------------

const DOTENV_NOISE = [
  "A",
  "KEY",
  "x",
  "1",
  " ",
  "\t",
  "=",
  "#",
  "'",
  '"',
  "\\",
  "\n",
  "\r",
  "\r\n",
  "${",
  "}",
  ":-",
  "$",
  "export ",
  "é",
  "🌍",
  "\uFEFF",
  "\0",
];

Deno.test("fuzz dotenv: never throws on random input, skipped lines are sane", () => {
  const rng = new Rng(SEED + 3);
  for (let n = 0; n < 5000; n++) {
    let text = "";
    const len = rng.int(40);
    for (let i = 0; i < len; i++) {
      text += rng.chance(0.1) ? String.fromCharCode(32 + rng.int(95)) : rng.pick(DOTENV_NOISE);
    }
    let result: ReturnType<typeof parseDotenv>;
    try {
      result = parseDotenv(text, (name) => (name === "A" ? "env-a" : undefined));
    } catch (err) {
      assert.fail(`case ${n}: threw ${err} on ${JSON.stringify(text)}`);
    }
    const lines = text.split(/\r\n|\r|\n/).length;
    let last = 0;
    for (const l of result.skippedLines) {
      assert.ok(Number.isInteger(l) && l > last && l <= lines, `case ${n}: line ${l} of ${lines}`);
      last = l;
    }
    for (const [k, v] of result.values) {
      assert.equal(typeof k, "string");
      assert.equal(typeof v, "string");
      assert.ok(k.length > 0, `case ${n}: empty key`);
    }
  }
});

const VALUE_CHARS = [
  "a",
  "Z",
  "0",
  " ",
  "  ",
  "\t",
  "#",
  " #",
  "=",
  "'",
  '"',
  "\\",
  "\\n",
  "$",
  "{",
  "}",
  "é",
  "🌍",
  "\n",
  "\r",
  "/",
  ":",
  "-",
];

function randomValue(rng: Rng): string {
  let v = "";
  const len = rng.int(16);
  for (let i = 0; i < len; i++) v += rng.pick(VALUE_CHARS);
  // `${` is interpolation in python-dotenv and has no escape: not a safe value.
  return v.replaceAll("${", "$_{");
}

function randomKey(rng: Rng): string {
  const first = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcxyz";
  const rest = first + "0123456789";
  let k = first[rng.int(first.length)];
  const len = rng.int(10);
  for (let i = 0; i < len; i++) k += rest[rng.int(rest.length)];
  return k;
}

/** Double-quoted with escapes; literal newlines are allowed (multi-line value) when `multiline`. */
function doubleQuoted(value: string, multiline: boolean): string {
  let out = "";
  for (const ch of value) {
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\r") out += "\\r";
    else if (ch === "\n") out += multiline ? "\n" : "\\n";
    else if (ch === "\t") out += "\\t";
    else out += ch;
  }
  return `"${out}"`;
}

/** Single-quoted: only `\\` and `\'` are escapes. */
function singleQuoted(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function unquotedSafe(value: string): string | undefined {
  const v = value.replace(/[\r\n]/g, "");
  if (v !== v.trim() || v === "" || /\s#/.test(v) || /^['"#]/.test(v) || v.includes("$")) return undefined;
  return v;
}

Deno.test("fuzz dotenv: well-formed KEY=value lines round-trip exactly", () => {
  const rng = new Rng(SEED + 4);
  for (let n = 0; n < 3000; n++) {
    const crlf = rng.chance(0.3);
    const eol = crlf ? "\r\n" : "\n";
    const expected = new Map<string, string>();
    const lines: string[] = [];
    if (rng.chance(0.2)) lines.push("# generated");
    const count = 1 + rng.int(6);
    for (let i = 0; i < count; i++) {
      const key = randomKey(rng);
      let value = randomValue(rng);
      const form = rng.int(3);
      let encoded: string;
      if (form === 0) {
        encoded = doubleQuoted(value, !crlf && rng.chance(0.5));
      } else if (form === 1) {
        value = value.replace(/[\r\n]/g, "");
        encoded = singleQuoted(value);
      } else {
        const safe = unquotedSafe(value);
        if (safe === undefined) {
          encoded = doubleQuoted(value, false);
        } else {
          value = safe;
          encoded = safe;
        }
      }
      const prefix = rng.chance(0.2) ? "export " : "";
      const eq = rng.pick(["=", " = ", "=\t"]);
      const comment = rng.chance(0.3) && form !== 2 ? " # trailing comment" : "";
      lines.push(`${prefix}${key}${eq}${encoded}${comment}`);
      if (rng.chance(0.2)) lines.push("");
      expected.set(key, value);
    }
    const text = (rng.chance(0.1) ? "\uFEFF" : "") + lines.join(eol) + (rng.chance(0.5) ? eol : "");
    const { values, skippedLines } = parseDotenv(text);
    assert.deepEqual(skippedLines, [], `case ${n}: ${JSON.stringify(text)}`);
    assert.deepEqual(values, expected, `case ${n}: ${JSON.stringify(text)}`);
  }
});

// ---------------------------------------------------------------------------
// (3) rewriteModel
// ---------------------------------------------------------------------------

const STRING_PIECES = [
  "a",
  "model",
  '"',
  "\\",
  "\\\\",
  '\\"',
  "é",
  "🌍",
  "\n",
  "\t",
  "\u0001",
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
];
const NUMBER_TOKENS = ["0", "1", "-1", "1.0", "0.10", "1e3", "1E-7", "-0", "12345678901234567890", "3.14159", "2e+308"];
const KEYS = ["model", "a", "b", "messages", "x y", "é", '"q"', "back\\slash", "models", "Model", "model ", "stream"];

function randomString(rng: Rng): string {
  let s = "";
  const len = rng.int(8);
  for (let i = 0; i < len; i++) s += rng.pick(STRING_PIECES);
  return s;
}

/** JSON text with random whitespace; sometimes keys/strings written with \u escapes. */
function ws(rng: Rng): string {
  return rng.chance(0.7) ? "" : rng.pick([" ", "\n", "\t", "\r\n", "  \n  "]);
}

function stringLiteral(rng: Rng, s: string): string {
  if (rng.chance(0.15) && s.length > 0) {
    // Escape every character as \uXXXX: still the same string.
    let out = '"';
    for (let i = 0; i < s.length; i++) out += "\\u" + s.charCodeAt(i).toString(16).padStart(4, "0");
    return out + '"';
  }
  return JSON.stringify(s);
}

function randomValueText(rng: Rng, depth: number): string {
  const kind = rng.int(depth > 2 ? 4 : 6);
  switch (kind) {
    case 0:
      return stringLiteral(rng, randomString(rng));
    case 1:
      return rng.pick(NUMBER_TOKENS);
    case 2:
      return rng.pick(["true", "false", "null"]);
    case 3:
      return stringLiteral(rng, randomString(rng));
    case 4: {
      const n = rng.int(4);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(ws(rng) + randomValueText(rng, depth + 1) + ws(rng));
      return `[${items.join(",")}${n === 0 ? ws(rng) : ""}]`;
    }
    default:
      return objectText(rng, depth + 1, undefined).text;
  }
}

const SENTINEL = "\u0000sentinel\u0000";

/**
 * An object's text. At depth 0, `topModel` decides the top-level model members:
 * their value text is given, and the expected rewrite is built alongside.
 */
function objectText(
  rng: Rng,
  depth: number,
  topModel: { count: number; forced: string } | undefined,
): { text: string; rewritten: string } {
  const members: { key: string; value: string; isModel: boolean }[] = [];
  const n = rng.int(depth > 2 ? 2 : 5);
  for (let i = 0; i < n; i++) {
    let key = rng.pick(KEYS);
    if (topModel && key === "model") key = "a"; // top-level model members are placed below
    members.push({ key, value: randomValueText(rng, depth), isModel: false });
  }
  if (topModel) {
    for (let i = 0; i < topModel.count; i++) {
      const at = rng.int(members.length + 1);
      members.splice(at, 0, { key: "model", value: randomValueText(rng, depth), isModel: true });
    }
  }
  // Only the document has whitespace around it; a member value's surrounding whitespace belongs to the member.
  let text = (depth === 0 ? ws(rng) : "") + "{";
  let rewritten = text;
  members.forEach((m, i) => {
    const sep = i === 0 ? "" : ",";
    const before = sep + ws(rng) + stringLiteral(rng, m.key) + ws(rng) + ":" + ws(rng);
    const after = ws(rng);
    text += before + m.value + after;
    rewritten += before + (m.isModel && topModel ? JSON.stringify(topModel.forced) : m.value) + after;
  });
  const close = (members.length === 0 ? ws(rng) : "") + "}" + (depth === 0 ? ws(rng) : "");
  return { text: text + close, rewritten: rewritten + close };
}

const FORCED = ["fast-model", 'we"ird\\name', "accounts/fireworks/models/deepseek-v4-pro", "é🌍\n", "", SENTINEL];

Deno.test("fuzz rewriteModel: JSON result is {...obj, model} and other bytes are untouched", () => {
  const rng = new Rng(SEED + 5);
  let withModel = 0;
  for (let n = 0; n < 4000; n++) {
    const forced = rng.pick(FORCED);
    const count = rng.pick([0, 1, 1, 1, 2]);
    const { text, rewritten } = objectText(rng, 0, { count, forced });
    const obj = JSON.parse(text);
    let out: string;
    try {
      out = rewriteModel(text, forced);
    } catch (err) {
      assert.fail(`case ${n}: threw ${err} on ${JSON.stringify(text)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch (err) {
      assert.fail(`case ${n}: invalid JSON out ${JSON.stringify(out)} from ${JSON.stringify(text)}: ${err}`);
    }
    assert.deepEqual(parsed, { ...obj, model: forced }, `case ${n}: ${JSON.stringify(text)}`);
    if (count > 0) {
      withModel++;
      assert.equal(out, rewritten, `case ${n}: bytes outside the model value changed, input ${JSON.stringify(text)}`);
    } else {
      // Added: the input's bytes all survive, plus one member.
      const member = `"model":${JSON.stringify(forced)}`;
      assert.ok(out.includes(member), `case ${n}`);
      assert.ok(out.length === text.length + member.length || out.length === text.length + member.length + 1);
    }
  }
  assert.ok(withModel > 2000, `only ${withModel} cases with a model`);
});

Deno.test("fuzz rewriteModel: JSON.stringify of random objects round-trips", () => {
  const rng = new Rng(SEED + 6);
  const randomJs = (depth: number): unknown => {
    const k = rng.int(depth > 2 ? 4 : 6);
    if (k === 0) return randomString(rng);
    if (k === 1) return rng.pick([0, -1.5, 1e21, 123456789, Number.MIN_VALUE]);
    if (k === 2) return rng.pick([true, false, null]);
    if (k === 3) return randomString(rng);
    if (k === 4) return Array.from({ length: rng.int(4) }, () => randomJs(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rng.int(4); i > 0; i--) o[rng.pick(KEYS)] = randomJs(depth + 1);
    return o;
  };
  for (let n = 0; n < 3000; n++) {
    const obj: Record<string, unknown> = {};
    for (let i = rng.int(5); i > 0; i--) obj[rng.pick(KEYS)] = randomJs(1);
    const had = "model" in obj;
    if (had) obj.model = SENTINEL;
    const text = JSON.stringify(obj, null, rng.pick([0, 2, "\t"]));
    const forced = rng.pick(FORCED.filter((f) => f !== SENTINEL));
    const out = rewriteModel(text, forced);
    assert.deepEqual(JSON.parse(out), { ...obj, model: forced }, `case ${n}: ${text}`);
    if (had) {
      // The sentinel appears exactly once (the top-level model value): swap it and nothing else.
      assert.equal(out, text.replace(JSON.stringify(SENTINEL), JSON.stringify(forced)), `case ${n}: ${text}`);
    }
  }
});

// ---------------------------------------------------------------------------
// (4) Keys split across events: what a client assembles never holds one
// ---------------------------------------------------------------------------

const SHORT_KEY = "sk-fast-route-0123456789";
const LONG_KEY = SHORT_KEY + "-long-tail"; // starts with the short one: the longer match must win
const FILLER = "xyzXYZ !?"; // no character of either key, so any key character in the output came from a key

Deno.test("fuzz content masker: keys split anywhere over events leak at most their first two characters", () => {
  const rng = new Rng(SEED + 7);
  const masker = new KeyMasker([SHORT_KEY, LONG_KEY]);
  const chunk = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
  for (let n = 0; n < 1500; n++) {
    // A text of filler and keys, cut at random points into events (some of them empty).
    let text = "";
    const keys: { at: number; key: string }[] = [];
    for (let i = rng.int(4); i >= 0; i--) {
      for (let f = rng.int(6); f > 0; f--) text += rng.pick([...FILLER]);
      if (rng.chance(0.7)) {
        const key = rng.pick([SHORT_KEY, LONG_KEY]);
        keys.push({ at: text.length, key });
        text += key;
      }
    }
    const cuts = new Set<number>();
    for (let c = rng.int(12); c > 0; c--) cuts.add(rng.int(text.length + 1));
    const points = [0, ...[...cuts].sort((a, b) => a - b), text.length];
    const events = points.slice(1).map((end, i) => chunk(text.slice(points[i], end)));
    events.push(`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`, "data: [DONE]\n\n");
    const stages = new EventStages(
      [],
      new SseFramer(),
      CHAT_GRAMMAR,
      passThrough(() => ""),
      new ContentMasker(masker, CHAT_GRAMMAR),
    );
    let out = "";
    for (const e of events) out += new TextDecoder().decode(stages.push(enc.encode(e)).out ?? new Uint8Array());
    out += new TextDecoder().decode(stages.close().out ?? new Uint8Array());
    let got = "";
    for (const block of out.split("\n\n")) {
      if (block.startsWith("data: {")) got += JSON.parse(block.slice(6)).choices[0].delta.content ?? "";
    }
    // Each key becomes one mask, after the one or two characters that went out before a key could be told.
    let want = text;
    for (const { at, key } of [...keys].reverse()) {
      const cutsInKey = points.filter((p) => p > at && p <= at + 2);
      const leaked = cutsInKey.length === 0 ? 0 : Math.max(...cutsInKey) - at;
      want = want.slice(0, at) + key.slice(0, leaked) + "***" + want.slice(at + key.length);
    }
    assert.equal(got, want, `case ${n}: ${JSON.stringify(points)} over ${JSON.stringify(text)}`);
  }
});
