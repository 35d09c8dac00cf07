/**
 * A throwaway copy of the parts of the project that `start.sh` runs from:
 * `start.sh`, `deno.json` and the whole `src/` tree.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname;

/** Copies the runnable project into a new temporary directory and returns its path. */
export async function projectCopy(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.copyFile(`${ROOT}start.sh`, `${dir}/start.sh`);
  await Deno.chmod(`${dir}/start.sh`, 0o755);
  await Deno.copyFile(`${ROOT}deno.json`, `${dir}/deno.json`);
  const cp = await new Deno.Command("cp", { args: ["-R", `${ROOT}src`, `${dir}/src`] }).output();
  if (!cp.success) throw new Error(`copying src/ failed: ${new TextDecoder().decode(cp.stderr)}`);
  return dir;
}
