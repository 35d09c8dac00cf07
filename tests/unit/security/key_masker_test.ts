/**
 * Masking configured keys in what leaves the proxy: every spelling a JSON
 * reader or a URL decoder turns into the key is masked, leftmost-longest and
 * never overlapping, in text, whole bodies, streams split anywhere, and text
 * cut for display; in time linear in the input.
 */

import assert from "node:assert/strict";
import { KeyMasker, MASK, maskableKeys, MIN_MASKED_KEY } from "../../../src/security/key_masker.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytesOf = (text: string) => encoder.encode(text);

const K1 = "sk-fast-0123456789abcdef";
const K2 = "sk-smart-fedcba9876543210";
/** Holds a `/` (which PHP writes `\/`) and a `+` (which a URL writes `%2B`). */
const SLASHED = "sk-proj/Zj+9x_live0123";
/** Holds a `"` and a `\` (which JSON writes `\"` and `\\`); `\Z` is no escape, so the key is literally itself. */
const QUOTED = 'sk-q"uo\\Ze-0123';

/** `c` as JSON's `\uXXXX`, in lower- or upper-case hex. */
const u = (c: string, upper = false) => {
  const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};
/** `c` as a URL's `%XX`, in lower- or upper-case hex. */
const pct = (c: string, upper = true) => {
  const hex = c.charCodeAt(0).toString(16).padStart(2, "0");
  return `%${upper ? hex.toUpperCase() : hex}`;
};
const spell = (key: string, each: (c: string, i: number) => string) => [...key].map(each).join("");

/** What a stream passes on for `chunks`, and what it holds until `flush`. */
function streamed(masker: KeyMasker, chunks: Uint8Array[]): string {
  const stream = masker.stream();
  let out = "";
  for (const chunk of chunks) out += decoder.decode(stream.push(chunk.slice()), { stream: true });
  const rest = stream.flush();
  if (rest) out += decoder.decode(rest, { stream: true });
  return out + decoder.decode();
}

// ---------------------------------------------------------------------------
// Which keys are masked
// ---------------------------------------------------------------------------

Deno.test("maskableKeys: drops short keys (they would mangle text), dedupes, longest first", () => {
  assert.deepEqual(maskableKeys(["x", "EMPTY", "sk-abcdefgh", "sk-abcdefgh-longer", "sk-abcdefgh", ""]), [
    "sk-abcdefgh-longer",
    "sk-abcdefgh",
  ]);
  assert.equal(MIN_MASKED_KEY, 8);
  assert.deepEqual(maskableKeys(["1234567", "12345678"]), ["12345678"], "8 characters is long enough");
});

Deno.test("KeyMasker: keys under 8 characters are not masked, so a local backend's EMPTY mangles nothing", () => {
  const masker = new KeyMasker(["EMPTY", "x", "short"]);
  assert.equal(masker.active, false);
  assert.equal(masker.text("EMPTY x short"), "EMPTY x short");
  const chunk = bytesOf("data: EMPTY\n\n");
  assert.equal(masker.stream().push(chunk), chunk, "a stream passes each chunk on as it came");
  assert.equal(masker.stream().flush(), undefined);
  assert.equal(new KeyMasker([]).active, false);
  assert.equal(new KeyMasker([K1]).active, true);
});

// ---------------------------------------------------------------------------
// Literal keys in text and bytes
// ---------------------------------------------------------------------------

const maskCases: { name: string; text: string; keys: string[]; want: string }[] = [
  { name: "no keys", text: `hello ${K1}`, keys: [], want: `hello ${K1}` },
  { name: "key absent", text: "nothing secret", keys: [K1], want: "nothing secret" },
  { name: "one occurrence", text: `invalid key ${K1}`, keys: [K1], want: "invalid key ***" },
  { name: "many occurrences", text: `${K1}${K1} and "${K1}"`, keys: [K1], want: '****** and "***"' },
  { name: "two keys", text: `a=${K1} b=${K2}`, keys: [K1, K2], want: "a=*** b=***" },
  { name: "empty key ignored", text: "abc", keys: ["", K1], want: "abc" },
  {
    name: "in a JSON error body",
    text: JSON.stringify({ error: { message: `Incorrect API key provided: ${K1}.` } }),
    keys: [K1, K2],
    want: JSON.stringify({ error: { message: "Incorrect API key provided: ***." } }),
  },
  { name: "unicode around", text: `🌍${K2}é`, keys: [K2], want: "🌍***é" },
  {
    name: "a key's start or end alone is no key",
    text: `${K1.slice(0, -1)} ${K1.slice(1)}`,
    keys: [K1],
    want: `${K1.slice(0, -1)} ${K1.slice(1)}`,
  },
];

