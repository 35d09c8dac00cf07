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

/** The first byte that is not JSON whitespace is `{`. */
function startsLikeJsonObject(raw: Uint8Array): boolean {
  for (const byte of raw) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

function unforceable(why: string): ProxyError {
  return new ProxyError(
    400,
    "invalid_request_error",
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
    return form.has("model") ? { kind: "multipart", form } : { kind: "raw", bytes: raw };
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
