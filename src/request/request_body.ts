/**
 * Reading and validating a client's request body.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { concatBytes } from "../bytes.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../json_depth.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A byte limit as a person reads it: bytes under 1 MB, else MB with up to two decimals. */
export function formatLimit(bytes: number): string {
  return bytes < 1048576 ? `${bytes} bytes` : `${+(bytes / 1048576).toFixed(2)} MB`;
}

function tooLarge(maxBytes: number): ProxyError {
  return ProxyError.invalid(
    "request_too_large",
    `request body is larger than PROXY_MAX_BODY_MB (${formatLimit(maxBytes)})`,
    413,
  );
}

/**
 * The request body, within `maxBytes` (PROXY_MAX_BODY_MB); a client that
 * leaves mid-upload is `client_gone`. A compressed body is refused: its model
 * could not be seen, let alone forced.
 */
export async function readClientBody(req: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const encoding = req.headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw ProxyError.invalid(
      "unsupported_content_encoding",
      `request bodies must not be compressed (content-encoding: ${encoding.slice(0, 40)}): modelpin must see the model`,
      415,
    );
  }
  try {
    return await readBody(req, maxBytes);
  } catch (err) {
    if (err instanceof ProxyError || !req.signal.aborted) throw err;
    throw ProxyError.clientGone();
  }
}

/**
 * Reads the whole body, refusing (413) as soon as it passes `maxBytes`, so a
 * huge upload is neither buffered nor forwarded.
 */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (req.body === null) return new Uint8Array(0);
  if (declared !== null) {
    const body = await req.bytes();
    if (body.length > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/** A JSON request body: its text (rewritten later) and its parsed object. */
export interface JsonBody {
  /** The body as the client sent it. */
  text: string;
  /** The parsed object, read for `model` and `stream`. */
  value: Record<string, unknown>;
}

/**
 * Parses a JSON endpoint's body: it must be UTF-8 JSON holding an object,
 * nested at most {@linkcode MAX_JSON_DEPTH} deep (counted before parsing).
 */
export function parseJsonObject(body: Uint8Array<ArrayBuffer>): JsonBody {
  if (body.length === 0) {
    throw ProxyError.invalid("empty_body", "request body is empty; send a JSON object");
  }
  if (nestsDeeperThan(body)) {
    throw ProxyError.invalid(
      "nested_too_deeply",
      `request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw ProxyError.invalid("invalid_utf8", "request body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw ProxyError.invalid("invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw ProxyError.invalid(
      "invalid_body",
      `request body must be a JSON object, got ${
        Array.isArray(value) ? "an array" : value === null ? "null" : typeof value
      }`,
    );
  }
  return { text, value: value as Record<string, unknown> };
}
