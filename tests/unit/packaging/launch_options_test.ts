import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../../src/config/config.ts";
import {
  LaunchOptionError,
  loadLaunchConfig,
  parseLaunchOptions,
  refuseDemo,
} from "../../../src/config/launch_options.ts";
import { run } from "../../../src/main.ts";
import { permissionFlags } from "../../../src/permissions.ts";
import { VERSION } from "../../../src/version.ts";
import { completion, fakeBackend, jsonResponse } from "../../support/fake_backend.ts";

const ROOT = new URL("../../..", import.meta.url).pathname;

Deno.test("launch options: defaults are .env, read, demo allowed; other arguments are left alone", () => {
  assert.deepEqual(parseLaunchOptions(["--version", "--live"]), {
    envFile: ".env",
    skipEnvFile: false,
    noDemo: false,
  });
  assert.deepEqual(parseLaunchOptions(["--env-file=/etc/modelpin/modelpin.env", "--skip-env-file", "--no-demo"]), {
    envFile: "/etc/modelpin/modelpin.env",
    skipEnvFile: true,
    noDemo: true,
  });
});

Deno.test("launch options: --env-file without a path, split from its path, or with a comma is refused", () => {
  for (const args of [["--env-file="], ["--env-file", "x"], ["--env-file=a,b"]]) {
    assert.throws(() => parseLaunchOptions(args), LaunchOptionError, args.join(" "));
  }
  assert.ok(new LaunchOptionError("--env-file", "x") instanceof ConfigError, "reported like configuration (exit 2)");
});

Deno.test("launch options: --no-demo turns a configuration without backend into an error naming the file", () => {
  const options = parseLaunchOptions(["--env-file=/etc/modelpin/modelpin.env", "--no-demo"]);
  assert.throws(() => refuseDemo(parseConfig({}), options), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /FAST_BASE_URL, FAST_API_KEY and FAST_MODEL_NAME in \/etc\/modelpin\/modelpin\.env/);
    return true;
  });
  const configured = parseConfig({ FAST_BASE_URL: "https://h/v1", FAST_MODEL_NAME: "m" });
  assert.equal(refuseDemo(configured, options), configured);
  assert.equal(refuseDemo(parseConfig({}), parseLaunchOptions([])).demo, true, "demo stays the default");
});

Deno.test("launch options: --env-file=PATH is the file read and the only one granted; without it nothing is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/modelpin.env`;
    await Deno.writeTextFile(file, "FAST_BASE_URL=https://from.file/v1\nFAST_MODEL_NAME=file-model\n");
    const config = loadLaunchConfig(parseLaunchOptions([`--env-file=${file}`]));
    assert.equal(config.fast.model, "file-model");
    assert.equal(permissionFlags(config, file)[2], `--allow-read=${file}`);
    assert.equal(permissionFlags(config, null).length, 2);
    assert.ok(!permissionFlags(config, null).some((f) => f.startsWith("--allow-read")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function permissionsScript(args: string[], grants: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...grants, `${ROOT}src/permissions.ts`, ...args],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("permissions.ts: --skip-env-file reads only the environment, so it runs with no read access at all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/modelpin.env`;
    await Deno.writeTextFile(file, "FAST_MODEL_NAME=from-file\n");
    const env = { FAST_BASE_URL: "http://10.1.2.3:8000/v1", FAST_MODEL_NAME: "m", BIND_HOST: "127.0.0.1" };
    const skip = await permissionsScript([`--env-file=${file}`, "--skip-env-file"], ["--allow-env"], env);
    assert.equal(skip.code, 0, skip.stderr);
    assert.equal(skip.stdout.split("\n")[0], "--allow-net=10.1.2.3:8000,127.0.0.1:8086");
    assert.doesNotMatch(skip.stdout, /--allow-read/);
    // The same without --skip-env-file needs the file: it is really read.
    const read = await permissionsScript([`--env-file=${file}`], ["--allow-env"], env);
    assert.equal(read.code, 2);
    assert.match(read.stderr, /cannot read the configuration/);
    const none = await permissionsScript([`--env-file=${file}`, "--skip-env-file", "--no-demo"], ["--allow-env"], {});
    assert.equal(none.code, 2);
    assert.match(none.stderr, new RegExp(`never starts in demo mode: .* in ${file}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main: --no-demo refuses to start without a backend (exit 2, nothing listens)", async () => {
  let err = "";
  let listened = false;
  const code = await run({
    args: ["--no-demo", "--env-file=/etc/modelpin/modelpin.env"],
    source: {},
    stdout: () => {},
    stderr: (t) => err += t,
    signals: false,
    onListen: () => listened = true,
  });
  assert.equal(code, 2);
  assert.equal(listened, false);
  assert.match(
    err,
    /never starts in demo mode: set FAST_BASE_URL, FAST_API_KEY and FAST_MODEL_NAME in \/etc\/modelpin/,
  );
});

Deno.test("main: /health reports the version from src/version.ts", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("x")));
  const done = run({
    args: ["--no-demo"],
    source: { FAST_BASE_URL: backend.baseUrl, FAST_MODEL_NAME: "m", BIND_HOST: "127.0.0.1", PROXY_PORT: "0" },
    stdout: () => {},
    stderr: () => {},
    signals: false,
    onListen: async (server) => {
      const health = await (await fetch(`http://127.0.0.1:${server.addr.port}/health`)).json();
      assert.equal(health.version, VERSION);
      server.shutdown();
    },
  });
  assert.equal(await done, 0);
});
