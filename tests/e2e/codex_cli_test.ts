/**
 * The real Codex CLI (`@openai/codex`, pinned to 0.171.0, the version `npm view @openai/codex version` gave) against
 * modelpin's `POST /v1/responses`, offline, with scripted backends of both kinds: a chat-only one (404 to
 * `/v1/responses`, serves `/v1/chat/completions`) and a native one (serves `/v1/responses` with Responses events this
 * file writes).
 *
 * The CLI comes from `.tools/codex/` when cached there at the pinned version
 * (`npm install --prefix .tools/codex @openai/codex@0.171.0`); otherwise it is installed into a temporary directory,
 * removed when the module unloads; when npm cannot install it, every test is skipped and the reason printed.
 *
 * What Codex needed to run offline and non-interactively (all on its command line, no config file):
 * - modelpin as a custom provider: `-c model_provider=modelpin -c 'model_providers.modelpin={name, base_url, env_key,
 *   wire_api="responses", stream_max_retries=0, request_max_retries=0}'` (with the retries at 0 a failure shows at
 *   once instead of after up to 30 attempts). A custom provider never tries a WebSocket and fetches no `/models`;
 * - `CODEX_HOME` and `HOME` in a temporary directory, `--ignore-user-config`, `--skip-git-repo-check`, `--ephemeral`,
 *   `-c web_search="disabled"`, stdin `null` (it prints "Reading additional input from stdin..." and goes on), and
 *   `--dangerously-bypass-approvals-and-sandbox` so a tool call runs without a prompt or a sandbox, in a temporary cwd;
 *   `SHELL=/bin/bash` for `exec_command`;
 * - `-m gpt-5.5`, a model in its catalog: Codex then offers `exec_command` (`{cmd}`) and the freeform `apply_patch`
 *   custom tool (modelpin offers it to a chat backend as a function taking `{"input": patch}`). With `-m smart`
 *   (unknown to Codex: a "Model metadata for `smart` not found" item, harmless) there is no apply_patch, and the
 *   sub-agent tools come as the namespace `multi_agent_v1`, offered as `multi_agent_v1__close_agent` and so on;
 * - Codex's built-in `openai` provider: `-c openai_base_url="http://127.0.0.1:PORT/v1"` and `CODEX_API_KEY`. It
 *   cannot be given retry settings (`model_providers.openai` is reserved). NOTE: `OPENAI_BASE_URL` in the
 *   environment, which README.md names for this, is not read by 0.171.0: Codex then goes to api.openai.com (a DNS
 *   failure here, 5 WebSocket retries and "waiting for network" until the 60 s timeout), and `OPENAI_API_KEY` is not
 *   read by `codex exec` either (every request got modelpin's 401).
 *
 * Measured on the development machine (x86_64, from the cache): a `codex exec` run takes 0.5-0.85 s from spawn to
 * exit (1.3 s the first time after install), a turn with tool calls no longer; the whole file about 5-7 s. Installing
 * into a temporary directory takes 7-8 s (424 MB, the native binary included). Codex sends one `POST /v1/responses`
 * per model call and nothing else; on the chat-only route with `auto` the backend got the probe (`{}`, answered 404)
 * and then chat completions with `stream: true`, the route's model and key, `reasoning_effort`, and the tools
 * `exec_command`, `write_stdin`, `request_user_input`, `apply_patch`, `view_image`, `get_goal`, `create_goal`,
 * `update_goal`, `tool_search`. A backend 400 with code `context_length_exceeded` shows as Codex's own "ran out of
 * room in the model's context window" (the code survives the trip); other 400s show the backend's message.
 */

import assert from "node:assert/strict";
import { fakeBackend, jsonResponse, type Seen } from "../support/fake_backend.ts";
import { logLines, startProxy } from "../support/proxy.ts";

type Json = Record<string, unknown>;

