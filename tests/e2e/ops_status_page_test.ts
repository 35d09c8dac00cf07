/**
 * The status page in a real headless Chromium (Debian's /usr/bin/chromium,
 * driven by npm:playwright-core): both routes render, new requests appear
 * without a reload, a fallback shows, auth asks for a key, and a hostile
 * model name stays text. Skipped, with the reason, where Chromium is missing.
 *
 * Set MODELPIN_STATUS_SCREENSHOT=/abs/path/status-page.png to also write the
 * README's screenshot (light theme, with some traffic). Chromium runs in its
 * own process (tests/support/browser_driver.ts).
 */

import assert from "node:assert/strict";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { chat, twoRoutes } from "../support/routes.ts";
import { fixedSse } from "../support/wire.ts";
import { browserMissing, openBrowser } from "../support/browser.ts";

const MISSING = browserMissing();
if (MISSING) console.log(`ops_status_page: ${MISSING}: skipped`);

const PROXY_KEY = "sk-proxy-browser-99887766";
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

/** fast answers 503 (so requests fall back to smart); smart answers JSON or a stream with usage. */
function backends() {
  const fast = fakeBackend(() => jsonResponse({ error: { message: "overloaded" } }, 503));
  const smart = fakeBackend((seen) =>
    seen.json?.stream
      ? fixedSse([
        'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n',
        'data: {"choices":[],"usage":{"prompt_tokens":42,"completion_tokens":17}}\n\n',
        "data: [DONE]\n\n",
      ])
      : jsonResponse({ ...completion("hi"), usage: { prompt_tokens: 120, completion_tokens: 35 } })
  );
  return { fast, smart };
}

/** In place of MODELS, model names as real as the README's screenshot shows them; and the breaker off. */
const PAGE_SETUP = {
  FAST_MODEL_NAME: "accounts/fireworks/models/deepseek-v4-pro",
  SMART_MODEL_NAME: "gpt-5-thinking",
  PROXY_BREAKER_FAILURES: "0",
};

/** Sends a chat completion for `model` through the proxy and reads the answer whole: its status. */
async function chatStatus(proxy: TestProxy, model: string, stream = false, headers: Record<string, string> = {}) {
  const res = await chat(proxy, model, { stream }, headers);
  await res.text();
  return res.status;
}

const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: MISSING !== undefined, fn });

test("status page: renders both routes and shows a hostile model name as text, never markup", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, PAGE_SETUP));
  assert.equal(await chatStatus(proxy, HOSTILE), 200);
  await using page = await openBrowser();
  await page.do("goto", { url: `${proxy.url}/` });
  await page.do("wait", { selector: "section.route[data-route=smart]" });
  const routes: string[] = await page.do("texts", { selector: "section.route" });
  assert.equal(routes.length, 2);
  assert.match(routes[0], new RegExp(`127\\.0\\.0\\.1:${fast.port}`));
  assert.match(routes[0], /accounts\/fireworks\/models\/deepseek-v4-pro/);
  assert.match(routes[1], /gpt-5-thinking/);
  assert.match(routes[1], /tokens in \/ out120 \/ 35/);
  const row: string = await page.do("text", { selector: "#recent tr.req" });
  assert.ok(row.includes(HOSTILE), `the model name is shown literally: ${row}`);
  assert.equal(await page.do("eval", { expr: "window.__pwned === undefined" }), true, "no handler ran");
  assert.equal(await page.do("eval", { expr: "document.querySelectorAll('img').length" }), 0, "no element made of it");
});

test("status page: updates after new requests without a reload and shows the fallback and its reason", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, PAGE_SETUP));
  await using page = await openBrowser();
  await page.do("goto", { url: `${proxy.url}/` });
  await page.do("wait", { selector: "text=no requests yet" });
  await page.do("eval", { expr: "window.__samePage = true" });
  assert.equal(await chatStatus(proxy, "fast", true), 200);
  await page.do("wait", { selector: "#recent tr.req td.fallback" });
  const row: string = await page.do("text", { selector: "#recent tr.req" });
  assert.match(row, /status_503/);
  assert.match(row, /fast → smart:gpt-5-thinking/);
  assert.match(row, /stream/);
  const fastCard: string = await page.do("text", { selector: "section.route[data-route=fast]" });
  assert.match(fastCard, /fallbacks1/);
  assert.match(fastCard, /status_5xx: HTTP 503: overloaded/);
  assert.equal(await page.do("eval", { expr: "window.__samePage" }), true, "the page was not reloaded");
  assert.equal(await page.do("navigations"), 0);
  const screenshot = Deno.env.get("MODELPIN_STATUS_SCREENSHOT");
  if (screenshot) {
    for (const m of ["gpt-4", "smart", "claude-sonnet", "fast"]) await chatStatus(proxy, m, m === "smart");
    await page.do("wait", { selector: "#recent tr.req:nth-child(5)" });
    await page.do("screenshot", { path: screenshot });
  }
});

test("status page: with auth on it holds no data, asks for a key once and then shows the routes", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...PAGE_SETUP, PROXY_API_KEYS: PROXY_KEY }),
  );
  assert.equal(await chatStatus(proxy, "gpt-4", false, { authorization: `Bearer ${PROXY_KEY}` }), 200);
  await using page = await openBrowser();
  await page.do("goto", { url: `${proxy.url}/` });
  await page.do("wait", { selector: "#login", state: "visible" });
  assert.ok(!(await page.do("content")).includes("gpt-5-thinking"), "no data before the key");
  await page.do("fill", { selector: "#key", value: "wrong-key-123456789" });
  await page.do("click", { selector: "button[type=submit]" });
  await page.do("wait", { selector: "#keyerr", state: "visible" });
  await page.do("fill", { selector: "#key", value: PROXY_KEY });
  await page.do("click", { selector: "button[type=submit]" });
  await page.do("wait", { selector: "section.route[data-route=smart]" });
  assert.equal(await page.do("visible", { selector: "#login" }), false);
  assert.equal(await page.do("eval", { expr: "sessionStorage.getItem('modelpin-key')" }), PROXY_KEY);
  assert.equal(await page.do("eval", { expr: "localStorage.length" }), 0);
  await page.do("reload");
  await page.do("wait", { selector: "section.route[data-route=smart]" }); // the session's key is reused
  assert.equal(await page.do("visible", { selector: "#login" }), false);
});
