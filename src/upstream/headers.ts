/**
 * Header hygiene in one place: what goes upstream and what comes back.
 *
 * @module
 */

import { maskKeys } from "../security/secrets.ts";

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never forwarded.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
]);

// Client headers that would carry the client's identity, key or cookies to the
// backend, or describe a body the proxy re-encodes.
const NOT_UPSTREAM = new Set([
  "host",
  "cookie",
  "authorization",
  "api-key",
  "x-api-key",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "openai-organization",
  "openai-project",
  "forwarded",
  "x-forwarded-for",
  "x-real-ip",
]);

/** Names listed in a `Connection` header, which are hop-by-hop too. */
function connectionTokens(value: string | null): Set<string> | undefined {
  if (!value) return undefined;
  return new Set(value.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== ""));
}

function dropsUpstream(name: string, named: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || NOT_UPSTREAM.has(name) || name.startsWith("proxy-") ||
    (name.startsWith("x-") && name.endsWith("-host")) || (named !== undefined && named.has(name));
}

/**
 * The headers sent upstream, built from the client's minus everything above.
 * The key is added per attempt by {@linkcode setUpstreamKey}. Upstream bodies
 * are asked for uncompressed, so they can be passed on byte for byte.
 */
export function upstreamHeaders(client: Headers): Headers {
  const named = connectionTokens(client.get("connection"));
  const out = new Headers();
  for (const [name, value] of client) {
    if (!dropsUpstream(name, named)) out.set(name, value);
  }
  out.set("accept-encoding", "identity");
  return out;
}

/** Sets (or, for an empty key, removes) the route's key on outgoing headers. */
export function setUpstreamKey(headers: Headers, key: string): void {
  if (key === "") headers.delete("authorization");
  else headers.set("authorization", `Bearer ${key}`);
}

/**
 * The headers passed back to the client. `bodyIsVerbatim` says whether the
 * body is forwarded byte for byte; if not, length and encoding are dropped.
 * A configured key echoed in a header value (e.g. `www-authenticate`) is masked, and a
 * header whose name holds one is dropped.
 */
export function downstreamHeaders(upstream: Headers, bodyIsVerbatim: boolean, keys: readonly string[] = []): Headers {
  const named = connectionTokens(upstream.get("connection"));
  const out = new Headers();
  const encoded = upstream.has("content-encoding");
  for (const [name, value] of upstream) {
    if (HOP_BY_HOP.has(name) || name === "set-cookie" || name.startsWith("proxy-")) continue;
    if (named?.has(name)) continue;
    if ((!bodyIsVerbatim || encoded) && (name === "content-length" || name === "content-encoding")) continue;
    // A header cannot be renamed: one whose (lower-cased) name holds a key is dropped.
    if (keys.length > 0 && keys.some((key) => name.includes(key.toLowerCase()))) continue;
    out.append(name, keys.length > 0 && name !== "content-length" ? maskKeys(value, keys) : value);
  }
  return out;
}