const PINNED = "0.171.0";
const CLIENT_KEY = "sk-client-key-for-codex-0001";
const FAST_KEY = "sk-backend-key-codex-0002";
const FAST_MODEL = "vendor/codex-chat-model";
const CACHE_DIR = new URL("../../.tools/codex/", import.meta.url).pathname;
const RUN_TIMEOUT_MS = 60_000;

/** The version of `@openai/codex` installed under `prefix`, or undefined. */
async function installedVersion(prefix: string): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await Deno.readTextFile(`${prefix}/node_modules/@openai/codex/package.json`));
    await Deno.stat(`${prefix}/node_modules/.bin/codex`);
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** Finds or installs the CLI; returns its path and the temporary directory to remove, or why it is missing. */
async function locateCodex(): Promise<{ bin: string; tmp?: string } | { reason: string }> {
  if (await installedVersion(CACHE_DIR) === PINNED) return { bin: `${CACHE_DIR}node_modules/.bin/codex` };
  const tmp = await Deno.makeTempDir({ prefix: "modelpin-codex-" });
  try {
    const out = await new Deno.Command("npm", {
      args: ["install", "--prefix", tmp, "--no-audit", "--no-fund", "--loglevel=error", `@openai/codex@${PINNED}`],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    if (out.success && await installedVersion(tmp) === PINNED) return { bin: `${tmp}/node_modules/.bin/codex`, tmp };
    await Deno.remove(tmp, { recursive: true });
    return {
      reason: `npm install @openai/codex@${PINNED} failed: ${new TextDecoder().decode(out.stderr).slice(0, 300)}`,
    };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    return { reason: `npm is not available: ${err}` };
  }
}

const found = await locateCodex();
if ("reason" in found) console.log(`codex_cli_test: skipped: ${found.reason}`);
const ignore = "reason" in found;

// A CLI installed for this run goes when the test module does, whichever tests a filter picked.
if (!("reason" in found) && found.tmp) {
  const tmp = found.tmp;
  globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
}

/** What one `codex exec --json` run printed, parsed. */
interface CodexRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSONL events on stdout. */
  events: Json[];
  /** What `-o` wrote (the last agent message), or undefined. */
  lastMessage: string | undefined;
  /** Wall time of the run. */
  ms: number;
}

/**
 * Runs `codex exec --json` in `cwd` against the proxy, with a temporary CODEX_HOME and HOME, killed after
 * RUN_TIMEOUT_MS. `custom`: modelpin as a custom provider (the README's way); `builtin`: Codex's own `openai`
 * provider pointed at modelpin with `openai_base_url` (it tries a WebSocket first and cannot be told not to retry).
 */
async function codex(
  proxyUrl: string,
  prompt: string,
  cwd: string,
  provider: "custom" | "builtin" = "custom",
  model = "gpt-5.5",
): Promise<CodexRun> {
  if ("reason" in found) throw new Error(found.reason);
  const home = await Deno.makeTempDir({ prefix: "modelpin-codex-home-" });
  try {
    const custom = `{name="modelpin",base_url="${proxyUrl}/v1",env_key="MODELPIN_KEY",wire_api="responses",` +
      `stream_max_retries=0,request_max_retries=0}`;
    const providerArgs = provider === "custom"
      ? ["-c", "model_provider=modelpin", "-c", `model_providers.modelpin=${custom}`]
      : ["-c", `openai_base_url="${proxyUrl}/v1"`];
    const lastFile = `${home}/last-message.txt`;
    const started = performance.now();
    const out = await new Deno.Command(found.bin, {
      args: [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--ephemeral",
        "--ignore-user-config",
        "--dangerously-bypass-approvals-and-sandbox",
        ...providerArgs,
        "-c",
        'web_search="disabled"',
        "-m",
        model,
        "-o",
        lastFile,
        prompt,
      ],
      cwd,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        CODEX_HOME: home,
        SHELL: "/bin/bash",
        ...(provider === "custom" ? { MODELPIN_KEY: CLIENT_KEY } : { CODEX_API_KEY: CLIENT_KEY }),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const ms = performance.now() - started;
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Json);
    const lastMessage = await Deno.readTextFile(lastFile).catch(() => undefined);
    return { code: out.code, stdout, stderr: dec.decode(out.stderr), events, lastMessage, ms };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** The `item`s of `item.completed` events of a type. */
function completedItems(run: CodexRun, type: string): Json[] {
  return run.events.filter((e) => e.type === "item.completed").map((e) => e.item as Json).filter((i) =>
    i.type === type
  );
}

/** A readable account of a run for assertion messages. */
const told = (run: CodexRun) => `exit ${run.code} after ${run.ms.toFixed(0)} ms\n${run.stdout}\n${run.stderr}`;

// ------------------------------------------------------------------ backends

/** A chat answer: reasoning, text and tool calls, any of them; or a whole Response of the test's own. */
type Reply = { reasoning?: string; text?: string; calls?: { id: string; name: string; args: Json }[] } | Response;

/** A chat completion answer, streamed like OpenAI (role first, text and arguments in pieces) when asked. */
function chatAnswer(seen: Seen, reply: Exclude<Reply, Response>): Response {
  const usage = { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 };
  const calls = (reply.calls ?? []).map((c) => ({ ...c, args: JSON.stringify(c.args) }));
  const finish = calls.length > 0 ? "tool_calls" : "stop";
  if (seen.json?.stream !== true) {
    const message: Json = { role: "assistant", content: reply.text ?? null };
    if (reply.reasoning) message.reasoning_content = reply.reasoning;
    if (calls.length > 0) {
      message.tool_calls = calls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: c.args },
      }));
    }
    return jsonResponse({
      id: "chatcmpl-codex",
      object: "chat.completion",
      created: 1,
      model: "b",
      choices: [{ index: 0, message, finish_reason: finish }],
      usage,
    });
  }
  const ev = (o: Json) =>
    `data: ${
      JSON.stringify({ id: "chatcmpl-codex", object: "chat.completion.chunk", created: 1, model: "b", ...o })
    }\n\n`;
  const delta = (d: Json) => ev({ choices: [{ index: 0, delta: d, finish_reason: null }] });
  const halves = (t: string) => [t.slice(0, Math.ceil(t.length / 2)), t.slice(Math.ceil(t.length / 2))];
  let body = delta({ role: "assistant", content: "" });
  for (const piece of reply.reasoning ? halves(reply.reasoning) : []) body += delta({ reasoning_content: piece });
  for (const piece of reply.text ? halves(reply.text) : []) body += delta({ content: piece });
  calls.forEach((c, index) => {
    body += delta({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] });
    const third = Math.ceil(c.args.length / 3);
    for (let i = 0; i < c.args.length; i += third) {
      body += delta({ tool_calls: [{ index, function: { arguments: c.args.slice(i, i + third) } }] });
    }
  });
  body += ev({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }) + ev({ choices: [], usage }) +
    "data: [DONE]\n\n";
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/** A backend with only chat completions: its `/v1/responses` is a 404, as on vLLM before 0.10 or llama.cpp. */
function chatOnlyBackend(script: (seen: Seen) => Reply) {
  return fakeBackend((seen) => {
    if (seen.path !== "/v1/chat/completions") {
      return jsonResponse({ error: { message: `no route for ${seen.method} ${seen.path}` } }, 404);
    }
    const reply = script(seen);
    return reply instanceof Response ? reply : chatAnswer(seen, reply);
  });
}

