/**
 * Builds `modelpin_<version>_<arch>.deb` for amd64 and arm64 with plain
 * `dpkg-deb` (no debhelper): `./start.sh package` or `deno task package`.
 * Offline apart from npm, which carries Deno's binaries.
 *
 * Usage: deno run --allow-read --allow-write --allow-run --allow-env packaging/build.ts [--out=DIR] [--arch=amd64|arm64]
 *
 * @module
 */

import { createHash } from "node:crypto";
import { VERSION } from "../src/version.ts";
import { BuildError, type DebianArch, denoBinary, pinnedDenoVersion, runTool } from "./deno_binary.ts";
import { changelogText, conffileText, controlText, copyrightText, installedDenoJson } from "./package_files.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HERE = `${ROOT}packaging/`;

/** Where the package's files go, and with which mode (dpkg-deb --root-owner-group makes them root:root). */
interface Staged {
  /** Path inside the package, without a leading slash. */
  path: string;
  /** Content, or the file to copy. */
  from: { text: string } | { bytes: Uint8Array } | { file: string };
  /** Unix mode. */
  mode: number;
}

async function sourceFiles(dir: string, prefix: string): Promise<Staged[]> {
  const out: Staged[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) out.push(...await sourceFiles(`${dir}/${entry.name}`, `${prefix}/${entry.name}`));
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push({ path: `${prefix}/${entry.name}`, from: { file: `${dir}/${entry.name}` }, mode: 0o644 });
    }
  }
  return out;
}

async function gzipped(text: string): Promise<Uint8Array> {
  // gzip -9n: maximum compression and no name or time in the header, as Debian policy asks.
  const child = new Deno.Command("gzip", { args: ["-9n"], stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new BuildError("gzip failed");
  return out.stdout;
}

/** Every file of the package except the Deno binary and DEBIAN/. */
async function payload(deno: string, when: Date): Promise<Staged[]> {
  const read = (p: string) => Deno.readTextFile(`${ROOT}${p}`);
  const doc = "usr/share/doc/modelpin";
  const gz = async (text: string) => ({ bytes: await gzipped(text) });
  return [
    { path: "usr/bin/modelpin", from: { file: `${HERE}modelpin` }, mode: 0o755 },
    { path: "usr/lib/modelpin/deno", from: { file: deno }, mode: 0o755 },
    { path: "usr/lib/modelpin/deno.json", from: { text: installedDenoJson(await read("deno.json")) }, mode: 0o644 },
    ...await sourceFiles(`${ROOT}src`, "usr/lib/modelpin/src"),
    { path: "etc/modelpin/modelpin.env", from: { text: conffileText(await read(".env.example")) }, mode: 0o600 },
    { path: "lib/systemd/system/modelpin.service", from: { file: `${HERE}modelpin.service` }, mode: 0o644 },
    { path: `${doc}/copyright`, from: { text: copyrightText(await read("LICENSE")) }, mode: 0o644 },
    { path: `${doc}/changelog.gz`, from: await gz(changelogText(VERSION, when)), mode: 0o644 },
    { path: "usr/share/man/man1/modelpin.1.gz", from: await gz(await read("packaging/modelpin.1")), mode: 0o644 },
    {
      path: "usr/share/lintian/overrides/modelpin",
      from: { file: `${HERE}debian/lintian-overrides` },
      mode: 0o644,
    },
  ];
}

async function writeStaged(root: string, file: Staged): Promise<void> {
  const target = `${root}/${file.path}`;
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true, mode: 0o755 });
  if ("file" in file.from) await Deno.copyFile(file.from.file, target);
  else if ("bytes" in file.from) await Deno.writeFile(target, file.from.bytes);
  else await Deno.writeTextFile(target, file.from.text);
  await Deno.chmod(target, file.mode);
}

async function md5(path: string): Promise<string> {
  return createHash("md5").update(await Deno.readFile(path)).digest("hex");
}

/** Sets every mtime to `when` and every directory to 0755, so builds of one commit are identical. */
async function normalize(dir: string, when: Date): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      await Deno.chmod(path, 0o755);
      await normalize(path, when);
    }
    await Deno.utime(path, when, when);
  }
}

