/**
 * The path and query a client asked for. Deno builds `Request.url` from the
 * Host header and the request target, so a Host header holding `/`, `?` or
 * `#` would shift where the path seems to start: such a Host is refused,
 * and so is any path character that a URL parser would rewrite.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";

/** A request's path (raw, as sent) and its query (with `?`, or empty). */
export interface RequestTarget {
  /** The path, exactly as the client sent it. */
  path: string;
  /** The raw query string including its `?`, or `""`. */
  search: string;
}

// A host, an IPv4 address or a bracketed IPv6 address, with an optional port:
// nothing that a URL parser would read as the start of a path, query or fragment.
const VALID_HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:\d{0,5})?$/;

// RFC 3986 path characters: unreserved, sub-delims, ':', '@', '/' and percent escapes.
// Anything else (controls, tab, spaces, non-ASCII, '"<>`{}|^#\') is rewritten or dropped by URL parsers.
const VALID_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

const DOT_SEGMENT = /\/\.\.?([/;]|$)|%2e|%2f|%5c/i;

/**
 * Reads the target from `req`, refusing (400) a Host header that is not a
 * plain host and a path a URL parser would not keep exactly as sent.
 */
export function requestTarget(req: Request): RequestTarget {
  const host = req.headers.get("host");
  if (host !== null && !VALID_HOST.test(host)) {
    throw ProxyError.invalid("invalid_host", "the Host header is not a valid host[:port]");
  }
  const url = req.url;
  // With a plain host, the first "/" after the scheme's "//" starts the path.
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  const path = start < 0 ? "/" : q < 0 ? url.slice(start) : url.slice(start, q);
  const search = start < 0 || q < 0 ? "" : url.slice(q);
  // Dot segments (and `..;`, which Java servers read as `..`) and encoded dots or separators could
  // climb out of the backend's base path, carrying the key with them. No endpoint needs them.
  if (DOT_SEGMENT.test(path)) throw ProxyError.dotSegments();
  if (!VALID_PATH.test(path)) {
    throw ProxyError.invalid(
      "invalid_path",
      "the path may hold only URL path characters (letters, digits, -._~!$&'()*+,;=:@/ and %-escapes)",
    );
  }
  return { path, search };
}