/** The tool functions a chat request offers, by name. */
function offeredTools(seen: Seen): Map<string, Json> {
  const tools = (seen.json?.tools ?? []) as Json[];
  return new Map(tools.map((t) => [String((t.function as Json)?.name), t]));
}

/** The chat requests a backend got. */
const chats = (seen: Seen[]) => seen.filter((s) => s.path === "/v1/chat/completions");

/** A Responses object as OpenAI sends it. */
function responseObject(status: string, output: Json[]): Json {
  return {
    id: "resp_native_1",
    object: "response",
    created_at: 1,
    status,
    model: "native-backend-model",
    output,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: "auto",
    tools: [],
    usage: status === "completed"
      ? {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 15,
      }
      : null,
  };
}

/** The Responses events of a text answer, each with `event:` and `sequence_number`, as OpenAI streams them. */
function nativeTextStream(text: string): string {
  const msg = (status: string, content: Json[]) => ({
    id: "msg_native_1",
    type: "message",
    role: "assistant",
    status,
    content,
  });
  const part = (t: string) => ({ type: "output_text", text: t, annotations: [] });
  const at = { output_index: 0, item_id: "msg_native_1", content_index: 0 };
  const events: Json[] = [
    { type: "response.created", response: responseObject("in_progress", []) },
    { type: "response.in_progress", response: responseObject("in_progress", []) },
    { type: "response.output_item.added", output_index: 0, item: msg("in_progress", []) },
    { type: "response.content_part.added", ...at, part: part("") },
    { type: "response.output_text.delta", ...at, delta: text.slice(0, 5), logprobs: [] },
    { type: "response.output_text.delta", ...at, delta: text.slice(5), logprobs: [] },
    { type: "response.output_text.done", ...at, text, logprobs: [] },
    { type: "response.content_part.done", ...at, part: part(text) },
    { type: "response.output_item.done", output_index: 0, item: msg("completed", [part(text)]) },
    { type: "response.completed", response: responseObject("completed", [msg("completed", [part(text)])]) },
  ];
  return events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join("");
}

