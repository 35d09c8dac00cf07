/**
 * `modelpin doctor` against real fake backends: down, 401, model missing,
 * good, --live, invalid configuration; and once as its own process under the
 * proxy's sandbox flags.
 */

import assert from "node:assert/strict";
import { fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { closedPort } from "../support/wire.ts";
import { runDoctor } from "../../src/ops/doctor.ts";
import { parseConfig } from "../../src/config/config.ts";
import { permissionFlags } from "../../src/permissions.ts";

const KEY = "sk-backend-key-0123456789";

/** A backend that lists `models`, accepts only KEY, and answers chat completions. */
function backend(models: string[], chatStatus = 200) {
  return fakeBackend((seen) => {
    if (seen.headers.get("authorization") !== `Bearer ${KEY}`) {
      return jsonResponse(
        { error: { message: `Invalid API key provided: ${seen.headers.get("authorization")}` } },
        401,
      );
    }
    if (seen.path.endsWith("/models")) return jsonResponse({ object: "list", data: models.map((id) => ({ id })) });
    if (chatStatus !== 200) return jsonResponse({ error: { message: "model not found" } }, chatStatus);
    return jsonResponse({
      choices: [{ message: { content: "O" } }],
      usage: { prompt_tokens: 3, completion_tokens: 1 },
    });
  });
}

async function doctor(env: Record<string, string>, live = false) {
  let out = "";
  let err = "";
  const code = await runDoctor({
    source: env,
    live,
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    timeoutMs: 5000,
  });
  return { code, out, err };
}

Deno.test("doctor: a good backend with its model listed is usable (exit 0)", async () => {
  await using b = backend(["m1"]);
  const r = await doctor({ FAST_BASE_URL: b.baseUrl, FAST_API_KEY: KEY, FAST_MODEL_NAME: "m1" });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^OK\s+fast\+smart\s+127\.0\.0\.1:\d+ reachable/m, "smart shares fast's backend: one probe");
  assert.match(r.out, /^OK\s+fast\+smart\s+key accepted$/m);
  assert.match(r.out, /^OK\s+fast\s+model m1 is listed$/m);
  assert.match(r.out, /usable/);
  assert.ok(!r.out.includes(KEY));
  assert.equal(b.seen[0].path, "/v1/models");
});

Deno.test("doctor: a backend that is down fails (exit 1) and the other route is still checked", async () => {
  await using good = backend(["m2"]);
  const r = await doctor({
    FAST_BASE_URL: `http://127.0.0.1:${closedPort()}/v1`,
    FAST_API_KEY: KEY,
    FAST_MODEL_NAME: "m1",
    SMART_BASE_URL: good.baseUrl,
    SMART_MODEL_NAME: "m2",
  });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^FAIL\s+fast\s+127\.0\.0\.1:\d+ unreachable: connection refused/m);
  assert.match(r.out, /^OK\s+smart\s+model m2 is listed$/m, "goes on after a failure");
  assert.match(r.out, /FAILED/);
});

Deno.test("doctor: a wrong key (401) fails with what to set, and the key is never printed", async () => {
  await using b = backend(["m1"]);
  const wrong = "sk-wrong-key-abcdef0123";
  const r = await doctor({ FAST_BASE_URL: b.baseUrl, FAST_API_KEY: wrong, FAST_MODEL_NAME: "m1" });
  assert.equal(r.code, 1);
  assert.match(r.out, /^FAIL\s+fast\+smart\s+key rejected \(HTTP 401.*set FAST_API_KEY \/ SMART_API_KEY$/m);
  assert.ok(!r.out.includes(wrong), "the backend echoed the key; the doctor masked it");
});

Deno.test("doctor: a model the backend does not list is a warning, not a failure (exit 0)", async () => {
  await using b = backend(["other-a", "other-b"]);
  const r = await doctor({ FAST_BASE_URL: b.baseUrl, FAST_API_KEY: KEY, FAST_MODEL_NAME: "m1" });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^WARN\s+fast\s+model m1 is not among the 2 models .*check FAST_MODEL_NAME/m);
});

Deno.test("doctor: --live sends one max_tokens 1 chat completion per route and reports it", async () => {
  await using good = backend(["m1", "m2"]);
  const r = await doctor({
    FAST_BASE_URL: good.baseUrl,
    FAST_API_KEY: KEY,
    FAST_MODEL_NAME: "m1",
    SMART_MODEL_NAME: "m2",
  }, true);
  assert.equal(r.code, 0, r.out);
  const chats = good.seen.filter((s) => s.path === "/v1/chat/completions");
  assert.deepEqual(chats.map((s) => [s.json?.model, s.json?.max_tokens]), [["m1", 1], ["m2", 1]]);
  assert.equal(good.seen.filter((s) => s.path === "/v1/models").length, 1, "one backend is probed once");
  assert.match(r.out, /^OK\s+fast\s+live chat completion answered in \d+ ms$/m);
  assert.match(r.out, /^OK\s+smart\s+live chat completion answered/m);
});

Deno.test("doctor: --live failing on the backend is a failure (exit 1); without --live nothing is sent", async () => {
  await using b = backend(["m1"], 404);
  const quiet = await doctor({ FAST_BASE_URL: b.baseUrl, FAST_API_KEY: KEY, FAST_MODEL_NAME: "m1" });
  assert.equal(quiet.code, 0);
  assert.equal(b.seen.filter((s) => s.path.endsWith("/chat/completions")).length, 0);
  const live = await doctor({ FAST_BASE_URL: b.baseUrl, FAST_API_KEY: KEY, FAST_MODEL_NAME: "m1" }, true);
  assert.equal(live.code, 1);
  assert.match(
    live.out,
    /^FAIL\s+fast\s+live chat completion answered HTTP 404 \(model not found\): check FAST_MODEL_NAME/m,
  );
});

Deno.test("doctor: an invalid configuration exits 2 with start-up's own message", async () => {
  const r = await doctor({ FAST_BASE_URL: "ftp://x", FAST_MODEL_NAME: "m" });
  assert.equal(r.code, 2);
  let startup = "";
  try {
    parseConfig({ FAST_BASE_URL: "ftp://x", FAST_MODEL_NAME: "m" });
  } catch (e) {
    startup = (e as Error).message;
  }
  assert.ok(startup.length > 0 && r.err.includes(startup), r.err);
  assert.equal(r.out, "");
});

Deno.test("doctor: runs as its own process under the proxy's sandbox flags", async () => {
  await using b = backend(["m1"]);
  const env = { FAST_BASE_URL: b.baseUrl, FAST_API_KEY: KEY, FAST_MODEL_NAME: "m1", BIND_HOST: "127.0.0.1" };
  const dir = await Deno.makeTempDir();
  try {
    const flags = permissionFlags(parseConfig(env), `${dir}/.env`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, new URL("../../src/doctor.ts", import.meta.url).pathname, "--live"],
      cwd: dir,
      env,
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /live chat completion answered/);
    assert.ok(!text.includes(KEY));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
