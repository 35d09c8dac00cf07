/**
 * The .deb packages end to end: built once for this file into a temporary
 * folder, inspected with dpkg-deb and lintian, run from an extracted root
 * against a fake backend, verified with systemd-analyze, the arm64 Deno run
 * under qemu, and (as root with apt-get, as in CI) installed, upgraded and
 * purged for real, leaving the machine as it was.
 */
import assert from "node:assert/strict";
import { CONFIG_VARIABLES } from "../../src/config/config.ts";
import { VERSION } from "../../src/version.ts";
import { buildPackage } from "../../packaging/build.ts";
import type { DebianArch } from "../../packaging/deno_binary.ts";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { freePort, Launched } from "./support/launched.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function sh(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, { args, ...options, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function has(tool: string): Promise<boolean> {
  return (await sh("sh", ["-c", `command -v ${tool}`])).code === 0;
}

/** Why a test cannot run here, or undefined; printed at load so a skip is never silent. */
function skipReason(name: string, reason: string | false): string | undefined {
  if (reason) console.log(`packaging_test: skipping "${name}": ${reason}`);
  return reason || undefined;
}

const DPKG = await has("dpkg-deb") ? false : "dpkg-deb is not installed (apt-get install dpkg)";
const noDpkg = skipReason("every package test", DPKG);
const noLintian = noDpkg ??
  skipReason("lintian", !await has("lintian") && "lintian is not installed (apt-get install lintian)");
const noAnalyze = noDpkg ?? skipReason(
  "systemd-analyze",
  !await has("systemd-analyze") && "systemd-analyze is not installed (apt-get install systemd)",
);
const noQemu = noDpkg ?? skipReason(
  "arm64 under qemu",
  !await has("qemu-aarch64-static")
    ? "qemu-aarch64-static is not installed (apt-get install qemu-user-static)"
    : !await has("apt-get") && "apt-get is missing to fetch the arm64 C library",
);
const noReadelf = noDpkg ?? skipReason("Depends check", !await has("readelf") && "readelf is not installed (binutils)");
const alreadyInstalled = (await sh("dpkg-query", ["-W", "-f=${Status}", "modelpin"]).catch(() => ({ stdout: "" })))
  .stdout.includes("installed");
const noApt = noDpkg ?? skipReason(
  "apt-get install",
  (await sh("id", ["-u"])).stdout.trim() !== "0"
    ? "not running as root (CI runs as root)"
    : !await has("apt-get")
    ? "apt-get is missing"
    : alreadyInstalled && "a modelpin package is already installed on this machine: not touching it",
);

const OUT = await Deno.makeTempDir({ prefix: "modelpin-dist-" });
globalThis.addEventListener("unload", () => Deno.removeSync(OUT, { recursive: true }));

let built: Promise<Record<DebianArch, string>> | undefined;
/** Both packages, built once for this file. */
function packages(): Promise<Record<DebianArch, string>> {
  built ??= (async () => {
    const [amd64, arm64] = await Promise.all(
      (["amd64", "arm64"] as const).map((arch) => buildPackage(arch, OUT, new Date("2026-01-01T00:00:00Z"), 1)),
    );
    return { amd64, arm64 };
  })();
  return built;
}

let linted: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
/** lintian on the amd64 package, started as soon as it is built so it runs alongside the other tests. */
function lintian(): Promise<{ code: number; stdout: string; stderr: string }> {
  linted ??= packages().then(({ amd64 }) => sh("lintian", ["--fail-on", "error,warning", amd64]));
  return linted;
}

const extractedRoots = new Map<DebianArch, Promise<{ root: string; shippedConf: string }>>();
/** The package extracted with dpkg-deb -x into a temporary root, once per architecture. */
function extracted(arch: DebianArch): Promise<{ root: string; shippedConf: string }> {
  if (!extractedRoots.has(arch)) {
    extractedRoots.set(
      arch,
      (async () => {
        const root = `${OUT}/root-${arch}`;
        const r = await sh("dpkg-deb", ["-x", (await packages())[arch], root]);
        assert.equal(r.code, 0, r.stderr);
        return { root, shippedConf: await Deno.readTextFile(`${root}/etc/modelpin/modelpin.env`) };
      })(),
    );
  }
  return extractedRoots.get(arch)!;
}

