/** The README is true about the tree: every file or folder it names exists. */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

Deno.test("README: every path it names (src/, tests/, bench/, packaging/, docs/) exists", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const paths = new Set(
    [...readme.matchAll(/(?<![\w/.-])((?:src|tests|bench|packaging|docs)\/[\w./-]*[\w/])/g)].map((m) => m[1]),
  );
  assert.ok(paths.size > 30, `the README names many paths (found ${paths.size})`);
  const missing: string[] = [];
  for (const path of paths) {
    try {
      await Deno.stat(new URL(path, ROOT));
    } catch {
      missing.push(path);
    }
  }
  assert.deepEqual(missing, [], "paths the README names that do not exist");
});