for (const c of maskCases) {
  Deno.test(`KeyMasker.text: ${c.name}`, () => {
    const got = new KeyMasker(c.keys).text(c.text);
    assert.equal(got, c.want);
    for (const k of c.keys) if (k) assert.ok(!got.includes(k));
    assert.equal(decoder.decode(new KeyMasker(c.keys).bytes(bytesOf(c.text))), c.want, "bytes() agrees");
  });
}

Deno.test("KeyMasker: a key that contains another key is masked whole, whatever order they come in", () => {
  const short = "sk-abcdef";
  const long = "sk-abcdef123456";
  for (const keys of [[short, long], [long, short]]) {
    assert.equal(new KeyMasker(keys).text(`x ${long} y ${short} z`), "x *** y *** z", `${keys}`);
  }
  assert.equal(new KeyMasker(["sk-abcdefgh", "sk-abcdefgh-longer"]).text("a sk-abcdefgh-longer b"), "a *** b");
});

Deno.test("KeyMasker: matches are leftmost first, then longest, and never overlap", () => {
  const left = "sk-overlap-AAAA1111";
  const right = "AAAA1111-tail-key";
  // What a reader sees as one key is masked as one: the leftmost wins, the overlapping one is not masked twice.
  assert.equal(new KeyMasker([right, left]).text(`<${left}-tail-key>`), "<***-tail-key>");
  assert.equal(new KeyMasker([left, right]).text(`<${left} ${right}>`), "<*** ***>");
  // A key inside a longer one at a later position: the longer, leftmost match covers it.
  assert.equal(new KeyMasker(["sk-in-0123456789", "0123456789"]).text("(sk-in-0123456789)"), "(***)");
});

Deno.test("KeyMasker.bytes: the same array when there is nothing to mask", () => {
  const masker = new KeyMasker([K1]);
  const body = bytesOf('{"error":"nope"}');
  assert.equal(masker.bytes(body), body, "same object returned");
  const candidates = bytesOf(`{"error":"\\u0073k-fast %41 ${K1.slice(0, -1)}"}`);
  assert.equal(masker.bytes(candidates), candidates, "escapes and a key's start, but no key");
  assert.equal(new KeyMasker([]).bytes(body), body);
  const empty = new Uint8Array(0);
  assert.equal(masker.bytes(empty), empty);
});

Deno.test("KeyMasker.bytes: masks keys in bytes, leaving the text around them byte for byte", () => {
  const body = bytesOf(`{"error":{"message":"bad key ${K1} / ${K2} 🌍"}}`);
  const out = new KeyMasker([K1, K2]).bytes(body);
  assert.equal(decoder.decode(out), '{"error":{"message":"bad key *** / *** 🌍"}}');
});

Deno.test("KeyMasker.lowerCased: masks the lower-cased keys (header names are), made once", () => {
  const masker = new KeyMasker(["sk-MiXeD-Case-0123"]);
  const lower = masker.lowerCased();
  assert.equal(lower.text("x-sk-mixed-case-0123: 1"), "x-***: 1");
  assert.equal(masker.text("x-sk-mixed-case-0123: 1"), "x-sk-mixed-case-0123: 1", "the original keys are exact");
  assert.equal(masker.lowerCased(), lower);
});

// ---------------------------------------------------------------------------
// Every spelling a reader decodes to the key
// ---------------------------------------------------------------------------

