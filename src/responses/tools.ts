/**
 * Responses tools as chat function tools, and the way back. A chat backend
 * knows only functions, so every tool a client can run itself becomes one:
 * function tools change shape (flat to nested); a `custom` tool (Codex's
 * `apply_patch`, free-form input) becomes a function taking `{"input": string}`;
 * a `namespace` tool's members become functions named `namespace__member`;
 * `tool_search` and `local_shell` become functions of their own. The
 * `ToolMap` turns the backend's call back into the item the client offered
 * the tool as (`function_call` with its `namespace`, `custom_tool_call`,
 * `tool_search_call`, `local_shell_call`): Codex runs a tool only when it
 * comes back in the form it was offered. Hosted tools (web_search,
 * file_search, computer, mcp, code_interpreter, image_generation, hosted
 * shell and apply_patch) are dropped: a chat backend cannot run them.
 *
 * @module
 */

import { ToolNames } from "../request/tool_names.ts";
import { fail, isObject, type Json, requireString } from "./json.ts";

/** What a chat function stands for on the client's side. */
export type ToolKind =
  | { kind: "function"; name: string; namespace?: string }
  | { kind: "custom"; name: string; namespace?: string }
  | { kind: "tool_search" }
  | { kind: "local_shell" };

/** Chat function names (as the backend sees them) and what each stands for. */
export class ToolMap {
  /** Shortens names over 64 characters and restores them. */
  readonly names = new ToolNames();
  readonly #kinds = new Map<string, ToolKind>();
  /** The chat tools, in order. */
  readonly tools: Json[] = [];

  /** Adds a chat function for `kind`; returns its chat name. */
  add(clientName: string, kind: ToolKind, fn: Json): string {
    const name = this.names.shorten(clientName);
    if (this.#kinds.has(name)) return name; // a tool_search result may repeat a tool
    this.#kinds.set(name, kind);
    this.tools.push({ type: "function", function: { ...fn, name } });
    return name;
  }

  /** What the backend's call of `chatName` stands for (an unknown name: a plain function call). */
  kindOf(chatName: string): ToolKind {
    return this.#kinds.get(chatName) ?? { kind: "function", name: this.names.restore(chatName) };
  }

  /** The chat name of a client tool (`namespace__name` for a namespace member), if it was offered. */
  chatName(name: string, namespace?: string): string {
    return this.names.shorten(namespace ? `${namespace}__${name}` : name);
  }
}

const EMPTY_SCHEMA = { type: "object", properties: {} };

const CUSTOM_INPUT = (format: unknown): Json => {
  const grammar = isObject(format) && format.type === "grammar" && typeof format.definition === "string"
    ? ` It must follow this ${String(format.syntax ?? "")} grammar:\n${format.definition}`
    : "";
  return {
    type: "object",
    properties: { input: { type: "string", description: `The tool's free-form input, as raw text.${grammar}` } },
    required: ["input"],
  };
};

const LOCAL_SHELL_SCHEMA = {
  type: "object",
  properties: {
    command: { type: "array", items: { type: "string" }, description: "The command and its arguments" },
    workdir: { type: "string" },
    timeout_ms: { type: "number" },
  },
  required: ["command"],
};

/** A function tool, flat in Responses, nested in chat. */
function functionTool(map: ToolMap, tool: Json, at: string, namespace?: string): void {
  const name = requireString(tool.name, `${at}.name`);
  const fn: Json = { parameters: isObject(tool.parameters) ? tool.parameters : EMPTY_SCHEMA };
  if (typeof tool.description === "string") fn.description = tool.description;
  if (typeof tool.strict === "boolean") fn.strict = tool.strict;
  map.add(namespace ? `${namespace}__${name}` : name, { kind: "function", name, namespace }, fn);
}

/** A custom (free-form) tool, as a function taking its input as one string. */
function customTool(map: ToolMap, tool: Json, at: string, namespace?: string): void {
  const name = requireString(tool.name, `${at}.name`);
  const description = typeof tool.description === "string" ? tool.description : `The ${name} tool.`;
  map.add(namespace ? `${namespace}__${name}` : name, { kind: "custom", name, namespace }, {
    description: `${description}\n\nCall it with {"input": "<the raw input>"}.`,
    parameters: CUSTOM_INPUT(tool.format),
  });
}

/** One Responses tool (a namespace adds its members). */
export function addTool(map: ToolMap, tool: unknown, at: string): void {
  if (!isObject(tool)) fail(at, "must be an object");
  switch (tool.type) {
    case "function":
      return functionTool(map, tool, at);
    case "custom":
      return customTool(map, tool, at);
    case "namespace": {
      const ns = requireString(tool.name, `${at}.name`);
      if (!Array.isArray(tool.tools)) fail(`${at}.tools`, "must be an array");
      tool.tools.forEach((member, i) => {
        if (isObject(member) && member.type === "custom") customTool(map, member, `${at}.tools.${i}`, ns);
        else if (isObject(member)) functionTool(map, member, `${at}.tools.${i}`, ns);
      });
      return;
    }
    case "tool_search":
      map.add("tool_search", { kind: "tool_search" }, {
        description: typeof tool.description === "string" ? tool.description : "Searches for more tools.",
        parameters: isObject(tool.parameters) ? tool.parameters : EMPTY_SCHEMA,
      });
      return;
    case "local_shell":
      map.add("local_shell", { kind: "local_shell" }, {
        description: "Runs a shell command on the user's machine.",
        parameters: LOCAL_SHELL_SCHEMA,
      });
      return;
    default: // hosted tools: nothing a chat backend can run
  }
}

/** `tools` of a request into `map`. */
export function translateTools(tools: unknown, map: ToolMap): void {
  if (tools === undefined || tools === null) return;
  if (!Array.isArray(tools)) fail("tools", "must be an array");
  tools.forEach((tool, i) => addTool(map, tool, `tools.${i}`));
}

/**
 * `tool_choice` for chat: the strings as they are, a named function or
 * custom tool as a named function, `allowed_tools` as its mode with the
 * tools filtered, a hosted tool as `auto`. Returns undefined to leave it out.
 */
export function translateToolChoice(choice: unknown, map: ToolMap): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice)) fail("tool_choice", "must be a string or an object");
  if ((choice.type === "function" || choice.type === "custom") && typeof choice.name === "string") {
    const name = map.chatName(choice.name, typeof choice.namespace === "string" ? choice.namespace : undefined);
    return { type: "function", function: { name } };
  }
  if (choice.type === "allowed_tools" && Array.isArray(choice.tools)) {
    const allowed = new Set(
      choice.tools.filter(isObject).map((t) =>
        typeof t.name === "string"
          ? map.chatName(t.name, typeof t.namespace === "string" ? t.namespace : undefined)
          : t.type
      ),
    );
    const kept = map.tools.filter((t) => allowed.has((t.function as Json).name as string));
    map.tools.splice(0, map.tools.length, ...kept);
    return choice.mode === "required" ? "required" : "auto";
  }
  return "auto";
}
