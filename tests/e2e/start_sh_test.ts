/**
 * start.sh as a user runs it: sandbox flags computed from the configuration,
 * .env handling, demo mode, configuration errors and signals. Each test runs
 * a copy of the project in a temporary folder so the real .env is untouched.
 */
import assert from "node:assert/strict";
import { chunkEvent, completion, fakeBackend, jsonResponse, sseResponse } from "../support/fake_backend.ts";
import { projectCopy as copyOfProject } from "../support/project_copy.ts";
import { CONFIG_VARIABLES } from "../../src/config/config.ts";
import { unusedPort } from "../support/raw_tcp.ts";

async function projectCopy(dotenv?: string): Promise<string> {
  const dir = await copyOfProject("modelpin-start-");
  if (dotenv !== undefined) await Deno.writeTextFile(`${dir}/.env`, dotenv);
  return dir;
}

const freePort = unusedPort;

/** A running start.sh whose output can be awaited. */
class Started implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  #pumps: Promise<void>[];
  #waiters: (() => void)[] = [];
  readonly status: Promise<Deno.CommandStatus>;

  constructor(dir: string, env: Record<string, string>, args: string[] = []) {
    this.child = new Deno.Command(`${dir}/start.sh`, {
      args,
      cwd: dir,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/root",
        DENO_BIN: Deno.execPath(),
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump(this.child.stdout, "stdout"), this.#pump(this.child.stderr, "stderr")];
    this.status = this.child.status;
  }

  #stdoutReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #stdoutClosed = false;

  async #pump(stream: ReadableStream<Uint8Array>, which: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    if (which === "stdout") this.#stdoutReader = reader;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this[which] += decoder.decode(value, { stream: true });
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch (err) {
      if (!(which === "stdout" && this.#stdoutClosed)) throw err;
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when stdout matches, fails if the process exits first or 20 s pass. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitOn("stdout", pattern);
  }

  /** The same for stderr. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitOn("stderr", pattern);
  }

  async #waitOn(which: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray> {
    const deadline = Date.now() + 20_000;
    let exited = false;
    this.status.then(() => exited = true);
    for (;;) {
      const m = this[which].match(pattern);
      if (m) return m;
      if (exited || Date.now() > deadline) {
        throw new Error(`no ${pattern} in ${which}. stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200); // re-check the deadline and exit even without output
      });
    }
  }

  /** Closes the read end of the child's stdout, as a reader that went away would. */
  async closeStdout(): Promise<void> {
    this.#stdoutClosed = true;
    await this.#stdoutReader?.cancel();
  }

  /** Waits for exit (bounded) and for all output. */
  async exit(): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.status,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("start.sh did not exit")), 20_000)),
    ]).finally(() => clearTimeout(timer));
    await Promise.all(this.#pumps);
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.status;
    await Promise.all(this.#pumps);
  }
}

