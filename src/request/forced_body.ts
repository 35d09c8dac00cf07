/**
 * Which request bodies carry a `model`, and the body each route gets with
 * its own model forced. The rule: a body with a top-level `model` never
 * reaches a backend with another model; a body modelpin cannot rewrite is
 * refused (400) rather than forwarded unforced.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { rewriteModel } from "./model_rewrite.ts";
import { type JsonBody, parseJsonObject } from "./request_body.ts";

/** A client body as modelpin will forward it. */
export type ForcedBody =
  /** A JSON object; `model` is rewritten in its text when `force`. */
  | { kind: "json"; json: JsonBody; force: boolean }
  /** A form (`application/x-www-form-urlencoded`) with a `model` field. */
  | { kind: "form"; form: URLSearchParams }
  /** A multipart form (file uploads) with a `model` field. */
  | { kind: "multipart"; form: FormData }
  /** Anything else, forwarded byte for byte (no body, audio, a form without `model`). */
  | { kind: "raw"; bytes: Uint8Array<ArrayBuffer> | null };

/**
 * The first byte that is not JSON whitespace is `{`, after a UTF-8 byte
 * order mark if there is one (`req.json()` and Python's `json.loads` skip it).
 */
function startsLikeJsonObject(raw: Uint8Array): boolean {
  const start = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  for (let i = start; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

/** A UTF-16 or UTF-32 byte order mark: JSON a lenient backend could read, in an encoding modelpin does not rewrite. */
function startsWithWideBom(raw: Uint8Array): boolean {
  return (raw[0] === 0xff && raw[1] === 0xfe) || (raw[0] === 0xfe && raw[1] === 0xff) ||
    (raw[0] === 0 && raw[1] === 0 && raw[2] === 0xfe && raw[3] === 0xff);
}

/**
 * Content-Disposition lines that name a part `model` in any spelling a
 * multipart parser might accept (`NAME=`, spaces around `=`, RFC 2231 `name*=`).
 */
function namesModelPart(raw: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(raw);
  return /^content-disposition:[^\r\n]*;\s*name\s*\*?\s*=\s*("?)(utf-8'[^']*')?model\1\s*(;|\r|\n|$)/im.test(text);
}

function unforceable(why: string): ProxyError {
  return ProxyError.invalid(
    "unforceable_body",
    `modelpin must force the model of every request and cannot rewrite this body: ${why}`,
  );
}

/**
 * Classifies a client body. `chat` bodies must be JSON objects and are always
 * forced. Elsewhere, whatever the label says: a body that starts like a JSON
 * object must be one (a plain `fetch` labels JSON `text/plain`, `curl -d` a form);
 * forms and multipart forms have a `model` field forced.
 */
export async function classifyBody(
  raw: Uint8Array<ArrayBuffer> | null,
  contentType: string | null,
  chat: boolean,
): Promise<ForcedBody> {
  if (chat) return { kind: "json", json: parseJsonObject(raw ?? new Uint8Array(0)), force: true };
  if (raw === null || raw.length === 0) return { kind: "raw", bytes: raw };
  const type = contentType?.toLowerCase() ?? "";
  if (startsWithWideBom(raw) && !type.startsWith("multipart/")) {
    throw unforceable("it starts with a UTF-16 or UTF-32 byte order mark; send JSON as UTF-8");
  }
  if (startsLikeJsonObject(raw) || type.includes("json")) {
    let json: JsonBody;
    try {
      json = parseJsonObject(raw);
    } catch (err) {
      if (!startsLikeJsonObject(raw)) throw err; // a JSON label on a non-object: the usual 400
      throw unforceable((err as Error).message);
    }
    return { kind: "json", json, force: "model" in json.value };
  }
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { "content-type": contentType! } }).formData();
    } catch {
      // Unparseable here is no proof that a lenient backend would not find a `model` in it.
      throw unforceable("it is labelled multipart/form-data but cannot be parsed as one");
    }
    if (form.has("model")) return { kind: "multipart", form };
    // Another parser may read a part as `model` that this one did not: it would pass unforced.
    if (namesModelPart(raw)) throw unforceable("a part names 'model' in a form modelpin's parser does not read");
    return { kind: "raw", bytes: raw };
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams(new TextDecoder().decode(raw));
    return form.has("model") ? { kind: "form", form } : { kind: "raw", bytes: raw };
  }
  return { kind: "raw", bytes: raw };
}

/** Whether `body` has a `model` that each route replaces. */
export function isForced(body: ForcedBody): boolean {
  return body.kind === "form" || body.kind === "multipart" || (body.kind === "json" && body.force);
}

/** The client's `model` value, when the body has one. */
export function requestedModel(body: ForcedBody): unknown {
  if (body.kind === "json") return body.json.value.model;
  if (body.kind === "form" || body.kind === "multipart") return body.form.get("model");
  return undefined;
}

/** The body for a route whose model is `model`. */
export function bodyForRoute(body: ForcedBody, model: string): BodyInit | null {
  switch (body.kind) {
    case "json":
      return body.force ? rewriteModel(body.json.text, model) : body.json.text;
    case "form": {
      const form = new URLSearchParams(body.form);
      form.set("model", model);
      return form.toString();
    }
    case "multipart": {
      // A new FormData per attempt: fetch serialises it with a fresh boundary and content-type.
      const form = new FormData();
      for (const [name, value] of body.form) form.append(name, value);
      form.set("model", model);
      return form;
    }
    case "raw":
      return body.bytes;
  }
}
