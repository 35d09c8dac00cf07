/**
 * The doctor's probes: one bounded, timed request that never follows a
 * redirect, and reading what a backend answered (its error, its model list).
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { readBounded } from "../upstream/upstream_body.ts";

/** Why a fetch threw, in words a person can act on. */
export function connectProblem(err: unknown, timedOut: boolean, base: URL, timeoutMs: number): string {
  const where = `${base.hostname}:${base.port || (base.protocol === "https:" ? 443 : 80)}`;
  if (timedOut) return `no answer from ${where} within ${timeoutMs / 1000} s: check the host and port, and firewalls`;
  const text = String((err as { cause?: unknown })?.cause ?? "") + " " + String(err);
  if (/dns|lookup|resolve|name or service|no address/i.test(text)) {
    return `DNS: cannot resolve ${base.hostname}: check the host name`;
  }
  if (/refused/i.test(text)) return `connection refused by ${where}: is the server running on that port?`;
  if (/certificate|tls|ssl|handshake/i.test(text)) {
    return `TLS failed with ${where}: check https:// vs http:// and the server's certificate`;
  }
  if (/reset|closed|broken pipe|eof/i.test(text)) return `${where} closed the connection: is it an HTTP(S) server?`;
  return `could not connect to ${where}`;
}

/** The most of a backend's answer the doctor reads (a long model list fits easily). */
const PROBE_BODY_LIMIT = 4 * 1024 * 1024;

/** A fetch with a timeout that never follows redirects (the key must stay on its host). */
export async function probe(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ res: Response; body: string; ms: number } | { error: unknown; timedOut: boolean }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, redirect: "manual", signal: controller.signal });
    // A model list is small; a hostile or broken backend must not make the doctor hold gigabytes.
    const read = res.body
      ? await readBounded(res.body, PROBE_BODY_LIMIT)
      : { whole: true as const, bytes: new Uint8Array(0) };
    if (!read.whole) await read.reader.cancel().catch(() => {});
    const body = new TextDecoder().decode(read.whole ? read.bytes : concatBytes(read.head));
    return { res, body, ms: performance.now() - started };
  } catch (error) {
    return { error, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** The backend's own error message from an error body, cut short (masked by the caller). */
export function errorSnippet(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.message ?? parsed?.error ?? parsed?.detail;
    if (typeof message === "string") text = message;
  } catch { /* not JSON: the raw text */ }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > 160 ? text.slice(0, 160) + "…" : text;
}

/** The ids a `GET /models` answer lists (OpenAI's `data[].id`), or undefined when it is not such a list. */
export function listedModels(body: string): string[] | undefined {
  try {
    const parsed = JSON.parse(body);
    const data = Array.isArray(parsed?.data) ? parsed.data : Array.isArray(parsed?.models) ? parsed.models : undefined;
    if (!data) return undefined;
    return data.map((m: { id?: unknown; name?: unknown }) => String(m?.id ?? m?.name ?? "")).filter((s: string) => s);
  } catch {
    return undefined;
  }
}

export function authHeaders(key: string): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}