Deno.test("start.sh: invalid configuration exits 2 naming every bad variable, and starts nothing", async () => {
  const dir = await projectCopy("FAST_MODEL_NAME=m\n");
  try {
    await using run = new Started(dir, {
      FAST_BASE_URL: "ftp://example.com",
      PROXY_PORT: "70000",
      PROXY_TIMEOUT: "soon",
    });
    const code = await run.exit();
    assert.equal(code, 2);
    for (const name of ["FAST_BASE_URL", "PROXY_PORT", "PROXY_TIMEOUT"]) assert.match(run.stderr, new RegExp(name));
    assert.doesNotMatch(run.stdout, /listening/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start.sh: demo mode on a fresh checkout serves on 127.0.0.1, sandboxed, and exits 0 on SIGTERM", async () => {
  const dir = await projectCopy();
  const port = freePort();
  try {
    await using run = new Started(dir, { PROXY_PORT: String(port) });
    await run.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(run.stdout, /DEMO MODE/);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    assert.equal(health.demo, true);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "ping" }] }),
    });
    assert.equal((await res.json()).choices[0].message.content, "[demo fast] you said: ping");

    // start.sh execs Deno, so the child is the sandboxed proxy itself.
    const ps = await new Deno.Command("ps", { args: ["-o", "args=", "-p", String(run.child.pid)], stdout: "piped" })
      .output();
    const cmdline = new TextDecoder().decode(ps.stdout).trim().split(/\s+/);
    assert.ok(cmdline.includes(`--allow-net=127.0.0.1:${port}`), cmdline.join(" "));
    assert.ok(cmdline.includes("--allow-read=.env"));
    assert.ok(cmdline.some((a) => a.startsWith("--allow-env=FAST_BASE_URL,")));
    assert.ok(!cmdline.includes("-A") && !cmdline.includes("--allow-all"));

    run.child.kill("SIGTERM");
    assert.equal(await run.exit(), 0);
    assert.doesNotMatch(run.stderr, /legacy/i, "no request.signal legacy warning");
    assert.match(run.stdout, /POST \/v1\/chat\/completions model=gpt-4 -> fast:modelpin-demo-echo 200/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start.sh: reads .env with the old REAL_* names, the environment wins, and no key is printed", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("from backend")));
  const dir = await projectCopy(
    [
      "# written for the Python proxy",
      `REAL_BASE_URL=${backend.baseUrl}`,
      "REAL_API_KEY='sk-dotenv-secret-1234'",
      "REAL_MODEL_NAME=model-from-dotenv",
      "SMART_MODEL_NAME=smart-from-dotenv",
    ].join("\n"),
  );
  const port = freePort();
  try {
    await using run = new Started(dir, {
      PROXY_PORT: String(port),
      BIND_HOST: "127.0.0.1",
      SMART_MODEL_NAME: "smart-from-env",
    });
    await run.waitFor(/listening/);
    for (const model of ["gpt-4", "smart"]) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer client-key" },
        body: JSON.stringify({ model, messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.deepEqual(backend.seen.map((s) => s.json?.model), ["model-from-dotenv", "smart-from-env"]);
    assert.deepEqual(backend.seen.map((s) => s.headers.get("authorization")), [
      "Bearer sk-dotenv-secret-1234",
      "Bearer sk-dotenv-secret-1234",
    ]);
    assert.match(
      run.stdout,
      new RegExp(`fast  -> 127\\.0\\.0\\.1:${backend.port}/v1  model=model-from-dotenv  key=set`),
    );
    run.child.kill("SIGTERM");
    assert.equal(await run.exit(), 0);
    assert.ok(!(run.stdout + run.stderr).includes("sk-dotenv-secret-1234"), "the key is never printed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A streaming backend, a proxy (via start.sh) with `grace`, and one live stream through it. */
async function liveStream(
  grace: string,
  test: (run: Started, body: ReadableStreamDefaultReader<Uint8Array>, first: string) => Promise<void>,
) {
  const feed = sseResponse();
  let onRequest!: () => void;
  const requested = new Promise<void>((r) => onRequest = r);
  await using backend = fakeBackend(() => {
    onRequest();
    return feed.response;
  });
  const dir = await projectCopy(`FAST_BASE_URL=${backend.baseUrl}\nFAST_MODEL_NAME=m\nPROXY_SHUTDOWN_GRACE=${grace}\n`);
  const port = freePort();
  try {
    await using run = new Started(dir, { PROXY_PORT: String(port), BIND_HOST: "127.0.0.1" });
    await run.waitFor(/listening/);
    const pending = fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "x", stream: true, messages: [] }),
    });
    // The proxy answers once the first event is there (so it can still fall back before it).
    await requested;
    feed.send(chunkEvent("one"));
    const reader = (await pending).body!.getReader();
    await test(run, reader, new TextDecoder().decode((await reader.read()).value));
    await reader.cancel().catch(() => {});
    await feed.cancelled; // the upstream request was aborted, not left running
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("start.sh: SIGTERM lets a live stream run for PROXY_SHUTDOWN_GRACE, then ends it with an SSE error event", async () => {
  await liveStream("0.3", async (run, reader, first) => {
    assert.match(first, /"one"/);
    run.child.kill("SIGTERM");
    let text = first;
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    assert.match(text, /data: \{"error":\{"message":"modelpin is shutting down"/);
    assert.doesNotMatch(text, /\[DONE\]/);
    assert.equal(await run.exit(), 0);
  });
});

Deno.test("start.sh: a second signal ends open streams with their error event and exits 130 at once", async () => {
  await liveStream("600", async (run, reader, first) => {
    run.child.kill("SIGTERM");
    await run.waitForStderr(/shutting down/);
    run.child.kill("SIGTERM");
    let text = first;
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) break;
      text += decoder.decode(value);
    }
    assert.match(text, /data: \{"error":\{"message":"modelpin is shutting down"/, "the stream was told, not cut");
    assert.equal(await run.exit(), 130, "exits well before the 600 s grace");
  });
});

Deno.test("start.sh: a closed stdout (its reader gone) does not take the proxy down", async () => {
  const dir = await projectCopy();
  const port = freePort();
  try {
    await using run = new Started(dir, { PROXY_PORT: String(port) });
    await run.waitFor(/listening/);
    // Whoever read stdout went away (`| head` finished, journald restarted).
    await run.closeStdout();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      // Each answer queues a log line; the next turn writes it into the closed pipe.
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "still there?" }] }),
    });
    assert.equal((await res.json()).choices[0].message.content, "[demo fast] you said: still there?");
    run.child.kill("SIGTERM");
    assert.equal(await run.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start.sh: .env may interpolate other variables (${FIREWORKS_KEY}); the sandbox grants exactly those", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("ok")));
  const dir = await projectCopy(
    `FAST_BASE_URL=${backend.baseUrl}\nFAST_MODEL_NAME=m\nFAST_API_KEY=\${MY_FIREWORKS_KEY}\nSMART_MODEL_NAME=\${NOT_SET_ANYWHERE:-smart-default}\n`,
  );
  const port = freePort();
  try {
    await using run = new Started(dir, {
      PROXY_PORT: String(port),
      BIND_HOST: "127.0.0.1",
      MY_FIREWORKS_KEY: "sk-from-the-environment-77",
    });
    await run.waitFor(/listening/);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "smart", messages: [] }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(backend.seen[0].headers.get("authorization"), "Bearer sk-from-the-environment-77");
    assert.equal(backend.seen[0].json?.model, "smart-default");
    const ps = await new Deno.Command("ps", { args: ["-o", "args=", "-p", String(run.child.pid)], stdout: "piped" })
      .output();
    const envFlag = new TextDecoder().decode(ps.stdout).split(/\s+/).find((a) => a.startsWith("--allow-env="))!;
    assert.deepEqual(
      envFlag.slice(12).split(",").filter((n) => !CONFIG_VARIABLES.includes(n)),
      ["MY_FIREWORKS_KEY", "NOT_SET_ANYWHERE"],
      "only the interpolated names are added",
    );
    assert.match(run.stderr, /NOT_SET_ANYWHERE is not set/);
    run.child.kill("SIGTERM");
    assert.equal(await run.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