/** What a JSON reader makes of `s` inside a string. */
const json = (s: string) => JSON.parse(`"${s}"`) as string;
/** A URL inside JSON: both decoders, in the order a client would apply them. */
const jsonThenUrl = (s: string) => decodeURIComponent(json(s));

const spellings: { name: string; key: string; spelled: string; reader: (s: string) => string }[] = [
  { name: "literal", key: SLASHED, spelled: SLASHED, reader: (s) => s },
  {
    name: "JSON \\u, lower-case hex, every character",
    key: SLASHED,
    spelled: spell(SLASHED, (c) => u(c)),
    reader: json,
  },
  {
    name: "JSON \\u, upper-case hex, every character",
    key: SLASHED,
    spelled: spell(SLASHED, (c) => u(c, true)),
    reader: json,
  },
  { name: "JSON \\u for one character", key: SLASHED, spelled: u("s") + SLASHED.slice(1), reader: json },
  { name: "JSON \\/ as PHP writes it", key: SLASHED, spelled: SLASHED.replace("/", "\\/"), reader: json },
  { name: 'JSON \\" and \\\\', key: QUOTED, spelled: JSON.stringify(QUOTED).slice(1, -1), reader: json },
  {
    name: 'JSON \\u for " and \\',
    key: QUOTED,
    spelled: spell(QUOTED, (c) => c === '"' || c === "\\" ? u(c) : c),
    reader: json,
  },
  { name: 'literal " and \\', key: QUOTED, spelled: QUOTED, reader: (s) => s },
  {
    name: "%XX, upper-case hex, every character",
    key: SLASHED,
    spelled: spell(SLASHED, (c) => pct(c)),
    reader: decodeURIComponent,
  },
  {
    name: "%xx, lower-case hex, every character",
    key: SLASHED,
    spelled: spell(SLASHED, (c) => pct(c, false)),
    reader: decodeURIComponent,
  },
  {
    name: "as encodeURIComponent writes it",
    key: SLASHED,
    spelled: encodeURIComponent(SLASHED),
    reader: decodeURIComponent,
  },
  { name: '%XX for " and \\', key: QUOTED, spelled: encodeURIComponent(QUOTED), reader: decodeURIComponent },
  {
    name: "mixed: literal, \\u lower, \\u upper, %XX in turn",
    key: SLASHED,
    spelled: spell(SLASHED, (c, i) => [c, u(c), u(c, true), pct(c)][i % 4]),
    reader: jsonThenUrl,
  },
  {
    name: "mixed: \\/ and %2B in one key",
    key: SLASHED,
    spelled: SLASHED.replace("/", "\\/").replace("+", "%2B"),
    reader: jsonThenUrl,
  },
];

for (const c of spellings) {
  Deno.test(`KeyMasker: masks the key spelled ${c.name}`, () => {
    assert.equal(c.reader(c.spelled), c.key, "the spelling decodes to the key (the table checks itself)");
    const masker = new KeyMasker([SLASHED, QUOTED]);
    const text = `before ${c.spelled} after`;
    assert.equal(masker.text(text), "before *** after");
    assert.equal(decoder.decode(masker.bytes(bytesOf(text))), "before *** after");
    assert.equal(streamed(masker, [...bytesOf(text)].map((b) => Uint8Array.of(b))), "before *** after", "byte by byte");
  });
}

Deno.test("KeyMasker: two spellings next to each other are two keys", () => {
  const masker = new KeyMasker([SLASHED]);
  assert.equal(masker.text(`${spell(SLASHED, (c) => u(c))}${encodeURIComponent(SLASHED)}`), "******");
});

