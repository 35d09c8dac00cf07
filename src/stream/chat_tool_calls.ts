/**
 * Tool calls of a chat completion stream, assembled from their fragments
 * for a translator (Anthropic's, the Responses API's). Calls are told apart
 * by `index`, or by `id` when a backend sends none (Gemini's OpenAI endpoint
 * sends each call whole, with its own id and no index); a fragment with
 * neither continues the last call ({@linkcode ToolCallKeys}, which the
 * content masker shares). Arguments are held, within a bound, so a
 * translator can give its client arguments that parse.
 *
 * @module
 */

import { StreamLimitError } from "./sse_framer.ts";

/** A JSON object. */
type Json = Record<string, unknown>;

/**
 * The most text a translator holds for one answer (tool arguments, and text
 * that waits for the tool calls); a backend that sends more fails the stream
 * instead of growing it.
 */
export const MAX_TOOL_ARGUMENT_BYTES = 16 * 1024 * 1024;

/** Thrown when a stream's tool arguments outgrow {@linkcode MAX_TOOL_ARGUMENT_BYTES}. */
export class ToolArgumentsTooLargeError extends StreamLimitError {
  /** Names the bound. */
  constructor() {
    super(`the backend sent tool arguments larger than ${MAX_TOOL_ARGUMENT_BYTES / 1048576} MiB`);
    this.name = "ToolArgumentsTooLargeError";
  }
}

/** One tool call as it is assembled. */
export interface ToolCall {
  /** Its place among the calls, in the order they appeared (0, 1, ...). */
  readonly order: number;
  /** The backend's call id ("" until one is seen). */
  id: string;
  /** The function's name ("" until one is seen; the first one counts). */
  name: string;
  /** The argument text so far. */
  args: string;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Which call each tool call fragment of one choice belongs to, by the rules
 * every reader of fragments must share (the translators, and the content
 * masker that joins their arguments): by `index`; without one by `id` (also
 * an id that an indexed fragment carried first); with neither, the last call.
 */
export class ToolCallKeys {
  readonly #byKey = new Map<string, number>();
  /** The calls that have their id (only the first id of a call finds it). */
  readonly #named = new Set<number>();
  #count = 0;
  #last: number | undefined;

  /** How many calls were told apart so far. */
  get size(): number {
    return this.#count;
  }

  /** The call of `fragment` (0, 1, ... in the order they appeared), and whether the fragment starts it. */
  of(fragment: Json): { call: number; started: boolean } {
    const id = typeof fragment.id === "string" ? fragment.id : "";
    const key = typeof fragment.index === "number" ? `#${fragment.index}` : id !== "" ? `id:${id}` : undefined;
    let call = key === undefined ? this.#last : this.#byKey.get(key);
    const started = call === undefined;
    if (call === undefined) {
      call = this.#count++;
      this.#byKey.set(key ?? "#0", call);
    }
    // A call known by its index may carry its id later; later lookups by that id find it too.
    if (id !== "" && !this.#named.has(call)) {
      this.#named.add(call);
      if (!this.#byKey.has(`id:${id}`)) this.#byKey.set(`id:${id}`, call);
    }
    this.#last = call;
    return { call, started };
  }
}

/**
 * The tool calls of one answer, and the text (of kind `K`) a translator holds
 * once they began: it goes out after them, not to split them.
 */
export class ChatToolCalls<K extends string = string> {
  /** Text that came after the calls began, in order, runs of one kind joined. */
  readonly after: { kind: K; text: string }[] = [];
  readonly #keys = new ToolCallKeys();
  readonly #calls: ToolCall[] = [];
  #bytes = 0;

  /** The calls, in the order they appeared. */
  get all(): readonly ToolCall[] {
    return this.#calls;
  }

  /**
   * Counts `text` that a translator holds for this answer (tool arguments, and
   * text it keeps until the calls are done) against one bound.
   * Throws {@linkcode ToolArgumentsTooLargeError}.
   */
  hold(text: string): void {
    this.#bytes += text.length;
    if (this.#bytes > MAX_TOOL_ARGUMENT_BYTES) throw new ToolArgumentsTooLargeError();
  }

  /** Holds `text` of `kind` until the calls are done (counted against the bound). */
  holdAfter(kind: K, text: string): void {
    this.hold(text);
    const last = this.after[this.after.length - 1];
    if (last?.kind === kind) last.text += text;
    else this.after.push({ kind, text });
  }

  /**
   * Adds one fragment (an element of a delta's `tool_calls`); returns its call
   * and whether the fragment started it. Throws {@linkcode ToolArgumentsTooLargeError}.
   */
  add(fragment: Json): { call: ToolCall; started: boolean; args: string } {
    const fn = isObject(fragment.function) ? fragment.function : {};
    const { call: order, started } = this.#keys.of(fragment);
    if (started) this.#calls.push({ order, id: "", name: "", args: "" });
    const call = this.#calls[order];
    if (call.id === "" && typeof fragment.id === "string") call.id = fragment.id;
    // Some backends repeat the name on every fragment: the first one counts.
    if (call.name === "" && typeof fn.name === "string") call.name = fn.name;
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    this.hold(args);
    call.args += args;
    return { call, started, args };
  }
}

/**
 * A call's arguments as a JSON object that a client's SDK parses: the text
 * itself when it is one, `{}` when it is empty, not JSON, or not an object.
 * Both the JSON answer and the stream give the client this same object.
 */
export function argumentsObject(args: string, parse: (text: string) => unknown): Json {
  if (args.trim() === "") return {};
  try {
    const parsed = parse(args);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