const KEY = "sk-packaging-test-key-0123456789";

function configText(backendUrl: string, port: number, model = "forced/model"): string {
  return `FAST_BASE_URL=${backendUrl}\nFAST_API_KEY=${KEY}\nFAST_MODEL_NAME=${model}\nBIND_HOST=127.0.0.1\nPROXY_PORT=${port}\n`;
}

async function chat(port: number, model = "gpt-4"): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test({
  name: "package: dpkg-deb --info shows the version from src/version.ts, the arch, real Depends and the scripts",
  ignore: !!noDpkg,
  async fn() {
    if (!noLintian) lintian(); // awaited by the lintian test at the end
    for (const [arch, deb] of Object.entries(await packages())) {
      assert.equal(deb, `${OUT}/modelpin_${VERSION}_${arch}.deb`);
      const info = await sh("dpkg-deb", ["--info", deb]);
      assert.equal(info.code, 0, info.stderr);
      const field = (name: string) => info.stdout.match(new RegExp(`^ ${name}: (.*)$`, "m"))?.[1];
      assert.equal(field("Package"), "modelpin");
      assert.equal(field("Version"), VERSION);
      assert.equal(field("Architecture"), arch);
      assert.equal(field("Depends"), "libc6 (>= 2.27), libgcc-s1 (>= 3.3) | libgcc1 (>= 1:3.3)");
      assert.ok(Number(field("Installed-Size")) > 80_000, "Deno's ~90 MB counted");
      for (const script of ["postinst", "prerm", "postrm", "conffiles", "md5sums"]) {
        assert.match(info.stdout, new RegExp(`\\s${script}\\b`), script);
      }
    }
  },
});

Deno.test({
  name: "package: --contents has the launcher, Deno, the sources, the unit, the docs, and the conffile 0600 root:root",
  ignore: !!noDpkg,
  async fn() {
    const { amd64 } = await packages();
    const listing = (await sh("dpkg-deb", ["--contents", amd64])).stdout.trim().split("\n");
    const entries = new Map(listing.map((line) => {
      const [mode, owner, , , , path] = line.split(/\s+/);
      return [path.replace(/^\.\//, "/"), { mode, owner }];
    }));
    const expected: Record<string, string> = {
      "/usr/bin/modelpin": "-rwxr-xr-x",
      "/usr/lib/modelpin/deno": "-rwxr-xr-x",
      "/usr/lib/modelpin/deno.json": "-rw-r--r--",
      "/usr/lib/modelpin/src/main.ts": "-rw-r--r--",
      "/usr/lib/modelpin/src/permissions.ts": "-rw-r--r--",
      "/usr/lib/modelpin/src/version.ts": "-rw-r--r--",
      "/etc/modelpin/modelpin.env": "-rw-------",
      "/lib/systemd/system/modelpin.service": "-rw-r--r--",
      "/usr/share/doc/modelpin/copyright": "-rw-r--r--",
      "/usr/share/doc/modelpin/changelog.gz": "-rw-r--r--",
      "/usr/share/man/man1/modelpin.1.gz": "-rw-r--r--",
    };
    for (const [path, mode] of Object.entries(expected)) assert.equal(entries.get(path)?.mode, mode, path);
    for (const [path, e] of entries) assert.equal(e.owner, "root/root", path);
    // Every source file ships, so the launcher runs exactly this checkout's proxy.
    for await (const f of Deno.readDir(`${ROOT}src`)) {
      if (f.isFile) assert.ok(entries.has(`/usr/lib/modelpin/src/${f.name}`), f.name);
    }
    const { root, shippedConf } = await extracted("amd64");
    assert.match(await Deno.readTextFile(`${root}/usr/share/doc/modelpin/copyright`), /^License: Expat$/m);
    assert.doesNotMatch(shippedConf, /^\s*(FAST|SMART|REAL)_/m, "no backend configured on a fresh install");
    const ctrl = `${OUT}/ctrl-amd64`;
    assert.equal((await sh("dpkg-deb", ["--control", amd64, ctrl])).code, 0);
    assert.equal((await Deno.readTextFile(`${ctrl}/conffiles`)).trim(), "/etc/modelpin/modelpin.env");
  },
});

Deno.test({
  name: "package: Depends names every library the bundled Deno binaries link, at the versions they need",
  ignore: !!noReadelf,
  async fn() {
    for (const arch of ["amd64", "arm64"] as const) {
      const deno = `${(await extracted(arch)).root}/usr/lib/modelpin/deno`;
      const needed = (await sh("readelf", ["-d", deno])).stdout.match(/\[([^\]]+)\]/g)!.map((s) => s.slice(1, -1));
      for (const lib of needed) {
        assert.match(lib, /^(libc|libm|libdl|librt|libpthread|ld-linux-[\w-]+)\.so\.\d$|^libgcc_s\.so\.1$/, lib);
      }
      const versions = (await sh("readelf", ["-V", deno])).stdout;
      const max = (prefix: string) =>
        [...versions.matchAll(new RegExp(`${prefix}_([\\d.]+)`, "g"))].map((m) => m[1].split(".").map(Number))
          .sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0)).pop()!.join(".");
      assert.equal(max("GLIBC"), "2.27", `${arch}: libc6 (>= 2.27)`);
      assert.equal(max("GCC"), "3.3", `${arch}: libgcc-s1 (>= 3.3)`);
    }
  },
});