/** The Responses events of one function call, as OpenAI streams them. */
function nativeCallStream(callId: string, name: string, args: string): string {
  const item = {
    id: "fc_native_1",
    type: "function_call",
    status: "completed",
    call_id: callId,
    name,
    arguments: args,
  };
  const at = { output_index: 0, item_id: item.id };
  const events: Json[] = [
    { type: "response.created", response: responseObject("in_progress", []) },
    { type: "response.in_progress", response: responseObject("in_progress", []) },
    { type: "response.output_item.added", output_index: 0, item: { ...item, status: "in_progress", arguments: "" } },
    { type: "response.function_call_arguments.delta", ...at, delta: args },
    { type: "response.function_call_arguments.done", ...at, name, arguments: args },
    { type: "response.output_item.done", output_index: 0, item },
    { type: "response.completed", response: responseObject("completed", [item]) },
  ];
  return events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join("");
}

/** A backend with the Responses API: OpenAI's 400 for the probe's model-less `{}`, else `script`'s events. */
function nativeBackend(script: (seen: Seen) => string) {
  return fakeBackend((seen) => {
    if (seen.path !== "/v1/responses") return jsonResponse({ error: { message: "not here" } }, 404);
    if (seen.json?.model === undefined) {
      return jsonResponse({
        error: {
          message: "Missing required parameter: 'model'.",
          type: "invalid_request_error",
          param: "model",
          code: "missing_required_parameter",
        },
      }, 400);
    }
    return new Response(script(seen), { headers: { "content-type": "text/event-stream" } });
  });
}

const env = (url: string, way: string) => ({
  FAST_BASE_URL: url,
  FAST_API_KEY: FAST_KEY,
  FAST_MODEL_NAME: FAST_MODEL,
  FAST_RESPONSES_API: way,
  PROXY_API_KEYS: CLIENT_KEY,
});

