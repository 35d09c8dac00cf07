/**
 * The hostile suites' readings of what a client receives: every way a
 * client could decode a key out of it (literal, JSON escapes once or twice,
 * percent escapes, JSON inside a string), and a runner that reports every
 * failing case of a table at once.
 */

import assert from "node:assert/strict";

/**
 * Runs every named case and collects the ones that fail, so a run shows all
 * of them (each case cleans up after itself).
 */
export async function eachCase(cases: Record<string, () => Promise<void>>): Promise<void> {
  const wrong: string[] = [];
  for (const [name, run] of Object.entries(cases)) {
    try {
      await run();
    } catch (err) {
      wrong.push(`${name}: ${(err as Error).message.split("\n")[0].slice(0, 500)}`);
    }
  }
  assert.deepEqual(wrong, [], `failing cases:\n${wrong.join("\n")}`);
}

/** A cancellable timer: only ever a backend's pace, or raced against an event as its bound. */
export const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** JSON string escapes decoded wherever they occur in `s`. */
function jsonUnescaped(s: string): string {
  return s.replace(
    /\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g,
    (_, hex: string | undefined, c: string | undefined) =>
      hex ? String.fromCharCode(parseInt(hex, 16)) : SIMPLE_ESCAPES[c!],
  );
}

/** Percent escapes decoded wherever they occur in `s`. */
function percentDecoded(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Every string (names and values) in a parsed JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) { for (const v of value) strings(v, out); }
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

/** Assertions that `key` cannot be read out of what a client received. */
export function keyReadings(key: string): {
  assertUnreadable: (s: string, where: string) => void;
  assertNoKeyIn: (value: unknown, where: string) => void;
} {
  /** No reading of `s` (literal, JSON-unescaped once or twice, percent-decoded, both) gives the key. */
  const assertUnreadable = (s: string, where: string): void => {
    const once = jsonUnescaped(s);
    for (const reading of [s, once, jsonUnescaped(once), percentDecoded(s), percentDecoded(once)]) {
      const at = reading.indexOf(key);
      assert.ok(at < 0, `${where}: the client reads the key: …${reading.slice(Math.max(0, at - 40), at + 40)}…`);
    }
  };
  /** No string of a parsed JSON value holds the key, as it is, percent-decoded, or as JSON parsed again. */
  const assertNoKeyIn = (value: unknown, where: string): void => {
    for (const s of strings(value)) {
      for (const reading of [s, percentDecoded(s)]) {
        assert.ok(
          !reading.includes(key),
          `${where}: a string the client parsed holds the key: ${reading.slice(0, 200)}`,
        );
      }
      // A string that is JSON itself (tool arguments) is parsed again, as a tool client does.
      if (/^\s*[{[]/.test(s)) {
        let inner: unknown;
        try {
          inner = JSON.parse(s);
        } catch {
          continue;
        }
        assertNoKeyIn(inner, `${where} (JSON in a string)`);
      }
    }
  };
  return { assertUnreadable, assertNoKeyIn };
}