Deno.test("KeyMasker: escapes escaped again (JSON inside a JSON string, as tool arguments) are read at any depth", () => {
  const masker = new KeyMasker([K1]);
  const rest = K1.slice(1); // "k-fast-..."
  // Tool arguments are JSON in a JSON string: the client parses twice and reads `\\u0073k-...` as the key.
  const inner = JSON.stringify({ token: `\u0073${rest}` }); // {"token":"\u0073k-..."}: the inner JSON's escape
  const wire = JSON.stringify({ arguments: inner }); // what the backend sends: the escape escaped again
  assert.equal(JSON.parse(JSON.parse(wire).arguments).token, K1, "a tool client reads the key");
  const masked = masker.text(wire);
  assert.ok(!JSON.parse(JSON.parse(masked).arguments).token.includes(rest), masked);
  assert.equal(JSON.parse(JSON.parse(masked).arguments).token, "***");
  // Three levels (four backslashes) and an odd run (three): every reading that decodes to the key is masked.
  assert.equal(masker.text(`"\\\\\\\\u0073${rest}"`), '"***"');
  assert.equal(masker.text(`"\\\\\\u0073${rest}"`), '"***"');
  // The same in a stream, split anywhere, even between the backslashes.
  const text = `"\\u0073${rest}"`;
  for (let at = 1; at < text.length; at++) {
    assert.equal(streamed(masker, [bytesOf(text.slice(0, at)), bytesOf(text.slice(at))]), '"***"', `split at ${at}`);
  }
  // A run too long to be an escape's nesting is text, and is never held back waiting for its end.
  const run = "\\".repeat(20);
  assert.equal(masker.text(`${run}u0073${rest}`), `${run}u0073${rest}`);
});

Deno.test("KeyMasker: what only looks like an escape is text", () => {
  const masker = new KeyMasker([K1]);
  for (const text of [`\\u00${K1}`, `%7${K1.slice(1)}`, `%zz${K1.slice(1)}`, `\\x73${K1.slice(1)}`]) {
    const want = text.includes(K1) ? text.replace(K1, MASK) : text;
    assert.equal(masker.text(text), want, text);
  }
});

Deno.test("KeyMasker: percent-encoding in a header-like string", () => {
  const masker = new KeyMasker([SLASHED, K1]);
  const location = `https://backend.example/v1/x?api_key=${encodeURIComponent(SLASHED)}&b=${pct("s")}${K1.slice(1)}`;
  assert.equal(masker.text(location), "https://backend.example/v1/x?api_key=***&b=***");
  const cookie = `session=1; token=${spell(K1, (c) => pct(c, false))}; Path=/`;
  assert.equal(masker.text(cookie), "session=1; token=***; Path=/");
});

// BUG?: the module says "the key itself is decoded like the text, so a key that holds an
// escape-like sequence still matches itself", but a key holding a backslash followed by b, f, n,
// r or t is decoded to a character no key can hold: neither its literal spelling (a header, a
// log) nor its JSON spelling is masked.
Deno.test("KeyMasker: a key holding a backslash-n still matches itself", () => {
  const key = "sk-odd\\nkey-0123";
  const masker = new KeyMasker([key]);
  assert.equal(masker.text(`literal ${key}`), "literal ***");
  assert.equal(masker.text(`json ${JSON.stringify(key)}`), 'json "***"');
});

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

Deno.test("KeyStream: masks a key however the stream splits it, and never holds back a finished event", async (t) => {
  const key = "sk-stream-secret-123456";
  const text = `data: {"a":1}\n\ndata: {"error":{"message":"bad key ${key}!"}}\n\ndata: ${key}${key}\n\n`;
  const bytes = bytesOf(text);
  const expected = text.split(key).join("***");
  for (const size of [1, 2, 3, 5, 7, 11, 64, bytes.length]) {
    await t.step(`chunks of ${size} bytes`, () => {
      const stream = new KeyMasker([key, "short"]).stream();
      let out = "";
      const streamDecoder = new TextDecoder();
      for (let i = 0; i < bytes.length; i += size) {
        out += streamDecoder.decode(stream.push(bytes.slice(i, i + size)), { stream: true });
        const sent = decoder.decode(bytes.slice(0, i + size));
        // Everything up to the last line break is always passed on at once.
        if (sent.endsWith("\n")) assert.equal(out, sent.split(key).join("***"));
      }
      const rest = stream.flush();
      if (rest) out += streamDecoder.decode(rest);
      assert.equal(out, expected);
      assert.ok(!out.includes(key));
    });
  }
});

