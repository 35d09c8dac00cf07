/**
 * Identifiers the translation has to make up: a `msg_` id when the backend
 * gave none, a `toolu_` id for a tool call without one.
 *
 * @module
 */

/** Makes a fresh id with the given prefix; injectable so tests get stable output. */
export type IdMaker = (prefix: "msg_" | "toolu_") => string;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random id in Anthropic's style: the prefix and 24 base62 characters. */
export const randomId: IdMaker = (prefix) => {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = prefix;
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
};

/** The answer's message id: derived from the backend's completion id when it has one. */
export function messageId(backendId: unknown, newId: IdMaker): string {
  if (typeof backendId === "string" && /^[\w.-]{1,200}$/.test(backendId)) {
    return `msg_${backendId.replace(/^chatcmpl-/, "")}`;
  }
  return newId("msg_");
}