Deno.test({
  name: "package: the extracted amd64 package runs from its config file, forces the model, inside the computed sandbox",
  ignore: !!noDpkg,
  async fn() {
    const { root } = await extracted("amd64");
    const conf = `${root}/etc/modelpin/modelpin.env`;
    await using backend = fakeBackend((seen) => jsonResponse(completion("hi", String(seen.json?.model))));
    const port = freePort();
    await Deno.writeTextFile(conf, configText(backend.baseUrl, port));
    await using proxy = new Launched(`${root}/usr/bin/modelpin`, []);
    await proxy.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
    await chat(port);
    assert.equal(backend.seen[0].json?.model, "forced/model");
    assert.equal(backend.seen[0].headers.get("authorization"), `Bearer ${KEY}`);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    assert.equal(health.version, VERSION);

    const argv = await proxy.cmdline();
    assert.equal(argv[0], `${root}/usr/lib/modelpin/deno`);
    assert.deepEqual(argv.filter((a) => /^-A$|^--allow|^--unsafe|^-R|^-N|^-E/.test(a)), [
      `--allow-net=127.0.0.1:${backend.port},127.0.0.1:${port}`,
      `--allow-env=${CONFIG_VARIABLES.join(",")}`,
      `--allow-read=${conf}`,
    ]);
    assert.ok(argv.includes(`--env-file=${conf}`) && argv.includes("--no-demo"), argv.join(" "));
    assert.doesNotMatch(proxy.stdout + proxy.stderr, new RegExp(KEY));
  },
});

