import assert from "node:assert/strict";
import { parseDotenv } from "../../../src/config/dotenv.ts";

interface Case {
  name: string;
  text: string;
  want: Record<string, string>;
  /** Keys that must not be set. */
  absent?: string[];
  skipped?: number[];
  env?: Record<string, string>;
}

// Expected values follow python-dotenv (parser.py / variables.py, dotenv_values with interpolation).
const cases: Case[] = [
  { name: "plain", text: "A=1\nB=two words\n", want: { A: "1", B: "two words" } },
  { name: "no trailing newline", text: "A=1", want: { A: "1" } },
  { name: "spaces around =", text: "A = 1\nB\t=\tx\n", want: { A: "1", B: "x" } },
  { name: "trailing whitespace trimmed", text: "A=value   \t\n", want: { A: "value" } },
  { name: "empty value", text: "A=\nB=2\n", want: { A: "", B: "2" } },
  { name: "export prefix", text: "export A=1\nexport\tB='2'\nexport   C=\"3\"\n", want: { A: "1", B: "2", C: "3" } },
  { name: "key named export", text: "export=1\n", want: { export: "1" } },
  {
    name: "comments and blank lines",
    text: "# a comment\n\n   # indented comment\nA=1 # trailing comment\nB=x#not-a-comment\n\n",
    want: { A: "1", B: "x#not-a-comment" },
  },
  { name: "tab before inline comment", text: "A=1\t# c\n", want: { A: "1" } },
  // python-dotenv 1.2.2 reads a "#" right at the value's start as the value, spaces or not.
  { name: "value starting with # after spaces", text: "A=  # not a comment\n", want: { A: "# not a comment" } },
  { name: "value starting with # (no space)", text: "A=#hash-start\n", want: { A: "#hash-start" } },
  { name: "single quotes keep # and spaces", text: "A='x # y '\n", want: { A: "x # y " } },
  { name: "single quotes keep backslash escapes literal", text: "A='a\\nb\\tc'\n", want: { A: "a\\nb\\tc" } },
  { name: "single quotes: \\' and \\\\", text: "A='it\\'s a \\\\ path'\n", want: { A: "it's a \\ path" } },
  { name: "single quotes with trailing comment", text: "A='v' # comment\n", want: { A: "v" } },
  { name: "double quotes keep # and spaces", text: 'A=" x # y "\n', want: { A: " x # y " } },
  {
    name: "double-quoted escapes",
    text: 'A="a\\nb\\tc\\\\d\\"e\\\'f"\n',
    want: { A: "a\nb\tc\\d\"e'f" },
  },
  { name: "double-quoted \\r \\b \\f \\v \\a", text: 'A="\\r\\b\\f\\v\\a"\n', want: { A: "\r\b\f\v\x07" } },
  { name: "double-quoted unknown escape kept", text: 'A="C:\\path\\q"\n', want: { A: "C:\\path\\q" } },
  { name: "double quotes with trailing comment", text: 'A="v" # comment\nB=2\n', want: { A: "v", B: "2" } },
  {
    name: "multi-line double-quoted value",
    text: 'A="line one\nline two\n  line three"\nB=after\n',
    want: { A: "line one\nline two\n  line three", B: "after" },
  },
  {
    name: "multi-line single-quoted value",
    text: "A='one\ntwo'\nB=after\n",
    want: { A: "one\ntwo", B: "after" },
  },
  { name: "later line wins", text: "A=1\nA=2\n", want: { A: "2" } },
  { name: "bare key sets nothing, not an error", text: "LONELY\nA=1\n", want: { A: "1" }, absent: ["LONELY"] },
  { name: "key with dots and dashes", text: "my.key-name=v\n", want: { "my.key-name": "v" } },
  // Interpolation
  { name: "${VAR} from the file", text: "A=x\nB=${A}-y\n", want: { A: "x", B: "x-y" } },
  { name: "${VAR} in double quotes", text: 'A=x\nB="<${A}>"\n', want: { B: "<x>" } },
  { name: "${VAR} undefined -> empty", text: "B=a${NOPE}b\n", want: { B: "ab" } },
  { name: "${VAR:-default} when unset", text: "B=${NOPE:-fallback value}\n", want: { B: "fallback value" } },
  { name: "${VAR:-default} when set", text: "A=set\nB=${A:-fallback}\n", want: { B: "set" } },
  { name: "several interpolations", text: "H=h\nP=8\nU=http://${H}:${P}/v1\n", want: { U: "http://h:8/v1" } },
  {
    name: "environment wins in interpolation",
    text: "A=file\nB=${A}\n",
    env: { A: "env" },
    want: { A: "file", B: "env" },
  },
  { name: "environment-only variable", text: "B=${ONLY_ENV}\n", env: { ONLY_ENV: "e" }, want: { B: "e" } },
  { name: "$VAR without braces is literal", text: "A=x\nB=$A\n", want: { B: "$A" } },
  // Line endings and encoding
  {
    name: "CRLF line endings",
    text: "A=1\r\nB='two'\r\nC=\"three\"\r\nD=4 # c\r\n\r\n# c\r\nE=5",
    want: { A: "1", B: "two", C: "three", D: "4", E: "5" },
  },
  { name: "CRLF inside a double-quoted value is kept", text: 'A="x\r\ny"\r\nB=2\r\n', want: { A: "x\r\ny", B: "2" } },
  { name: "CR-only line endings (old Mac)", text: "A=1\rB=2\r", want: { A: "1", B: "2" } },
  { name: "UTF-8 BOM is ignored", text: "\uFEFFA=1\nB=2\n", want: { A: "1", B: "2" } },
  { name: "unicode values", text: 'A=héllo wörld 🌍\nB="日本語"\n', want: { A: "héllo wörld 🌍", B: "日本語" } },
  // Malformed lines are skipped and reported by line number
  {
    name: "unterminated double quote",
    text: 'A=1\nB="never closed\nC=3\n',
    want: { A: "1", C: "3" },
    absent: ["B"],
    skipped: [2],
  },
  {
    name: "unterminated single quote",
    text: "A=1\nB='never closed\nC=3\n",
    want: { A: "1", C: "3" },
    absent: ["B"],
    skipped: [2],
  },
  {
    name: "garbage after closing quote",
    text: "A='x' junk\nB=2\n",
    want: { B: "2" },
    absent: ["A"],
    skipped: [1],
  },
  {
    name: "line numbers count lines inside multi-line values",
    text: 'A="l1\nl2\nl3"\nB=2\nC="x" junk\nD=4\n',
    want: { A: "l1\nl2\nl3", B: "2", D: "4" },
    absent: ["C"],
    skipped: [5],
  },
  {
    name: "line numbers with CRLF",
    text: "A=1\r\n\r\nB='x' y\r\nC=3\r\nD=\"open\r\n",
    want: { A: "1", C: "3" },
    absent: ["B", "D"],
    skipped: [3, 5],
  },
  { name: "several skipped lines in order", text: "=1\nA=1\n=2\n", want: { A: "1" }, skipped: [1, 3] },
];

for (const c of cases) {
  Deno.test(`dotenv: ${c.name}`, () => {
    const env = c.env ?? {};
    const { values, skippedLines } = parseDotenv(c.text, (n) => env[n]);
    for (const [k, v] of Object.entries(c.want)) assert.equal(values.get(k), v, `${k} in ${JSON.stringify(c.text)}`);
    for (const k of c.absent ?? []) assert.equal(values.has(k), false, `${k} must not be set`);
    assert.deepEqual(skippedLines, c.skipped ?? []);
  });
}

Deno.test("dotenv: values keep file order", () => {
  const { values } = parseDotenv("Z=1\nA=2\nM=3\n");
  assert.deepEqual([...values.keys()], ["Z", "A", "M"]);
});

Deno.test("dotenv: empty and whitespace-only input", () => {
  for (const text of ["", "\n", "   \n\t\n", "\uFEFF", "\r\n\r\n"]) {
    const { values, skippedLines } = parseDotenv(text);
    assert.equal(values.size, 0, JSON.stringify(text));
    assert.deepEqual(skippedLines, []);
  }
});
