/**
 * The shape checks the Responses translation shares, and its 400.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether `v` is a JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Refuses the request: a 400 in OpenAI's shape that names `param`. */
export function fail(param: string, message: string): never {
  throw ProxyError.invalid("invalid_request", `${param}: ${message}`);
}

/** `value` as a string, or a 400 naming `param`. */
export function requireString(value: unknown, param: string): string {
  if (typeof value !== "string") fail(param, "must be a string");
  return value;
}

/** A fresh id in OpenAI's style: the prefix and 24 hex digits. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let out = `${prefix}_`;
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