Deno.test({
  name: "package: --service (the unit's command) takes the configuration from the environment and may read no file",
  ignore: !!noDpkg,
  async fn() {
    const { root } = await extracted("amd64");
    await using backend = fakeBackend((seen) => jsonResponse(completion("hi", String(seen.json?.model))));
    const port = freePort();
    // Read, this file would give the smart route its own model; the environment alone does not.
    await Deno.writeTextFile(`${root}/etc/modelpin/modelpin.env`, "SMART_MODEL_NAME=from/the-file\n");
    const env = { FAST_BASE_URL: backend.baseUrl, FAST_MODEL_NAME: "from/systemd", PROXY_PORT: String(port) };
    await using proxy = new Launched(`${root}/usr/bin/modelpin`, ["--service"], { ...env, BIND_HOST: "127.0.0.1" });
    await proxy.waitFor(/listening on/);
    await chat(port, "smart");
    assert.equal(backend.seen[0].json?.model, "from/systemd");
    const argv = await proxy.cmdline();
    assert.deepEqual(argv.filter((a) => a.startsWith("--allow-read") || a === "-A"), []);
    assert.ok(argv.includes("--skip-env-file"), argv.join(" "));
  },
});

Deno.test({
  name: "package: with no backend configured neither mode starts; the message names the file and how to start",
  ignore: !!noDpkg,
  async fn() {
    const { root, shippedConf } = await extracted("amd64");
    const conf = `${root}/etc/modelpin/modelpin.env`;
    await Deno.writeTextFile(conf, shippedConf);
    const byHand = new Launched(`${root}/usr/bin/modelpin`, []);
    assert.equal((await byHand.finished()).code, 2);
    assert.match(byHand.stderr, new RegExp(`FAST_BASE_URL, FAST_API_KEY and FAST_MODEL_NAME in ${conf}`));
    assert.match(byHand.stderr, /systemctl enable --now modelpin/);
    const service = new Launched(`${root}/usr/bin/modelpin`, ["--service"]);
    assert.equal(
      (await service.finished()).code,
      2,
      "exit 2: the unit's RestartPreventExitStatus stops a restart loop",
    );
    assert.match(service.stderr, /never starts in demo mode/);
    assert.match(service.stderr, /systemctl restart modelpin/);
    assert.doesNotMatch(byHand.stdout + service.stdout, /listening|DEMO/);
  },
});

Deno.test({
  name: "package: --version, --help, and doctor run through the launcher (doctor sandboxed, arguments passed on)",
  ignore: !!noDpkg,
  async fn() {
    const { root } = await extracted("amd64");
    const version = new Launched(`${root}/usr/bin/modelpin`, ["--version"]);
    assert.equal((await version.finished()).code, 0);
    assert.equal(version.stdout, `modelpin ${VERSION}\n`);
    const help = new Launched(`${root}/usr/bin/modelpin`, ["--help"]);
    assert.equal((await help.finished()).code, 0);
    assert.match(help.stdout, /systemctl enable --now modelpin/);
    // The packaged doctor, with no backend configured yet: start-up's own message, naming the file, exit 2.
    const unconfigured = new Launched(`${root}/usr/bin/modelpin`, ["doctor"]);
    assert.equal((await unconfigured.finished()).code, 2, unconfigured.stderr);
    assert.match(unconfigured.stderr, /modelpin\.env/);

    await using backend = fakeBackend(() => jsonResponse({}));
    await Deno.writeTextFile(`${root}/etc/modelpin/modelpin.env`, configText(backend.baseUrl, freePort()));
    // A stand-in doctor reports what the launcher gave it: its arguments and its sandbox.
    const doctor = `${root}/usr/lib/modelpin/src/doctor.ts`;
    const realDoctor = await Deno.readTextFile(doctor);
    await Deno.writeTextFile(
      doctor,
      `const q = (d: Deno.PermissionDescriptor) => Deno.permissions.query(d).then((s) => s.state);
console.log(JSON.stringify({ args: Deno.args, anyNet: await q({ name: "net" }), backend: await q({ name: "net", host: "127.0.0.1:${backend.port}" }) }));`,
    );
    try {
      const run = new Launched(`${root}/usr/bin/modelpin`, ["doctor", "--live"]);
      assert.equal((await run.finished()).code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), {
        args: [`--env-file=${root}/etc/modelpin/modelpin.env`, "--live"],
        anyNet: "prompt",
        backend: "granted",
      });
    } finally {
      await Deno.writeTextFile(doctor, realDoctor);
    }
  },
});

