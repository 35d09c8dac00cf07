/**
 * Differential test: the same `.env` texts through modelpin's parser and
 * through python-dotenv itself (the parser of the Python proxy that modelpin
 * replaces). Skipped, with the reason, where python-dotenv is not installed.
 */
import assert from "node:assert/strict";
import { parseDotenv } from "../../../src/config/dotenv.ts";

const CASES = [
  "K=v",
  "K = v ",
  "export K=1",
  "K=",
  "K= #abc",
  "K=#abc",
  "K=  # c",
  "K=a #c",
  "K=a#c",
  "K=a\tb",
  "K='${HOME}'",
  'K="${HOME}"',
  "K=${HOME}/x",
  "K=${E:-d}",
  "K=${UNSET:-d}",
  "K=${UNSET}",
  "A=1\nB=${A}x",
  "K=a\\nb",
  'K="a\\nb"',
  'K="a\\"b"',
  "K='a\\'b'",
  "K='a\\nb'",
  'K="multi\nline"',
  "K='multi\nline'",
  'K="x" # c',
  "K='x'#c",
  "# c\nK=v",
  "K=a\rB=2\r",
  "K=a\r\nB=2\r\n",
  "K=1\nK=2",
  "FAST_API_KEY=sk-abc123 # the key",
  "REAL_BASE_URL=https://api.fireworks.ai/inference/v1",
  // Not compared: a UTF-8 BOM, which python-dotenv keeps as part of the first key
  // and modelpin strips (dotenv_test.ts covers that).
];

const probe = new Deno.Command("python3", { args: ["-c", "import dotenv"], stdout: "null", stderr: "null" });
let available = false;
try {
  available = (await probe.output()).success;
} catch { /* no python3 */ }
if (!available) console.log("SKIPPED python-dotenv differential test: python3 with python-dotenv is not installed");

const SCRIPT = `
import io, json, os, sys
from dotenv import dotenv_values
os.environ["HOME"] = "/home/u"
os.environ["E"] = ""
os.environ.pop("UNSET", None)
print(json.dumps([dict(dotenv_values(stream=io.StringIO(c))) for c in json.load(sys.stdin)]))
`;

Deno.test({
  name: "dotenv: parses every case exactly as python-dotenv does",
  ignore: !available,
  fn: async () => {
    const child = new Deno.Command("python3", { args: ["-c", SCRIPT], stdin: "piped", stdout: "piped" }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(CASES)));
    await writer.close();
    const python: Record<string, string | null>[] = JSON.parse(new TextDecoder().decode((await child.output()).stdout));
    const env: Record<string, string> = { HOME: "/home/u", E: "" };
    CASES.forEach((text, i) => {
      const ours = Object.fromEntries(parseDotenv(text, (name) => env[name]).values);
      assert.deepEqual(ours, python[i], `case ${JSON.stringify(text)}`);
    });
  },
});
