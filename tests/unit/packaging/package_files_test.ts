import assert from "node:assert/strict";
import { pinnedDenoVersion } from "../../../packaging/deno_binary.ts";
import {
  assertDebianVersion,
  changelogText,
  conffileText,
  controlText,
  copyrightText,
  installedDenoJson,
} from "../../../packaging/package_files.ts";
import { VERSION } from "../../../src/version.ts";

const ROOT = new URL("../../..", import.meta.url).pathname;
const read = (p: string) => Deno.readTextFileSync(`${ROOT}${p}`);

Deno.test("package files: the conffile keeps every setting of .env.example but no backend line is active", () => {
  const example = read(".env.example");
  const conf = conffileText(example);
  assert.doesNotMatch(conf, /^\s*(FAST|SMART|REAL)_\w+=/m);
  for (const [, name] of example.matchAll(/^#?\s*([A-Z_]+)=/gm)) {
    assert.match(conf, new RegExp(`^#${name}=`, "m"), name);
  }
  assert.match(conf, /systemctl enable --now modelpin/);
  assert.doesNotMatch(conf, /Copy to \.env/, "the clone-path header is replaced");
});

Deno.test("package files: control carries the version, arch, bundled Deno and a folded description", () => {
  const text = controlText({ version: VERSION, arch: "arm64", denoVersion: "2.9.6", installedSizeKib: 93_000 });
  assert.match(text, new RegExp(`^Version: ${VERSION.replaceAll(".", "\\.")}$`, "m"));
  assert.match(text, /^Architecture: arm64$/m);
  assert.match(text, /^Installed-Size: 93000$/m);
  assert.match(text, /Deno 2\.9\.6/);
  for (const line of text.split("\n").slice(text.split("\n").findIndex((l) => l.startsWith("Description")) + 1)) {
    if (line !== "") assert.match(line, /^ /, "continuation lines start with a space");
  }
  assert.throws(() => assertDebianVersion("v1.0"));
});

Deno.test("package files: copyright holds the project's whole MIT license as Expat", () => {
  const text = copyrightText(read("LICENSE"));
  assert.match(text, /^License: Expat\n Permission is hereby granted/m);
  assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS"/);
  assert.match(text, /^Copyright: 2026 The modelpin authors$/m);
});

Deno.test("package files: changelog entry, deno.json with only the unstable flags, Deno version from start.sh", () => {
  assert.match(
    changelogText("1.2.3", new Date("2026-01-02T03:04:05Z")),
    /^modelpin \(1\.2\.3\) unstable; urgency=medium\n\n {2}\* .*\n\n -- .+ <.+> {2}Fri, 02 Jan 2026 03:04:05 \+0000\n$/,
  );
  assert.deepEqual(JSON.parse(installedDenoJson(read("deno.json"))), {
    unstable: JSON.parse(read("deno.json")).unstable,
  });
  assert.equal(pinnedDenoVersion(read("start.sh")), "2.9.6");
});

Deno.test("package files: the unit is hardened and stops after the proxy's default shutdown grace", () => {
  const unit = read("packaging/modelpin.service");
  const value = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1];
  assert.equal(value("EnvironmentFile"), "/etc/modelpin/modelpin.env");
  assert.equal(value("ExecStart"), "/usr/bin/modelpin --service");
  assert.equal(value("DynamicUser"), "yes");
  assert.equal(value("Restart"), "on-failure");
  assert.equal(value("RestartPreventExitStatus"), "2");
  assert.ok(parseInt(value("TimeoutStopSec")!) > 30, "above PROXY_SHUTDOWN_GRACE's default of 30 s");
  assert.equal(value("MemoryDenyWriteExecute"), undefined, "V8's JIT needs writable-executable memory");
});