/** A temporary working directory for Codex, removed after `fn`. */
async function inTempCwd<T>(fn: (cwd: string) => Promise<T>): Promise<T> {
  const cwd = await Deno.makeTempDir({ prefix: "modelpin-codex-cwd-" });
  try {
    return await fn(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

// ------------------------------------------------------------------ tests

Deno.test({
  name:
    "codex exec, chat-only backend, FAST_RESPONSES_API=auto: the probe's 404 makes it translate; Codex prints the text",
  ignore,
  async fn() {
    await using backend = chatOnlyBackend(() => ({ text: "codex-hears-the-chat-backend" }));
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "say hello", cwd));
    assert.equal(run.code, 0, told(run));
    assert.deepEqual(completedItems(run, "agent_message").map((i) => i.text), ["codex-hears-the-chat-backend"]);
    assert.equal(run.lastMessage?.trim(), "codex-hears-the-chat-backend");
    assert.ok(run.events.some((e) => e.type === "turn.completed"), told(run));

    const [probe, chat, ...rest] = backend.seen;
    assert.deepEqual(
      [probe.method, probe.path, probe.body],
      ["POST", "/v1/responses", "{}"],
      "the probe names no model",
    );
    assert.equal(probe.headers.get("authorization"), `Bearer ${FAST_KEY}`);
    assert.equal(chat.path, "/v1/chat/completions", "the 404 sent the request on as a chat completion");
    assert.deepEqual(rest, [], "one model call, nothing else");
    assert.equal(chat.json?.model, FAST_MODEL);
    assert.equal(chat.json?.stream, true);
    assert.equal(chat.headers.get("authorization"), `Bearer ${FAST_KEY}`, "the route's key, not Codex's");
    const messages = chat.json?.messages as Json[];
    assert.ok(messages.some((m) => m.role === "user" && JSON.stringify(m.content).includes("say hello")));
    assert.equal(messages[0].role, "system", "Codex's developer prompt becomes the system message");
    const tools = offeredTools(chat);
    assert.ok(tools.has("exec_command") || tools.has("shell"), `a shell tool is offered: ${[...tools.keys()]}`);
    assert.ok(!("client_metadata" in chat.json!) && !("store" in chat.json!) && !("include" in chat.json!));
    assert.match(
      (await logLines(proxy))[0],
      /POST \/v1\/responses model=gpt-5\.5 -> fast:vendor\/codex-chat-model 200/,
    );
  },
});

Deno.test({
  name: "codex exec, native backend, FAST_RESPONSES_API=auto: the probe's 400 makes it native; Codex prints the text",
  ignore,
  async fn() {
    await using backend = nativeBackend(() => nativeTextStream("codex-hears-the-native-backend"));
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "say hello natively", cwd));
    assert.equal(run.code, 0, told(run));
    assert.deepEqual(completedItems(run, "agent_message").map((i) => i.text), ["codex-hears-the-native-backend"]);
    assert.equal(run.lastMessage?.trim(), "codex-hears-the-native-backend");

    assert.deepEqual(backend.seen.map((s) => [s.path, s.json?.model]), [
      ["/v1/responses", undefined],
      ["/v1/responses", FAST_MODEL],
    ]);
    const sent = backend.seen[1].json!;
    assert.equal(sent.stream, true);
    assert.equal(sent.store, false, "Codex's own fields go as they are");
    assert.ok("client_metadata" in sent, "a native backend gets even what a chat backend could not take");
    assert.ok((sent.tools as Json[]).some((t) => t.type === "custom" && t.name === "apply_patch"));
    assert.equal(backend.seen[1].headers.get("authorization"), `Bearer ${FAST_KEY}`);
  },
});

Deno.test({
  name: "codex exec, native backend (native): an exec_command call runs and its output goes back as an item",
  ignore,
  async fn() {
    await using backend = nativeBackend((seen) => {
      const input = seen.json!.input as Json[];
      if (input.some((i) => i.type === "function_call_output")) return nativeTextStream("native tool round trip done");
      return nativeCallStream("call_native_sh", "exec_command", JSON.stringify({ cmd: "echo native-tool-ok" }));
    });
    await using proxy = await startProxy(env(backend.baseUrl, "native"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "run it natively", cwd));
    assert.equal(run.code, 0, told(run));
    assert.match(String(completedItems(run, "command_execution")[0]?.aggregated_output), /native-tool-ok/, told(run));
    assert.equal(run.lastMessage?.trim(), "native tool round trip done");
    assert.equal(backend.seen.length, 2, "native: no probe, two model calls");
    const input = backend.seen[1].json!.input as Json[];
    const call = input.find((i) => i.type === "function_call")!;
    const output = input.find((i) => i.type === "function_call_output")!;
    assert.deepEqual([call.call_id, call.name], ["call_native_sh", "exec_command"]);
    assert.equal(output.call_id, "call_native_sh");
    assert.match(JSON.stringify(output.output), /native-tool-ok/);
    assert.equal(backend.seen[1].json!.model, FAST_MODEL);
  },
});