Deno.test("KeyStream: a body split at every position gives the whole body's output", () => {
  const masker = new KeyMasker([K1, SLASHED]);
  const text = `data: {"k":"${spell(K1, (c) => u(c))}"}\n\nq=${encodeURIComponent(SLASHED)}&${K1}\r\n`;
  const bytes = bytesOf(text);
  const whole = decoder.decode(masker.bytes(bytes));
  assert.equal(whole, 'data: {"k":"***"}\n\nq=***&***\r\n');
  for (let at = 0; at <= bytes.length; at++) {
    assert.equal(streamed(masker, [bytes.subarray(0, at), bytes.subarray(at)]), whole, `split at ${at}`);
  }
});

Deno.test("KeyStream: every split into three pieces gives the whole body's output", () => {
  const short = "sk-pair-0123";
  const long = "sk-pair-0123-longer";
  const masker = new KeyMasker([short, long, K1]);
  // Escapes, both keys of a prefix pair, a near miss and line breaks: every piece boundary is tried.
  const text = `a ${u("s")}k-pair-0123-longer\n${short}-\\/ ${K1.slice(0, 9)}%2D\\\\${short}%2d${long}\n`;
  const bytes = bytesOf(text);
  const whole = decoder.decode(masker.bytes(bytes));
  assert.equal(whole, `a ***\n***-\\/ ${K1.slice(0, 9)}%2D\\\\***%2d***\n`);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
      const out = streamed(masker, pieces);
      if (out !== whole) assert.equal(out, whole, `pieces at ${i} and ${j}`);
    }
  }
});

Deno.test("KeyStream: split right after a shorter key that starts a longer one, the longer is masked whole", () => {
  const short = "sk-prefix-1234";
  const long = "sk-prefix-1234-longer";
  const stream = new KeyMasker([short, long]).stream();
  const first = decoder.decode(stream.push(bytesOf(`x ${short}`)));
  assert.equal(first, "x ", "the shorter key waits: it may be the longer one's start");
  const second = decoder.decode(stream.push(bytesOf("-longer y\n")));
  assert.equal(first + second, "x *** y\n");
  assert.equal(stream.flush(), undefined);
  // When the longer one does not follow, the shorter is masked alone.
  const other = new KeyMasker([short, long]).stream();
  const out = decoder.decode(other.push(bytesOf(`x ${short}`))) + decoder.decode(other.push(bytesOf("-long\n")));
  assert.equal(out, "x ***-long\n");
});

Deno.test("KeyStream: holds back only what could still become a key, and never a line break", () => {
  const masker = new KeyMasker([K1]);
  const push = (stream: ReturnType<KeyMasker["stream"]>, text: string) => decoder.decode(stream.push(bytesOf(text)));
  const cases: { chunk: string; passed: string }[] = [
    { chunk: "hello world", passed: "hello world" },
    { chunk: "hello sk-fa", passed: "hello " },
    { chunk: `hello ${u("s")}${u("k")}`, passed: "hello " },
    { chunk: "hello %73k-", passed: "hello " },
    { chunk: "an escape cut in two \\", passed: "an escape cut in two " },
    { chunk: "an escape cut in two \\u00", passed: "an escape cut in two " },
    { chunk: "a percent cut in two %7", passed: "a percent cut in two " },
    { chunk: "data: sk-fa\n", passed: "data: sk-fa\n" },
    { chunk: "data: sk-fa\n\n", passed: "data: sk-fa\n\n" },
    { chunk: "sk-fast-\r\n", passed: "sk-fast-\r\n" },
    { chunk: "ends in k-", passed: "ends in k-" },
  ];
  for (const c of cases) {
    const stream = masker.stream();
    assert.equal(push(stream, c.chunk), c.passed, JSON.stringify(c.chunk));
    // At the end, what was held is passed on as it came: a key's start alone is not a key.
    const rest = stream.flush();
    assert.equal(c.passed + (rest ? decoder.decode(rest) : ""), c.chunk);
  }
});

// ---------------------------------------------------------------------------
// Cut for display
// ---------------------------------------------------------------------------

