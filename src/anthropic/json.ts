/**
 * The small shape checks every Anthropic translation step shares.
 *
 * @module
 */

import { AnthropicRequestError } from "./errors.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether `v` is a JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Refuses the request: a 400 that names `field`. */
export function fail(field: string, message: string): never {
  throw new AnthropicRequestError(field, message);
}

/** `value` as a string, or a 400 naming `field`. */
export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") fail(field, "must be a string");
  return value;
}