Deno.test({
  name: "codex exec, chat-only backend: a shell tool call runs and its output comes back as a role:tool message",
  ignore,
  async fn() {
    let shellTool = "";
    await using backend = chatOnlyBackend((seen) => {
      const messages = (seen.json?.messages ?? []) as Json[];
      const result = messages.find((m) => m.role === "tool");
      if (result) return { text: "the shell said its piece" };
      const tools = offeredTools(seen);
      // Catalog models get unified exec (`exec_command {cmd}`); older shapes are `shell {command: [...]}`.
      if (tools.has("exec_command")) {
        shellTool = "exec_command";
        return { calls: [{ name: "exec_command", id: "call_shell_1", args: { cmd: "echo modelpin-codex-tool-ok" } }] };
      }
      shellTool = "shell";
      const args = { command: ["bash", "-lc", "echo modelpin-codex-tool-ok"] };
      return { calls: [{ name: "shell", id: "call_shell_1", args }] };
    });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "run the marker command", cwd));
    assert.equal(run.code, 0, told(run));
    assert.equal(shellTool, "exec_command", "gpt-5.5 is a catalog model: unified exec");

    const commands = completedItems(run, "command_execution");
    assert.equal(commands.length, 1, told(run));
    assert.match(String(commands[0].command), /echo modelpin-codex-tool-ok/);
    assert.match(String(commands[0].aggregated_output), /modelpin-codex-tool-ok/);
    assert.equal(commands[0].exit_code, 0);
    assert.equal(run.lastMessage?.trim(), "the shell said its piece");

    const sent = chats(backend.seen);
    assert.equal(sent.length, 2, "the tool call, then its output");
    const messages = sent[1].json!.messages as Json[];
    const at = messages.findIndex((m) => m.role === "tool");
    assert.ok(at > 0, JSON.stringify(messages.slice(-3)));
    assert.equal(messages[at].tool_call_id, "call_shell_1");
    assert.match(String(messages[at].content), /modelpin-codex-tool-ok/);
    const call = (messages[at - 1].tool_calls as Json[])[0];
    assert.equal(messages[at - 1].role, "assistant", "the assistant's call precedes its output");
    assert.equal(call.id, "call_shell_1");
    assert.deepEqual((call.function as Json).name, "exec_command");
    assert.deepEqual(JSON.parse(String((call.function as Json).arguments)), { cmd: "echo modelpin-codex-tool-ok" });
  },
});

Deno.test({
  name: "codex exec, chat-only backend: reasoning and two parallel exec_command calls: both run, both outputs return",
  ignore,
  async fn() {
    await using backend = chatOnlyBackend((seen) => {
      const messages = (seen.json?.messages ?? []) as Json[];
      if (messages.some((m) => m.role === "tool")) return { text: "both ran" };
      return {
        reasoning: "Two markers, so two commands.",
        calls: [
          { name: "exec_command", id: "call_par_a", args: { cmd: "echo marker-alpha" } },
          { name: "exec_command", id: "call_par_b", args: { cmd: "echo marker-beta" } },
        ],
      };
    });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "print both markers", cwd));
    assert.equal(run.code, 0, told(run));
    const outputs = completedItems(run, "command_execution").map((c) => String(c.aggregated_output).trim()).sort();
    assert.deepEqual(outputs, ["marker-alpha", "marker-beta"], told(run));
    assert.equal(run.lastMessage?.trim(), "both ran");

    const sent = chats(backend.seen);
    assert.equal(sent.length, 2);
    const messages = sent[1].json!.messages as Json[];
    const at = messages.findIndex((m) => Array.isArray(m.tool_calls));
    const assistant = messages[at];
    assert.deepEqual((assistant.tool_calls as Json[]).map((c) => c.id), ["call_par_a", "call_par_b"], "one message");
    assert.equal(assistant.reasoning_content, "Two markers, so two commands.", "Codex echoed the reasoning item");
    const results = messages.slice(at + 1, at + 3);
    assert.deepEqual(results.map((m) => [m.role, m.tool_call_id]), [["tool", "call_par_a"], ["tool", "call_par_b"]]);
    assert.match(String(results[0].content), /marker-alpha/);
    assert.match(String(results[1].content), /marker-beta/);
  },
});

