/**
 * The doctor's checks of one backend and its routes: reachable, key
 * accepted, each forced model listed, how `/v1/responses` reaches it, and
 * with `--live` one tiny chat completion. Each check is one line, never a key.
 *
 * @module
 */

import type { RouteConfig } from "../config/config.ts";
import { probeResponsesApi } from "../upstream/responses_probe.ts";
import { stitchUrl, upstreamTarget } from "../upstream/upstream_url.ts";
import { authHeaders, connectProblem, errorSnippet, listedModels, probe } from "./doctor_probe.ts";

/** A check's verdict. */
export type Verdict = "OK" | "WARN" | "FAIL" | "SKIP";

/** One printed check. */
export interface CheckLine {
  /** The verdict. */
  verdict: Verdict;
  /** Which routes the check concerns ("fast", "smart", "fast+smart"). */
  subject: string;
  /** What was found, and for WARN/FAIL what to do. */
  text: string;
}

/** One backend (base URL and key) and the routes that use it. */
export interface Backend {
  base: URL;
  key: string;
  routes: RouteConfig[];
  subject: string;
}

/** The variable a route's setting comes from, for "what to do" advice. */
function variable(routes: RouteConfig[], setting: "BASE_URL" | "API_KEY" | "MODEL_NAME"): string {
  return routes.map((r) => `${r.name.toUpperCase()}_${setting}`).join(" / ");
}

/** Checks one backend: reachable, key accepted, each route's model listed. */
export async function checkBackend(
  b: Backend,
  timeoutMs: number,
  mask: (s: string) => string,
): Promise<{ lines: CheckLine[]; reachable: boolean }> {
  const lines: CheckLine[] = [];
  const add = (verdict: Verdict, text: string, subject = b.subject) => lines.push({ verdict, subject, text });
  const url = stitchUrl(upstreamTarget(b.base), "/v1/models", "");
  const got = await probe(url, { headers: authHeaders(b.key) }, timeoutMs);
  if ("error" in got) {
    add("FAIL", `${b.base.host} unreachable: ${connectProblem(got.error, got.timedOut, b.base, timeoutMs)}`);
    add("SKIP", "key and model not checked: the backend is unreachable");
    return { lines, reachable: false };
  }
  const { res, body, ms } = got;
  const via = b.base.protocol === "https:" ? "DNS, TCP and TLS ok" : "DNS and TCP ok";
  add("OK", `${b.base.host} reachable (${via}, answered in ${ms.toFixed(0)} ms)`);
  const status = res.status;
  if (status === 401 || status === 403) {
    const said = errorSnippet(mask(body));
    add("FAIL", `key rejected (HTTP ${status}${said ? `: ${said}` : ""}): set ${variable(b.routes, "API_KEY")}`);
    add("SKIP", "model not checked: the key was rejected");
    return { lines, reachable: true };
  }
  if (status >= 300 && status < 400) {
    add(
      "FAIL",
      `GET /models answered a redirect (HTTP ${status}); modelpin never follows redirects: set ${
        variable(b.routes, "BASE_URL")
      } to the final URL`,
    );
    return { lines, reachable: true };
  }
  if (status >= 500) {
    add("FAIL", `the backend fails (HTTP ${status} on GET /models): it is up but broken; try again later`);
    return { lines, reachable: true };
  }
  if (status >= 400) {
    add("WARN", `key not verified: GET /models answered HTTP ${status} (this backend may not list models)`);
    add("SKIP", "model not checked: the backend does not list models");
    return { lines, reachable: true };
  }
  add("OK", b.key ? "key accepted" : "no key set, and the backend does not ask for one");
  const models = listedModels(body);
  for (const route of b.routes) {
    if (!models) add("WARN", `model not checked: GET /models did not answer a model list`, route.name);
    else if (models.includes(route.model)) add("OK", `model ${route.model} is listed`, route.name);
    else {
      add(
        "WARN",
        `model ${route.model} is not among the ${models.length} models the backend lists: check ${
          variable([route], "MODEL_NAME")
        } (some backends do not list every model; --live tries it)`,
        route.name,
      );
    }
  }
  return { lines, reachable: true };
}

/**
 * How a route serves `/v1/responses`, and why: its setting, or for `auto` the
 * same question the proxy asks (POST {base}/responses with no model).
 */
export async function checkResponsesWay(route: RouteConfig): Promise<CheckLine> {
  const variable = `${route.name.toUpperCase()}_RESPONSES_API`;
  const subject = route.name;
  if (route.responses !== "auto") {
    const how = route.responses === "native" ? "natively (to its /v1/responses)" : "translated to chat completions";
    return { verdict: "OK", subject, text: `/v1/responses goes ${how}: ${variable}=${route.responses}` };
  }
  const url = stitchUrl(upstreamTarget(route.baseUrl!), "/v1/responses", "");
  const found = await probeResponsesApi(fetch, url, route.apiKey);
  if (found.way === undefined) {
    return {
      verdict: "WARN",
      subject,
      text:
        `/v1/responses: the backend did not answer POST /responses (${found.said}); modelpin translates until it does`,
    };
  }
  const how = found.way === "native"
    ? "natively: the backend has /v1/responses"
    : "translated to chat completions: the backend has no /v1/responses";
  return { verdict: "OK", subject, text: `/v1/responses goes ${how} (${variable}=auto; it answered ${found.said})` };
}

/** Sends one `max_tokens: 1` chat completion on a route. */
export async function checkLive(
  route: RouteConfig,
  timeoutMs: number,
  mask: (s: string) => string,
): Promise<CheckLine> {
  const url = stitchUrl(upstreamTarget(route.baseUrl!), "/v1/chat/completions", "");
  const body = JSON.stringify({ model: route.model, messages: [{ role: "user", content: "Say OK." }], max_tokens: 1 });
  const got = await probe(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authHeaders(route.apiKey) },
    body,
  }, timeoutMs);
  const subject = route.name;
  if ("error" in got) {
    return {
      verdict: "FAIL",
      subject,
      text: `live chat completion failed: ${connectProblem(got.error, got.timedOut, route.baseUrl!, timeoutMs)}`,
    };
  }
  if (got.res.status === 200) {
    return { verdict: "OK", subject, text: `live chat completion answered in ${got.ms.toFixed(0)} ms` };
  }
  const said = errorSnippet(mask(got.body));
  const hint = got.res.status === 404 || got.res.status === 400
    ? `check ${variable([route], "MODEL_NAME")} and ${variable([route], "BASE_URL")}`
    : got.res.status === 401 || got.res.status === 403
    ? `set ${variable([route], "API_KEY")}`
    : "see the backend's message";
  return {
    verdict: "FAIL",
    subject,
    text: `live chat completion answered HTTP ${got.res.status}${said ? ` (${said})` : ""}: ${hint}`,
  };
}
