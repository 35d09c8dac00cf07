/**
 * Path stitching: where a client's `/v1/...` request goes on a backend.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";

/** A backend base URL, pre-split so stitching a request is one concatenation. */
export interface UpstreamTarget {
  /** The base URL's origin (`https://host:port`). */
  origin: string;
  /** The base path every upstream path must stay under (`/v1` when the base has none). */
  basePath: string;
  /** Origin plus base path without trailing slashes (`/v1` when the base has no path). */
  prefix: string;
  /** The base URL's own query, without `?` (e.g. Azure's `api-version=...`). */
  query: string;
}

/**
 * Splits a base URL once. The base path replaces the client's `/v1` prefix,
 * and a base URL with no path gets `/v1`, as the OpenAI SDK's default does.
 */
export function upstreamTarget(base: URL): UpstreamTarget {
  const path = base.pathname.replace(/\/+$/, "");
  const basePath = path === "" ? "/v1" : path;
  return {
    origin: base.origin,
    basePath,
    prefix: base.origin + basePath,
    query: base.search.slice(1),
  };
}

/**
 * The upstream URL for a client path that starts with `/v1` and its raw
 * query string (with its `?`, or empty). Base query parameters come first.
 */
export function stitchUrl(target: UpstreamTarget, clientPath: string, search: string): string {
  let rest = clientPath.slice(3);
  if (rest.startsWith("//")) rest = rest.replace(/^\/+/, "/");
  const query = search.length > 1 ? search.slice(1) : "";
  const joined = target.query && query ? `${target.query}&${query}` : target.query || query;
  return target.prefix + rest + (joined ? `?${joined}` : "");
}

/**
 * {@linkcode stitchUrl}, then the last line of defence before a request
 * carries the route's key: the URL as `fetch` will parse it must be on the
 * configured origin, under the configured base path, with the path exactly
 * as stitched (no dot segment or stray character rewritten by the parser).
 */
export function checkedUpstreamUrl(target: UpstreamTarget, clientPath: string, search: string): string {
  const url = stitchUrl(target, clientPath, search);
  const parsed = new URL(url);
  const q = url.indexOf("?");
  const path = url.slice(target.origin.length, q < 0 ? undefined : q);
  if (
    parsed.origin !== target.origin || parsed.pathname !== path ||
    !(path === target.basePath || path.startsWith(target.basePath + "/"))
  ) {
    throw ProxyError.invalid("invalid_path", "the path would leave the backend's base URL; modelpin refuses it");
  }
  return url;
}