Deno.test({
  name: "package: the unit passes systemd-analyze verify and its exposure score is 2.0 or lower",
  ignore: !!noAnalyze,
  async fn() {
    // verify resolves the unit's dependencies and ExecStart inside --root: the extracted
    // package plus a copy of this machine's own units (sysinit.target...).
    const { root } = await extracted("amd64");
    await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
    assert.equal((await sh("cp", ["-a", "/usr/lib/systemd/system", `${root}/usr/lib/systemd/`])).code, 0);
    const env = { MANPATH: `${root}/usr/share/man` }; // the Documentation=man: page is the package's
    const verify = await sh("systemd-analyze", ["verify", `--root=${root}`, "modelpin.service"], { env });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr + verify.stdout, "", "no warning either");
    const security = await sh("systemd-analyze", ["security", "--offline=true", `--root=${root}`, "modelpin.service"]);
    const score = Number(security.stdout.match(/Overall exposure level for modelpin\.service: ([\d.]+)/)?.[1]);
    assert.ok(score <= 2.0, `exposure ${score}:\n${security.stdout}`);
  },
});

/** The arm64 C library from Debian's cross packages, unpacked (never installed) under .tools/. */
async function arm64Sysroot(): Promise<string> {
  const dir = `${ROOT}.tools/arm64-cross`;
  const sysroot = `${dir}/root/usr/aarch64-linux-gnu`;
  try {
    await Deno.stat(`${sysroot}/lib/libgcc_s.so.1`);
    return sysroot;
  } catch { /* fetch below */ }
  await Deno.mkdir(dir, { recursive: true });
  const dl = await sh("apt-get", ["download", "libc6-arm64-cross", "libgcc-s1-arm64-cross"], { cwd: dir });
  assert.equal(dl.code, 0, dl.stderr);
  for await (const f of Deno.readDir(dir)) {
    if (f.name.endsWith(".deb")) {
      assert.equal((await sh("dpkg-deb", ["-x", `${dir}/${f.name}`, `${dir}/root`])).code, 0);
    }
  }
  return sysroot;
}

Deno.test({
  name: "package: the arm64 package runs under qemu-aarch64: its Deno, --version and a request through the proxy",
  ignore: !!noQemu,
  async fn() {
    const { root } = await extracted("arm64");
    // DENO_DIR: the permissions step and the proxy share transpiled sources (slow under emulation).
    const env = { QEMU_LD_PREFIX: await arm64Sysroot(), DENO_DIR: `${OUT}/deno-dir-arm64` };
    const lib = `${root}/usr/lib/modelpin`;
    const raw = await sh("qemu-aarch64-static", [`${lib}/deno`, "--version"], { env });
    assert.match(raw.stdout, /^deno 2\.9\.6 .*aarch64-unknown-linux-gnu/, raw.stderr);
    // The launcher runs the package's own Deno; here it goes through qemu.
    await Deno.rename(`${lib}/deno`, `${lib}/deno.aarch64`);
    await Deno.writeTextFile(`${lib}/deno`, '#!/bin/sh\nexec qemu-aarch64-static "$0.aarch64" "$@"\n', { mode: 0o755 });
    const version = new Launched(`${root}/usr/bin/modelpin`, ["--version"], env);
    assert.equal((await version.finished()).code, 0, version.stderr);
    assert.equal(version.stdout, `modelpin ${VERSION}\n`);

    await using backend = fakeBackend((seen) => jsonResponse(completion("hi", String(seen.json?.model))));
    const port = freePort();
    await Deno.writeTextFile(`${root}/etc/modelpin/modelpin.env`, configText(backend.baseUrl, port, "arm64/model"));
    await using proxy = new Launched(`${root}/usr/bin/modelpin`, [], env);
    await proxy.waitFor(/listening on/, "stdout", 60_000);
    await chat(port);
    assert.equal(backend.seen[0].json?.model, "arm64/model");
  },
});

