/**
 * `deno task compile` (./start.sh compile). Building needs Deno's denort base
 * binary, fetched from dl.deno.land on first use unless DENORT_BIN points at
 * one. Where that is impossible the build must fail with a clear message and
 * the tests that need the binary are reported as skipped, with the reason.
 */
import assert from "node:assert/strict";
import { completion, jsonResponse } from "../support/fake_backend.ts";
import { projectCopy } from "../support/project_copy.ts";
import { unusedPort } from "../support/raw_tcp.ts";

const SECRET = "sk-compile-time-secret-9f8e7d";

const dir = await projectCopy("modelpin-compile-");
const freePort = unusedPort;
// The binary's network grant is fixed when it is built, so the ports are chosen now.
const backendPort = freePort();
const proxyPort = freePort();
const routeEnv = `FAST_BASE_URL=http://127.0.0.1:${backendPort}/v1\nBIND_HOST=127.0.0.1\nPROXY_PORT=${proxyPort}\n`;
// The key sits in .env at build time: it must not end up inside the binary.
await Deno.writeTextFile(`${dir}/.env`, `${routeEnv}FAST_MODEL_NAME=m\nFAST_API_KEY=${SECRET}\n`);
const build = await new Deno.Command(`${dir}/start.sh`, {
  args: ["compile"],
  cwd: dir,
  env: { DENO_BIN: Deno.execPath() },
  stdout: "piped",
  stderr: "piped",
}).output();
const buildErr = new TextDecoder().decode(build.stderr);
const built = build.code === 0;
const skipReason = built
  ? ""
  : "deno compile could not fetch its denort base binary (no internet here; set DENORT_BIN)";
if (!built) console.log(`SKIPPED compiled-binary tests: ${skipReason}`);

Deno.test("compile: builds ./modelpin, or fails with a message that says why and what to do", () => {
  if (built) {
    assert.ok(Deno.statSync(`${dir}/modelpin`).isFile);
  } else {
    assert.equal(build.code, 1);
    assert.match(buildErr, /denort/);
    assert.match(buildErr, /DENORT_BIN/);
    assert.ok(!buildErr.includes(SECRET), "the key is not printed");
    // Offline, modelpin's own message comes alone: no download error or backtrace from Deno before it.
    assert.match(buildErr, /^modelpin: /, buildErr);
    assert.doesNotMatch(buildErr, /Stack backtrace|error: /, buildErr);
  }
});

Deno.test({
  name: "compiled binary: no key baked in, sandbox baked in, configuration read from .env at run time",
  ignore: !built,
  fn: async () => {
    const bytes = await Deno.readFile(`${dir}/modelpin`);
    assert.ok(!new TextDecoder("latin1").decode(bytes).includes(SECRET), "the key from .env is not in the binary");
    const seen: { model: string; auth: string | null }[] = [];
    await using _backend = Deno.serve({ port: backendPort, hostname: "127.0.0.1", onListen() {} }, async (req) => {
      seen.push({ model: (await req.json()).model, auth: req.headers.get("authorization") });
      return jsonResponse(completion("ok"));
    });
    const runDir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${runDir}/.env`, `${routeEnv}FAST_MODEL_NAME=runtime-model\nFAST_API_KEY=runtime-key\n`);
    const child = new Deno.Command(`${dir}/modelpin`, { cwd: runDir, stdout: "piped", stderr: "piped" }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let banner = "";
      while (!banner.includes("listening")) {
        const { done, value } = await reader.read();
        if (done) break;
        banner += value;
      }
      assert.match(banner, /model=runtime-model/);
      const res = await fetch(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "gpt-4", messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.deepEqual(seen, [{ model: "runtime-model", auth: "Bearer runtime-key" }]);
      reader.cancel();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
      await Deno.remove(runDir, { recursive: true });
    }
  },
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
