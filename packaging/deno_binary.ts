/**
 * The pinned Deno binary for a Debian architecture, from npm (the only
 * network the build needs), cached under `.tools/deno-npm/`.
 *
 * @module
 */

/** The Debian architectures modelpin is packaged for. */
export type DebianArch = "amd64" | "arm64";

/** The npm package that carries Deno's Linux glibc binary for each architecture. */
export const DENO_NPM_PACKAGES: Record<DebianArch, string> = {
  amd64: "@deno/linux-x64-glibc",
  arm64: "@deno/linux-arm64-glibc",
};

/** A build step that failed; its message says what to do. */
export class BuildError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** Runs a command, returning its stdout; throws a {@linkcode BuildError} with its stderr on failure. */
export async function runTool(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, cwd: options.cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new BuildError(`cannot run ${cmd}: ${(err as Error).message}`);
  }
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new BuildError(`${cmd} ${args.join(" ")} failed (${out.code}):\n${new TextDecoder().decode(out.stderr)}`);
  }
  return stdout;
}

/** The Deno version start.sh pins (`DENO_VERSION=...`): the one place it is written. */
export function pinnedDenoVersion(startSh: string): string {
  const m = startSh.match(/^DENO_VERSION=([0-9][0-9.]*)$/m);
  if (!m) throw new BuildError("start.sh has no DENO_VERSION=x.y.z line");
  return m[1];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * The path of Deno `version`'s binary for `arch`, fetched with `npm pack`
 * (which checks the registry's integrity hash) into `cacheDir` once.
 */
export async function denoBinary(arch: DebianArch, version: string, cacheDir: string): Promise<string> {
  const dir = `${cacheDir}/${arch}-${version}`;
  const binary = `${dir}/package/deno`;
  if (await exists(binary)) return binary;
  // Fetched and unpacked aside, then renamed: an interrupted build leaves no half binary behind.
  const partial = `${dir}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(partial, { recursive: true });
  const spec = `${DENO_NPM_PACKAGES[arch]}@${version}`;
  const packed = await runTool("npm", ["pack", "--silent", "--pack-destination", partial, spec]);
  const tarball = packed.trim().split("\n").pop();
  if (!tarball) throw new BuildError(`npm pack ${spec} named no tarball`);
  await runTool("tar", ["-xzf", `${partial}/${tarball}`, "-C", partial, "package/deno"]);
  await Deno.remove(`${partial}/${tarball}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(partial, dir);
  return binary;
}