const INSTALLED_PATHS = [
  "/usr/bin/modelpin",
  "/usr/lib/modelpin",
  "/etc/modelpin",
  "/lib/systemd/system/modelpin.service",
  "/usr/share/doc/modelpin",
  "/usr/share/man/man1/modelpin.1.gz",
  "/usr/share/lintian/overrides/modelpin",
];
const WANTS = "/etc/systemd/system/multi-user.target.wants/modelpin.service";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function apt(args: string[]) {
  const r = await sh("apt-get", ["-y", "-o", "Dpkg::Options::=--force-confold", ...args], {
    cwd: OUT,
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r;
}

async function runInstalled(backendUrl: string, port: number, backend: { seen: { json?: unknown }[] }) {
  await using proxy = new Launched("/usr/bin/modelpin", []);
  await proxy.waitFor(/listening on/);
  await chat(port);
  assert.equal((backend.seen.at(-1)?.json as { model?: string })?.model, "installed/model", backendUrl);
}

Deno.test({
  name: "package: apt-get install, run, upgrade keeping the edited conffile, purge leaves nothing behind",
  ignore: !!noApt,
  async fn() {
    const deb = `./${(await packages()).amd64.split("/").pop()}`;
    try {
      const install = await apt(["install", deb]);
      assert.match(install.stdout, /no backend is configured yet[\s\S]*systemctl enable --now modelpin/);
      const conf = await Deno.stat("/etc/modelpin/modelpin.env");
      assert.deepEqual([conf.mode! & 0o777, conf.uid, conf.gid], [0o600, 0, 0]);
      assert.equal(await exists(WANTS), false, "installing enables nothing");
      if (await has("systemd-analyze")) {
        const verify = await sh("systemd-analyze", ["verify", "modelpin.service"]);
        assert.equal(verify.code + verify.stderr, "0", verify.stderr);
      }

      await using backend = fakeBackend((seen) => jsonResponse(completion("hi", String(seen.json?.model))));
      const port = freePort();
      const edited = configText(backend.baseUrl, port, "installed/model");
      await Deno.writeTextFile("/etc/modelpin/modelpin.env", edited);
      await runInstalled(backend.baseUrl, port, backend);

      const upgrade = await apt(["install", "--reinstall", deb]);
      assert.doesNotMatch(upgrade.stdout, /no backend is configured yet/, "the edited file counts as configured");
      assert.equal(await Deno.readTextFile("/etc/modelpin/modelpin.env"), edited, "the edited conffile is kept");
      assert.equal((await Deno.stat("/etc/modelpin/modelpin.env")).mode! & 0o777, 0o600);
      await runInstalled(backend.baseUrl, port, backend);

      // As "systemctl enable modelpin" would have left it.
      await Deno.mkdir(WANTS.slice(0, WANTS.lastIndexOf("/")), { recursive: true });
      await Deno.symlink("/lib/systemd/system/modelpin.service", WANTS);
      await apt(["purge", "modelpin"]);
      const status = await sh("dpkg-query", ["-W", "-f=${Status}", "modelpin"]);
      assert.doesNotMatch(status.stdout, /installed|config-files/);
      for (const path of [...INSTALLED_PATHS, WANTS]) assert.equal(await exists(path), false, `${path} is left`);
    } finally {
      // Whatever failed above, the machine ends as it began.
      const status = await sh("dpkg-query", ["-W", "-f=${Status}", "modelpin"]);
      if (/installed|config-files|unpacked|half/.test(status.stdout)) await sh("dpkg", ["--purge", "modelpin"]);
      await Deno.remove(WANTS).catch(() => {});
    }
  },
});

Deno.test({
  name: "package: lintian reports no errors and no warnings (amd64; arm64 differs only in Deno's binary)",
  ignore: !!noLintian,
  async fn() {
    const r = await lintian();
    const tags = r.stdout.split("\n").filter((l) => /^[EW]: /.test(l));
    assert.deepEqual(tags, [], r.stdout);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  },
});
