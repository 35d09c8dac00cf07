import assert from "node:assert/strict";
import { CONFIG_VARIABLES, parseConfig } from "../../../src/config/config.ts";
import { permissionFlags } from "../../../src/permissions.ts";
import { fakeBackend, jsonResponse } from "../../support/fake_backend.ts";

const DENO = Deno.execPath();

Deno.test("permissionFlags grants exactly the backends, the bind address, modelpin's variables and .env", () => {
  const config = parseConfig({
    FAST_BASE_URL: "https://api.fireworks.ai/inference/v1",
    FAST_MODEL_NAME: "m",
    SMART_BASE_URL: "http://10.0.0.5:8000/v1",
    BIND_HOST: "192.168.1.2",
    PROXY_PORT: "9000",
  });
  assert.deepEqual(permissionFlags(config), [
    "--allow-net=api.fireworks.ai:443,10.0.0.5:8000,192.168.1.2:9000",
    `--allow-env=${CONFIG_VARIABLES.join(",")}`,
    "--allow-read=.env",
  ]);
});

Deno.test("permissionFlags: IPv6 bind and backend in brackets, default http port, demo needs only the bind", () => {
  const v6 = parseConfig({ FAST_BASE_URL: "http://[::1]/v1", FAST_MODEL_NAME: "m", BIND_HOST: "::" });
  assert.equal(permissionFlags(v6)[0], "--allow-net=[::1]:80,[::]:8086");
  const demo = parseConfig({});
  assert.equal(permissionFlags(demo)[0], "--allow-net=127.0.0.1:8086");
  const same = parseConfig({ FAST_BASE_URL: "https://h/v1", FAST_MODEL_NAME: "m", SMART_MODEL_NAME: "n" });
  assert.equal(permissionFlags(same)[0], "--allow-net=h:443,0.0.0.0:8086", "one grant per host:port");
});

// A probe run under the computed flags, as start.sh runs the proxy: what it may
// and may not do is what the sandbox really enforces.
const PROBE = `
const [allowedUrl, deniedUrl] = Deno.args;
const report = {};
async function attempt(name, fn) {
  try { await fn(); report[name] = "ok"; }
  catch (e) { report[name] = e instanceof Deno.errors.NotCapable ? "NotCapable" : e.name + ": " + e.message; }
}
await attempt("fetchConfigured", async () => { const r = await fetch(allowedUrl); await r.body?.cancel(); });
await attempt("fetchOther", async () => { const r = await fetch(deniedUrl); await r.body?.cancel(); });
await attempt("fetchPublic", async () => { const r = await fetch("https://example.com/"); await r.body?.cancel(); });
await attempt("envOwn", () => Deno.env.get("FAST_MODEL_NAME"));
await attempt("envOther", () => Deno.env.get("HOME"));
await attempt("readEnvFile", () => Deno.readTextFile(".env").catch((e) => { if (!(e instanceof Deno.errors.NotFound)) throw e; }));
await attempt("readOther", () => Deno.readTextFile("/etc/passwd"));
await attempt("write", () => Deno.writeTextFile("x.txt", "x"));
await attempt("run", () => new Deno.Command("true").output());
console.log(JSON.stringify(report));
`;

Deno.test("the computed flags are a real sandbox: unconfigured hosts, other variables, files and processes are refused", async () => {
  await using allowed = fakeBackend(() => jsonResponse({ ok: true }));
  await using other = fakeBackend(() => jsonResponse({ ok: true }));
  const config = parseConfig({ FAST_BASE_URL: allowed.baseUrl, FAST_MODEL_NAME: "m", BIND_HOST: "127.0.0.1" });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe.js`, PROBE);
    const out = await new Deno.Command(DENO, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        ...permissionFlags(config),
        "probe.js",
        `${allowed.baseUrl}/x`,
        `${other.baseUrl}/x`,
      ],
      cwd: dir,
      env: { FAST_MODEL_NAME: "m" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(text), {
      fetchConfigured: "ok",
      fetchOther: "NotCapable",
      fetchPublic: "NotCapable",
      envOwn: "ok",
      envOther: "NotCapable",
      readEnvFile: "ok",
      readOther: "NotCapable",
      write: "NotCapable",
      run: "NotCapable",
    });
    assert.equal(allowed.seen.length, 1);
    assert.equal(other.seen.length, 0, "the unconfigured backend never saw a request");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
