/**
 * The generated texts of the .deb: control, the conffile made from
 * `.env.example`, copyright, changelog and the package's deno.json. Pure
 * functions, so their rules are unit-tested.
 *
 * @module
 */

import type { DebianArch } from "./deno_binary.ts";

/** The package's Maintainer field. */
export const MAINTAINER = "modelpin maintainers <maintainers@modelpin.example.org>";

/**
 * What the Deno binary links against (readelf -d / -V on both 2.9.6 binaries:
 * libc up to GLIBC_2.27, libgcc_s up to GCC_3.3); nothing else is needed.
 */
export const DEPENDS = "libc6 (>= 2.27), libgcc-s1 (>= 3.3) | libgcc1 (>= 1:3.3)";

/** Facts about the package that go into its control file. */
export interface ControlFields {
  /** The package version (src/version.ts). */
  version: string;
  /** The architecture. */
  arch: DebianArch;
  /** The pinned Deno version it bundles. */
  denoVersion: string;
  /** Installed size in KiB. */
  installedSizeKib: number;
}

/** A version dpkg accepts for a native package: digits first, then alphanumerics and `.+~-`. */
export function assertDebianVersion(version: string): string {
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) {
    throw new Error(`"${version}" is not a Debian package version (it must start with a digit)`);
  }
  return version;
}

/** The DEBIAN/control file. */
export function controlText(f: ControlFields): string {
  return [
    "Package: modelpin",
    `Version: ${assertDebianVersion(f.version)}`,
    `Architecture: ${f.arch}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${f.installedSizeKib}`,
    `Depends: ${DEPENDS}`,
    "Section: net",
    "Priority: optional",
    "Description: OpenAI-compatible proxy that forces the configured model",
    " modelpin forwards every OpenAI-compatible API request to a configured",
    " backend (Fireworks, OpenAI, OpenRouter, a local Ollama or vLLM...) and",
    " replaces the requested model with the configured one, with a second route,",
    " fallback between them and streams passed through event by event.",
    " .",
    " It runs as a hardened systemd service inside Deno's permission sandbox:",
    " network only to the configured backends and its listen address. This",
    ` package bundles the Deno ${f.denoVersion} runtime it runs on.`,
    "",
  ].join("\n");
}

const CONFFILE_HEADER = `# modelpin configuration, read by the modelpin service (systemd's
# EnvironmentFile=) and by "modelpin" run by hand as root. It holds API keys:
# keep it mode 0600, owned by root.
#
# Set at least FAST_BASE_URL, FAST_API_KEY and FAST_MODEL_NAME, then:
#   systemctl enable --now modelpin      (after later edits: systemctl restart modelpin)
#   journalctl -u modelpin               (its log)
# systemd reads this file: write plain NAME=value lines, without "export" and
# without \${OTHER_VARIABLE} references. A service without a backend does not start.
`;

/** Route variables: commented out in the conffile, so a fresh install has no backend. */
const BACKEND_LINE = /^\s*(FAST|SMART|REAL)_[A-Z_]+=/;

/**
 * The conffile: `.env.example` without its own header comment (it speaks of
 * copying to `.env`), every backend line commented out, and a header for the
 * installed service.
 */
export function conffileText(envExample: string): string {
  const lines = envExample.split("\n");
  let start = 0;
  while (start < lines.length && lines[start].startsWith("#")) start++;
  const body = lines.slice(start).map((line) => BACKEND_LINE.test(line) ? `#${line}` : line);
  return CONFFILE_HEADER + body.join("\n").replace(/\n*$/, "\n");
}

/** The machine-readable copyright file, with the project's MIT license text. */
export function copyrightText(license: string): string {
  const notice = license.match(/^Copyright .*$/m)?.[0].replace(/^Copyright (\(c\) )?/i, "") ?? "The modelpin authors";
  const body = license.split("\n").slice(license.split("\n").findIndex((l) => l.startsWith("Permission")));
  const indented = body.map((l) => l.trim() === "" ? " ." : ` ${l}`).join("\n").replace(/(\n \.)+$/, "");
  return [
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
    "Upstream-Name: modelpin",
    "",
    "Files: *",
    `Copyright: ${notice}`,
    "License: Expat",
    "",
    "Files: usr/lib/modelpin/deno",
    "Copyright: 2018-2026 the Deno authors",
    "License: Expat",
    "",
    "License: Expat",
    indented,
    "",
  ].join("\n");
}

/** A one-entry Debian changelog (native package) dated `when`. */
export function changelogText(version: string, when: Date): string {
  const date = when.toUTCString().replace(/GMT$/, "+0000");
  return `modelpin (${assertDebianVersion(version)}) unstable; urgency=medium\n\n` +
    `  * modelpin ${version}, packaged with its own Deno runtime.\n\n` +
    ` -- ${MAINTAINER}  ${date}\n`;
}

/** The installed deno.json: only the project's `unstable` flags, nothing to resolve or lock. */
export function installedDenoJson(projectDenoJson: string): string {
  const unstable = (JSON.parse(projectDenoJson) as { unstable?: string[] }).unstable ?? [];
  return JSON.stringify({ unstable }, null, 2) + "\n";
}