Deno.test({
  name: "codex exec -m smart: the smart route; a call to one of Codex's namespace tools reaches its handler",
  ignore,
  async fn() {
    let offered: string[] = [];
    await using fast = chatOnlyBackend(() => ({ text: "the fast route should not be asked" }));
    await using smart = chatOnlyBackend((seen) => {
      const messages = (seen.json?.messages ?? []) as Json[];
      if (messages.some((m) => m.role === "tool")) return { text: "namespace call answered" };
      offered = [...offeredTools(seen).keys()];
      return { calls: [{ name: "multi_agent_v1__close_agent", id: "call_ns_1", args: { target: "no-such-agent" } }] };
    });
    await using proxy = await startProxy({
      ...env(fast.baseUrl, "translate"),
      SMART_BASE_URL: smart.baseUrl,
      SMART_API_KEY: "sk-backend-key-codex-smart-3",
      SMART_MODEL_NAME: "vendor/codex-smart-model",
    });
    const run = await inTempCwd((cwd) => codex(proxy.url, "close the agent", cwd, "custom", "smart"));
    assert.equal(run.code, 0, told(run));
    assert.equal(run.lastMessage?.trim(), "namespace call answered");
    assert.equal(fast.seen.length, 0);
    const sent = chats(smart.seen);
    assert.equal(sent.length, 2);
    assert.equal(sent[0].json?.model, "vendor/codex-smart-model");
    // `smart` is no model Codex knows: no apply_patch, but its sub-agent tools as a namespace.
    assert.ok(offered.includes("multi_agent_v1__close_agent"), offered.join(", "));
    assert.ok(!offered.includes("apply_patch"), offered.join(", "));
    const messages = sent[1].json!.messages as Json[];
    const result = messages.find((m) => m.role === "tool")!;
    assert.equal(result.tool_call_id, "call_ns_1");
    // Without `namespace` on the call Codex answers "unsupported call: close_agent"; its handler names the agent id.
    assert.doesNotMatch(String(result.content), /unsupported call/);
    assert.match(String(result.content), /agent id/);
  },
});

Deno.test({
  name: "codex exec, chat-only backend: a backend 400 fails the turn with the backend's message, asked once",
  ignore,
  async fn() {
    await using backend = chatOnlyBackend(() =>
      jsonResponse({
        error: {
          message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
          type: "invalid_request_error",
          code: "unsupported_parameter",
          param: "reasoning_effort",
        },
      }, 400)
    );
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "say hello", cwd));
    assert.equal(run.code, 1, told(run));
    const failed = run.events.find((e) => e.type === "turn.failed");
    assert.ok(failed, told(run));
    assert.match(JSON.stringify(failed), /Unsupported parameter: 'reasoning_effort'/);
    assert.equal(chats(backend.seen).length, 1);
    assert.equal(run.lastMessage?.trim() ?? "", "");
  },
});

