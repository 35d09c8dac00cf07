/**
 * What a failed attempt said, as the status page's "last error" tells it:
 * one line of at most 200 characters, keys masked in every spelling before
 * the text is decoded or cut, so no key and no key's prefix survives.
 *
 * @module
 */

import { errorMessageOf } from "../errors/errors.ts";
import type { KeyMasker } from "../security/key_masker.ts";
import type { Failure } from "../upstream/failure.ts";

/** The longest "last error" the status page shows. */
const MAX_TEXT = 200;

/** One line describing `failure`, masked, at most 200 characters. */
export function describeFailure(failure: Failure, masker: KeyMasker): string {
  switch (failure.kind) {
    case "timeout":
      return "no answer within PROXY_TIMEOUT";
    case "connect":
      return "could not connect to the backend";
    case "client_gone":
      return "the client left";
    case "redirect":
      return `HTTP ${failure.code} (a redirect, not followed)`;
    case "bad_stream":
    case "bad_response":
      return shorten(masker.text(failure.message), masker);
    case "status": {
      // Masked as it came (escaped spellings included), and again once the JSON is decoded.
      const said = shorten(errorMessageOf(masker.bytes(failure.answer.body)), masker);
      return `HTTP ${failure.code}${said ? `: ${said}` : ""}`;
    }
  }
}

/** One line of at most 200 characters, masked before it is cut. */
function shorten(text: string, masker: KeyMasker): string {
  const line = masker.text(text.replace(/\s+/g, " ").trim());
  return line.length > MAX_TEXT ? line.slice(0, MAX_TEXT) + "…" : line;
}
