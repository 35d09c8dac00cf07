/**
 * The status page served at `GET /` to browsers: one self-contained HTML
 * document (no external scripts, fonts or CDNs) that polls `/status.json`
 * every 2 s. It holds no data itself; with auth on it asks for a key once,
 * keeps it in sessionStorage and sends it as `Authorization: Bearer`. Every
 * value is put into the page with `textContent`, never parsed as markup.
 *
 * @module
 */

/** Where the page polls its data. */
export const STATUS_JSON_PATH = "/status.json";

/** How often the page polls, in ms. */
const POLL_MS = 2000;

/**
 * The Content-Security-Policy sent with the page: its own inline script and
 * style only, data only from this origin, no images or frames at all. Even
 * markup that slipped in could load nothing.
 */
export const STATUS_PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1b1f24; --muted: #5b6470; --line: #d9dde3;
  --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --accent: #0b5cad; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1216; --card: #181c22; --fg: #e6e9ed; --muted: #9aa4b0;
  --line: #2c323a; --ok: #4ac26b; --bad: #ff6b6b; --warn: #e3b341; --accent: #6cb6ff; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.4 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 12px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 16px; margin-bottom: 12px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 16px; margin: 18px 0 8px; }
.muted { color: var(--muted); }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; border: 1px solid var(--line); font-size: 13px; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.routes { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; }
.card h3 { margin: 0 0 4px; font-size: 17px; display: flex; justify-content: space-between; gap: 8px; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin-top: 8px; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; overflow-wrap: anywhere; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.model { max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
th { color: var(--muted); font-weight: 600; }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
input { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card);
  color: var(--fg); min-width: 240px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; }
[hidden] { display: none !important; }
`;

// The script only ever writes data with textContent; the fixed skeleton above is the only markup.
const SCRIPT = `
"use strict";
const PATH = ${JSON.stringify(STATUS_JSON_PATH)};
const KEY = "modelpin-key";
const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function fmtMs(ms) { return ms === null || ms === undefined ? "-" : ms < 1000 ? ms.toFixed(0) + " ms" : (ms / 1000).toFixed(2) + " s"; }
function fmtUptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m + "m " + (s % 60) + "s";
}
function fmtTime(iso) { const d = new Date(iso); return isNaN(d) ? "-" : d.toLocaleTimeString(); }
function breakerText(b) {
  if (b.state === "cooling") return "cooling until " + fmtTime(b.until);
  return b.state === "probing" ? "probing" : "healthy";
}
function renderRoute(r) {
  const card = el("section", "card route");
  card.dataset.route = r.name;
  const h = el("h3");
  h.append(el("span", "", r.name));
  const cls = r.breaker.state === "closed" ? "ok" : r.breaker.state === "cooling" ? "bad" : "warn";
  h.append(el("span", "pill breaker " + cls, breakerText(r.breaker)));
  card.append(h);
  const dl = el("dl", "kv");
  const row = (k, v, c) => { dl.append(el("dt", "", k)); dl.append(el("dd", c || "", v)); };
  row("backend", r.host, "mono");
  row("model", r.model, "mono");
  row("requests", r.requests);
  row("failures", r.failures, r.failures ? "bad" : "");
  row("fallbacks", r.fallbacks);
  row("tokens in / out", r.tokens.input + " / " + r.tokens.output);
  row("first token p50", fmtMs(r.first_token_p50_ms));
  row("last error", r.last_error ? fmtTime(r.last_error.time) + " " + r.last_error.reason + ": " + r.last_error.message : "none",
    r.last_error ? "bad last-error" : "muted last-error");
  card.append(dl);
  return card;
}
function renderRecent(list) {
  const body = $("recent");
  body.replaceChildren();
  if (list.length === 0) {
    const tr = el("tr"); const td = el("td", "muted", "no requests yet"); td.colSpan = 7; tr.append(td); body.append(tr);
  }
  for (const q of list) {
    const tr = el("tr", "req");
    tr.append(el("td", "", fmtTime(q.time)));
    tr.append(el("td", "mono", q.method + " " + q.path + (q.api ? " (" + q.api + ")" : "")));
    const model = (q.requested_model === null ? "-" : q.requested_model) + " \\u2192 " + (q.route || "none") +
      (q.model ? ":" + q.model : "");
    tr.append(el("td", "mono model", model));
    tr.append(el("td", q.status >= 400 ? "bad" : "ok", q.status));
    tr.append(el("td", "", fmtMs(q.ms)));
    tr.append(el("td", "", q.stream ? "stream" + (q.end && q.end !== "complete" ? " (" + q.end + ")" : "") : "json"));
    tr.append(el("td", q.fallback ? "warn fallback" : "muted", q.fallback || "no"));
    body.append(tr);
  }
}
function render(s) {
  $("version").textContent = "v" + s.version;
  $("uptime").textContent = "up " + fmtUptime(s.uptime_s);
  $("auth").textContent = "auth " + (s.auth ? "on" : "off");
  $("streams").textContent = s.open_streams + " open stream" + (s.open_streams === 1 ? "" : "s");
  $("mode").textContent = s.demo ? "demo mode" : s.fallback ? "fallback on" : "single route";
  $("routes").replaceChildren(...s.routes.map(renderRoute));
  renderRecent(s.recent);
}
function setConn(ok, text) { const c = $("conn"); c.className = "pill " + (ok ? "ok" : "bad"); c.textContent = text; }
async function poll() {
  const key = sessionStorage.getItem(KEY);
  try {
    const res = await fetch(PATH, { headers: key ? { authorization: "Bearer " + key } : {}, cache: "no-store" });
    if (res.status === 401) {
      await res.body?.cancel();
      if (key) { sessionStorage.removeItem(KEY); $("keyerr").hidden = false; }
      $("login").hidden = false; $("data").hidden = true; setConn(false, "key needed");
      return;
    }
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    $("login").hidden = true; $("data").hidden = false; setConn(true, "live");
  } catch (err) {
    setConn(false, "offline: " + err.message);
  }
  setTimeout(poll, ${POLL_MS});
}
$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = $("key").value.trim();
  if (!v) return;
  sessionStorage.setItem(KEY, v);
  $("key").value = "";
  $("keyerr").hidden = true;
  poll();
});
poll();
`;

/** The page; the same bytes for everyone, with or without auth. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>modelpin status</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
  <h1>modelpin</h1>
  <span id="version" class="muted"></span>
  <span id="conn" class="pill">connecting…</span>
  <span id="uptime" class="muted"></span>
  <span id="streams" class="muted"></span>
  <span id="auth" class="muted"></span>
  <span id="mode" class="muted"></span>
</header>
<form id="login" hidden>
  <label for="key">This modelpin requires a key (one of PROXY_API_KEYS):</label>
  <input id="key" type="password" autocomplete="off" placeholder="proxy key">
  <button type="submit">Show status</button>
  <span id="keyerr" class="bad" hidden>That key was not accepted.</span>
</form>
<div id="data" hidden>
  <div id="routes" class="routes"></div>
  <h2>Last requests</h2>
  <div class="scroll">
    <table>
      <thead><tr><th>time</th><th>request</th><th>model → route</th><th>status</th><th>duration</th><th>type</th>
      <th>fallback</th></tr></thead>
      <tbody id="recent"></tbody>
    </table>
  </div>
</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