Deno.test("KeyMasker.cut: short text is only masked; long text is cut to max and marked", () => {
  const masker = new KeyMasker([K1]);
  assert.equal(masker.cut(`bad key ${K1}`, 200), "bad key ***");
  assert.equal(masker.cut("x".repeat(200), 200), "x".repeat(200));
  assert.equal(masker.cut("x".repeat(5000), 200), "x".repeat(200) + "…");
  assert.equal(masker.cut(`${K1}${"x".repeat(250)}`, 200), "***" + "x".repeat(197) + "…");
});

Deno.test("KeyMasker.cut: a key straddling the cut is masked, not cut: no prefix of it survives", () => {
  const masker = new KeyMasker([K1]);
  for (const spelled of [K1, spell(K1, (c) => u(c)), encodeURIComponent(K1).replaceAll("-", "%2D")]) {
    for (let at = 200 - spelled.length - 2; at <= 202; at++) {
      const text = `${"p".repeat(at)}${spelled}${"q".repeat(300)}`;
      const got = masker.cut(text, 200);
      // Only filler and the mask (itself possibly cut) may show: a key's start would be readable.
      assert.match(got, /^p*\**q*…$/, `${spelled.slice(0, 8)} at ${at}: ${got.slice(-30)}`);
      assert.ok(got.length <= 201);
    }
  }
});

// BUG?: cut() masks a window of max + 6 × the longest key and cuts the *masked* text at max. When
// keys in the window were masked, the text shrinks, and a key that starts inside the window but
// ends beyond it (so was not matched) slides before the cut: its first characters are shown. Here
// one escaped key (6 × 24 characters masked to 3) lets 17 characters of the next key through.
Deno.test("KeyMasker.cut: a key cut off at the end of the window does not slide into view", () => {
  const masker = new KeyMasker([K1]);
  const text = `${spell(K1, (c) => u(c))}${"p".repeat(180)}${K1}${"q".repeat(300)}`;
  const got = masker.cut(text, 200);
  assert.ok(!got.includes(K1.slice(0, 6)), got.slice(-40));
  assert.match(got, /^\*\*\*p*\**q*…$/);
});

// ---------------------------------------------------------------------------
// Linear work
// ---------------------------------------------------------------------------

/** The best of `runs` timings of `fn`, in ms: the least disturbed by GC and scheduling. */
function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    min = Math.min(min, performance.now() - start);
  }
  return min;
}

Deno.test("KeyMasker: work is linear in the body, even for bodies made to be slow", async (t) => {
  const masker = new KeyMasker([K1, "sk-fast-01-other-key"]);
  // Each unit keeps a key's prefix matching (or is an escape to decode), the worst case for a naive matcher.
  const bodies = { "key prefixes": K1.slice(0, -1), "\\n escapes": "\\n", "escaped prefixes": u("s") + "k-fast-0" };
  for (const [name, unit] of Object.entries(bodies)) {
    await t.step(name, () => {
      const body = (mb: number) => bytesOf(unit.repeat(Math.ceil(mb * 1_000_000 / unit.length)));
      const small = body(1.5);
      const large = body(15);
      const whole = (b: Uint8Array) => assert.equal(masker.bytes(b), b, "nothing to mask, the same bytes");
      const chunked = (b: Uint8Array) => {
        const stream = masker.stream();
        let size = 0;
        for (let i = 0; i < b.length; i += 65_536) size += stream.push(b.slice(i, i + 65_536)).length;
        size += stream.flush()?.length ?? 0;
        assert.equal(size, b.length);
      };
      for (const run of [whole, chunked]) {
        run(small); // warm-up: compiled code for both timings
        // Ten times the input takes about ten times as long when the work is linear; quadratic work would
        // take a hundred times. 20 leaves room for noise on a busy machine without letting n² pass, and
        // needs no absolute budget that a slow CI runner could miss.
        const ratio = best(2, () => run(large)) / best(3, () => run(small));
        assert.ok(ratio < 20, `${run.name}: 15 MB took ${ratio.toFixed(1)}× as long as 1.5 MB`);
      }
    });
  }
});
