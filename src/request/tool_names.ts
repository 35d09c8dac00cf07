/**
 * Tool names: OpenAI-compatible backends refuse function names over 64
 * characters, which MCP tools in Claude Code can exceed. Long names are
 * shortened deterministically (prefix plus a hash of the whole name), so the
 * same name shortens the same way in `tools`, in history and in
 * `tool_choice`, and the map turns the backend's answer back into the
 * client's name.
 *
 * @module
 */

/** The longest function name OpenAI-compatible backends accept. */
const MAX_TOOL_NAME = 64;

/** FNV-1a, 32 bits, as 8 hex digits: stable and dependency-free, collisions irrelevant at this scale. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** A two-way map between the client's tool names and the names sent to the backend. */
export class ToolNames {
  readonly #toBackend = new Map<string, string>();
  readonly #toClient = new Map<string, string>();

  /** The backend's name for a client name (shortened to 64 characters when longer). */
  shorten(name: string): string {
    const known = this.#toBackend.get(name);
    if (known !== undefined) return known;
    const short = name.length <= MAX_TOOL_NAME ? name : `${name.slice(0, MAX_TOOL_NAME - 9)}_${fnv1a(name)}`;
    this.#toBackend.set(name, short);
    this.#toClient.set(short, name);
    return short;
  }

  /** The client's name for a name the backend used (unknown names come back unchanged). */
  restore(name: string): string {
    return this.#toClient.get(name) ?? name;
  }
}
