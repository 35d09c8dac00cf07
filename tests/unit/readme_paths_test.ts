/** The README is true about the tree: every file or folder it names exists. */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** Folders .gitignore lists: outputs the tools make (bench/tmp/, dist/), absent from a fresh clone. */
async function ignoredFolders(): Promise<string[]> {
  const lines = (await Deno.readTextFile(new URL(".gitignore", ROOT))).split("\n").map((l) => l.trim());
  return lines.filter((l) => l.endsWith("/") && !/[*?[!#]/.test(l)).map((l) => l.replace(/^\//, ""));
}

Deno.test("README: every path it names (src/, tests/, bench/, packaging/, docs/) exists", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const outputs = await ignoredFolders();
  const paths = new Set(
    [...readme.matchAll(/(?<![\w/.-])((?:src|tests|bench|packaging|docs)\/[\w./-]*[\w/])/g)].map((m) => m[1]),
  );
  assert.ok(paths.size > 30, `the README names many paths (found ${paths.size})`);
  const missing: string[] = [];
  for (const path of paths) {
    if (outputs.some((folder) => path.startsWith(folder))) continue; // made by a run, not part of the tree
    try {
      await Deno.stat(new URL(path, ROOT));
    } catch {
      missing.push(path);
    }
  }
  assert.deepEqual(missing, [], "paths the README names that do not exist");
});

Deno.test("README: the outputs it names are ignored by git, so a fresh clone lacks only those", async () => {
  const outputs = await ignoredFolders();
  assert.ok(outputs.includes("bench/tmp/"), `bench/tmp/ is ignored (${outputs.join(", ")})`);
});