/** Writes DEBIAN/ (control, conffiles, md5sums, maintainer scripts) for the staged files. */
async function writeControl(root: string, files: Staged[], arch: DebianArch, denoVersion: string): Promise<void> {
  await Deno.mkdir(`${root}/DEBIAN`, { mode: 0o755 });
  const conffiles = await Deno.readTextFile(`${HERE}debian/conffiles`);
  const sums: string[] = [];
  let kib = 0;
  const dirs = new Set<string>();
  for (const f of files.toSorted((a, b) => a.path.localeCompare(b.path))) {
    const path = `${root}/${f.path}`;
    kib += Math.ceil((await Deno.stat(path)).size / 1024);
    for (let d = f.path; d.includes("/");) dirs.add(d = d.slice(0, d.lastIndexOf("/")));
    if (!conffiles.split("\n").includes(`/${f.path}`)) sums.push(`${await md5(path)}  ${f.path}`);
  }
  kib += dirs.size; // dpkg counts a directory as 1 KiB
  const control = controlText({ version: VERSION, arch, denoVersion, installedSizeKib: kib });
  await Deno.writeTextFile(`${root}/DEBIAN/control`, control, { mode: 0o644 });
  await Deno.writeTextFile(`${root}/DEBIAN/md5sums`, sums.join("\n") + "\n", { mode: 0o644 });
  await Deno.copyFile(`${HERE}debian/conffiles`, `${root}/DEBIAN/conffiles`);
  await Deno.chmod(`${root}/DEBIAN/conffiles`, 0o644);
  for (const script of ["postinst", "prerm", "postrm"]) {
    await Deno.copyFile(`${HERE}debian/${script}`, `${root}/DEBIAN/${script}`);
    await Deno.chmod(`${root}/DEBIAN/${script}`, 0o755);
  }
}

/** The time every file of the build carries: SOURCE_DATE_EPOCH, else the last commit's, else now. */
async function buildTime(): Promise<Date> {
  const fromEnv = Deno.env.get("SOURCE_DATE_EPOCH");
  if (fromEnv && /^\d+$/.test(fromEnv)) return new Date(Number(fromEnv) * 1000);
  try {
    const ct = (await runTool("git", ["log", "-1", "--format=%ct"], { cwd: ROOT })).trim();
    if (/^\d+$/.test(ct)) return new Date(Number(ct) * 1000);
  } catch { /* not a git checkout: use the current time */ }
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/**
 * Builds one package into `outDir`; returns its path. `gzipLevel` only trades
 * size for time (the tests use 1: a few % larger, several times faster).
 */
export async function buildPackage(arch: DebianArch, outDir: string, when: Date, gzipLevel = 6): Promise<string> {
  const denoVersion = pinnedDenoVersion(await Deno.readTextFile(`${ROOT}start.sh`));
  const deno = await denoBinary(arch, denoVersion, `${ROOT}.tools/deno-npm`);
  const stage = await Deno.makeTempDir({ prefix: `modelpin-deb-${arch}-` });
  try {
    await Deno.chmod(stage, 0o755);
    const files = await payload(deno, when);
    for (const f of files) await writeStaged(stage, f);
    await writeControl(stage, files, arch, denoVersion);
    await normalize(stage, when);
    await Deno.mkdir(outDir, { recursive: true });
    const deb = `${outDir}/modelpin_${VERSION}_${arch}.deb`;
    // gzip: xz -1 took about 4x longer than gzip -6 on Deno's 95 MB, for a 17% smaller file.
    await runTool("dpkg-deb", ["--root-owner-group", "-Zgzip", `-z${gzipLevel}`, "--build", stage, deb]);
    return deb;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

function parseArgs(args: string[]): { outDir: string; arches: DebianArch[] } {
  let outDir = `${ROOT}dist`;
  let arches: DebianArch[] = ["amd64", "arm64"];
  for (const arg of args) {
    if (arg.startsWith("--out=")) outDir = arg.slice("--out=".length);
    else if (arg === "--arch=amd64" || arg === "--arch=arm64") arches = [arg.slice("--arch=".length) as DebianArch];
    else throw new BuildError(`unknown argument ${arg} (use --out=DIR, --arch=amd64 or --arch=arm64)`);
  }
  return { outDir, arches };
}

if (import.meta.main) {
  try {
    const { outDir, arches } = parseArgs(Deno.args);
    const when = await buildTime();
    Deno.env.set("SOURCE_DATE_EPOCH", String(when.getTime() / 1000)); // dpkg-deb dates its archive members with it
    const debs = await Promise.all(arches.map((arch) => buildPackage(arch, outDir, when)));
    for (const deb of debs) console.log(`modelpin: built ${deb}`);
    console.log(`  install with: apt install ./${debs[0].split("/").pop()}`);
  } catch (err) {
    console.error(`modelpin: packaging failed: ${err instanceof BuildError ? err.message : err}`);
    Deno.exit(1);
  }
}