Deno.test({
  name: "codex exec, chat-only backend: a stream cut short fails the turn, never completes it",
  ignore,
  async fn() {
    const chunk = {
      id: "chatcmpl-codex",
      object: "chat.completion.chunk",
      created: 1,
      model: "b",
      choices: [{ index: 0, delta: { role: "assistant", content: "half an ans" }, finish_reason: null }],
    };
    // Text, then the end of the body: no finish reason, no [DONE].
    await using backend = chatOnlyBackend(() =>
      new Response(`data: ${JSON.stringify(chunk)}\n\n`, { headers: { "content-type": "text/event-stream" } })
    );
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "say hello", cwd));
    assert.equal(run.code, 1, told(run));
    const failed = run.events.find((e) => e.type === "turn.failed");
    assert.match(JSON.stringify(failed), /the backend ended the stream before the answer was finished/, told(run));
    assert.ok(!run.events.some((e) => e.type === "turn.completed"), told(run));
    assert.deepEqual(completedItems(run, "agent_message"), [], "half an answer is no answer");
    assert.equal(chats(backend.seen).length, 1, "stream_max_retries=0: asked once");
    assert.match((await logLines(proxy))[0], /stream end=truncated /);
  },
});

Deno.test({
  name: "codex exec, built-in openai provider: its WebSocket attempt gets a 426 and it goes on over HTTP at once",
  ignore,
  async fn() {
    await using backend = chatOnlyBackend(() => ({ text: "codex-built-in-provider-over-http" }));
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const run = await inTempCwd((cwd) => codex(proxy.url, "say hello", cwd, "builtin"));
    assert.equal(run.code, 0, told(run));
    assert.equal(run.lastMessage?.trim(), "codex-built-in-provider-over-http");
    assert.deepEqual(run.events.filter((e) => e.type === "error"), [], "no 'Reconnecting...': the 426 is final");
    assert.deepEqual(completedItems(run, "error"), [], "no 'Falling back from WebSockets' after retries");
    const lines = await logLines(proxy);
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(lines[0], /GET \/v1\/responses model=- 426 /);
    assert.match(lines[1], /POST \/v1\/responses model=gpt-5\.5 -> fast:vendor\/codex-chat-model 200 /);
    assert.deepEqual(backend.seen.map((s) => s.path), ["/v1/chat/completions"], "the upgrade never reached it");
  },
});

Deno.test({
  name: "codex exec, chat-only backend: an apply_patch call creates the file and its result comes back as role:tool",
  ignore,
  async fn() {
    const patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n";
    let applyPatch: Json | undefined;
    await using backend = chatOnlyBackend((seen) => {
      const messages = (seen.json?.messages ?? []) as Json[];
      if (messages.some((m) => m.role === "tool")) return { text: "patched" };
      applyPatch = offeredTools(seen).get("apply_patch");
      return { calls: [{ name: "apply_patch", id: "call_patch_1", args: { input: patch } }] };
    });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const { run, file } = await inTempCwd(async (cwd) => {
      const run = await codex(proxy.url, "create hello.txt", cwd);
      return { run, file: await Deno.readTextFile(`${cwd}/hello.txt`).catch((e) => `(not created: ${e})`) };
    });
    assert.equal(run.code, 0, told(run));
    // Codex's custom (freeform) tool, offered to the chat backend as a function taking {"input": ...}.
    const params = (applyPatch?.function as Json)?.parameters as Json;
    assert.deepEqual(Object.keys(params.properties as Json), ["input"]);
    assert.equal(file, "hello\n", told(run));
    const changes = completedItems(run, "file_change");
    assert.equal(changes.length, 1, told(run));
    assert.equal(changes[0].status, "completed");
    assert.equal(run.lastMessage?.trim(), "patched");

    const sent = chats(backend.seen);
    assert.equal(sent.length, 2);
    const messages = sent[1].json!.messages as Json[];
    const at = messages.findIndex((m) => m.role === "tool");
    assert.ok(at > 0, JSON.stringify(messages.slice(-3)));
    assert.equal(messages[at].tool_call_id, "call_patch_1");
    assert.match(String(messages[at].content), /hello\.txt/);
    const call = (messages[at - 1].tool_calls as Json[])[0];
    assert.equal(call.id, "call_patch_1");
    assert.equal((call.function as Json).name, "apply_patch");
    assert.deepEqual(JSON.parse(String((call.function as Json).arguments)), { input: patch });
  },
});
