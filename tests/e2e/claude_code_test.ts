/**
 * The real Claude Code CLI (`@anthropic-ai/claude-code`) against modelpin's
 * `/v1/messages`, offline, with a scripted OpenAI backend: `claude -p`
 * prints the backend's text, and a Bash tool call the backend asks for runs
 * and its output comes back to the backend as a `role: "tool"` message.
 *
 * The CLI comes from `.tools/claude-code/` when cached there
 * (`npm install --prefix .tools/claude-code @anthropic-ai/claude-code`);
 * otherwise it is installed into a temporary directory and removed after.
 */

import assert from "node:assert/strict";
import { fakeBackend, jsonResponse, type Seen } from "../support/fake_backend.ts";
import { startProxy } from "../support/proxy.ts";
import { MODELS, oneRoute } from "../support/routes.ts";

const CLIENT_KEY = "sk-client-key-for-claude-code";
const CACHED = new URL("../../.tools/claude-code/node_modules/.bin/claude", import.meta.url).pathname;
type Json = Record<string, unknown>;

/** Finds or installs the CLI; returns its path and the temporary directory to remove, or why it is missing. */
async function locateClaude(): Promise<{ bin: string; tmp?: string } | { reason: string }> {
  try {
    await Deno.stat(CACHED);
    return { bin: CACHED };
  } catch { /* not cached: install below */ }
  const tmp = await Deno.makeTempDir({ prefix: "modelpin-claude-code-" });
  try {
    const out = await new Deno.Command("npm", {
      args: ["install", "--prefix", tmp, "--no-audit", "--no-fund", "--loglevel=error", "@anthropic-ai/claude-code"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return { bin: `${tmp}/node_modules/.bin/claude`, tmp };
    await Deno.remove(tmp, { recursive: true });
    return {
      reason: `npm install @anthropic-ai/claude-code failed: ${new TextDecoder().decode(out.stderr).slice(0, 300)}`,
    };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    return { reason: `npm is not available: ${err}` };
  }
}

const found = await locateClaude();
if ("reason" in found) console.log(`claude_code_test: skipped: ${found.reason}`);
const ignore = "reason" in found;

/** Removes a CLI installed for this run once the last test is done. */
async function cleanup(): Promise<void> {
  if (!("reason" in found) && found.tmp) await Deno.remove(found.tmp, { recursive: true }).catch(() => {});
}

/** Runs `claude -p` against the proxy with a temporary HOME and everything nonessential off. */
async function claude(proxyUrl: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if ("reason" in found) throw new Error(found.reason);
  const home = await Deno.makeTempDir({ prefix: "modelpin-claude-home-" });
  try {
    const out = await new Deno.Command(found.bin, {
      args,
      cwd: home,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        ANTHROPIC_BASE_URL: proxyUrl,
        ANTHROPIC_AUTH_TOKEN: CLIENT_KEY,
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_ERROR_REPORTING: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        CLAUDE_CODE_MAX_RETRIES: "0",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(25_000),
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** An OpenAI answer with text or one tool call, streamed when the request asks for a stream. */
function answer(seen: Seen, reply: { text: string } | { tool: string; args: Json }): Response {
  const message: Json = "text" in reply ? { role: "assistant", content: reply.text } : {
    role: "assistant",
    content: null,
    tool_calls: [{
      id: "call_cc1",
      type: "function",
      function: { name: reply.tool, arguments: JSON.stringify(reply.args) },
    }],
  };
  const finish = "text" in reply ? "stop" : "tool_calls";
  const usage = { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 };
  if (seen.json?.stream !== true) {
    return jsonResponse({
      id: "chatcmpl-cc",
      object: "chat.completion",
      model: "b",
      choices: [{ index: 0, message, finish_reason: finish }],
      usage,
    });
  }
  const ev = (o: Json) =>
    `data: ${JSON.stringify({ id: "chatcmpl-cc", object: "chat.completion.chunk", model: "b", ...o })}\n\n`;
  const delta = "text" in reply
    ? { role: "assistant", content: reply.text }
    : { role: "assistant", tool_calls: [{ index: 0, ...(message.tool_calls as Json[])[0] }] };
  const body = ev({ choices: [{ index: 0, delta, finish_reason: null }] }) +
    ev({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }) + ev({ choices: [], usage }) + "data: [DONE]\n\n";
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/** One route, and inbound auth on, for the CLI's key. */
const env = (url: string) => oneRoute(url, { PROXY_API_KEYS: CLIENT_KEY });

/** Whether a backend request is Claude Code's main turn (it offers the Bash tool). */
const offersBash = (s: Seen) =>
  Array.isArray(s.json?.tools) && (s.json!.tools as Json[]).some((t) => (t.function as Json)?.name === "Bash");

Deno.test({
  name: "claude code: claude -p prints the backend's text",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using backend = fakeBackend((s) => answer(s, { text: "modelpin-backend-says-hello" }));
    await using proxy = await startProxy(env(backend.baseUrl));
    const run = await claude(proxy.url, ["-p", "say hello"]);
    assert.equal(run.code, 0, `claude failed: ${run.stderr}${run.stdout}`);
    assert.equal(run.stdout.trim(), "modelpin-backend-says-hello");
    const main = backend.seen.find(offersBash);
    assert.ok(main, `a main turn reached the backend (saw ${backend.seen.length} requests)`);
    assert.equal(main.json!.model, MODELS.fast);
    for (const [name] of main.headers) assert.ok(!name.startsWith("anthropic-"), `${name} forwarded`);
  },
});

Deno.test({
  name: "claude code: a Bash tool call runs and its output comes back as a role:tool message",
  ignore,
  sanitizeResources: false,
  async fn() {
    try {
      await using backend = fakeBackend((s) => {
        const messages = (s.json?.messages ?? []) as Json[];
        const result = messages.find((m) => m.role === "tool");
        if (!offersBash(s)) return answer(s, { text: "background" });
        if (result) return answer(s, { text: `the tool said: ${String(result.content).trim()}` });
        return answer(s, { tool: "Bash", args: { command: "echo modelpin-tool-ok", description: "print a marker" } });
      });
      await using proxy = await startProxy(env(backend.baseUrl));
      const run = await claude(proxy.url, ["-p", "run the marker command", "--allowedTools", "Bash(echo:*)"]);
      assert.equal(run.code, 0, `claude failed: ${run.stderr}${run.stdout}`);
      const withResult = backend.seen.filter(offersBash).find((
        s,
      ) => ((s.json!.messages as Json[]).some((m) => m.role === "tool")));
      assert.ok(withResult, "the tool's output came back");
      const messages = withResult.json!.messages as Json[];
      const at = messages.findIndex((m) => m.role === "tool");
      assert.equal(messages[at].tool_call_id, "call_cc1");
      assert.match(String(messages[at].content), /modelpin-tool-ok/);
      assert.equal((messages[at - 1].tool_calls as Json[])[0].id, "call_cc1", "the assistant's tool call precedes it");
      assert.match(run.stdout, /the tool said: modelpin-tool-ok/);
    } finally {
      await cleanup();
    }
  },
});
