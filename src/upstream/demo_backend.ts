/**
 * The built-in demo backend: an in-process echo model that answers chat
 * completions, streaming and not, so a fresh checkout serves without setup.
 *
 * @module
 */

import { errorBody } from "../errors/errors.ts";
import type { RouteName } from "../config/config.ts";
import type { FetchLike } from "./attempt.ts";

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (Array.isArray(m.content)) {
      return m.content.map((p: { type?: string; text?: unknown }) =>
        p?.type === "text" && typeof p.text === "string" ? p.text : ""
      ).join("");
    }
  }
  return "";
}

function json(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

/** A fetch function that answers like a backend serving the echo model. */
export function demoFetch(route: RouteName): FetchLike {
  return (url, init) => {
    const path = new URL(url).pathname;
    if (!path.endsWith("/chat/completions")) {
      return Promise.resolve(json(
        404,
        errorBody(
          "the demo backend only answers /v1/chat/completions; configure FAST_BASE_URL for the rest",
          "not_found_error",
          "demo_unsupported",
        ),
      ));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(String(init.body ?? "{}"));
    } catch {
      return Promise.resolve(json(400, errorBody("invalid JSON", "invalid_request_error", "invalid_json")));
    }
    const reply = `[demo ${route}] you said: ${lastUserText(body.messages)}`;
    const id = `chatcmpl-demo-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    if (body.stream !== true) {
      return Promise.resolve(json(
        200,
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
          usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        }),
      ));
    }
    const chunk = (delta: Record<string, string>, finish: string | null) =>
      `data: ${
        JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [{ index: 0, delta, finish_reason: finish }],
        })
      }\n\n`;
    const words = reply.split(/(?<= )/);
    const events = [
      chunk({ role: "assistant", content: "" }, null),
      ...words.map((w) => chunk({ content: w }, null)),
      chunk({}, "stop"),
      "data: [DONE]\n\n",
    ];
    const encoder = new TextEncoder();
    let i = 0;
    const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull(controller) {
        if (i < events.length) controller.enqueue(encoder.encode(events[i++]));
        else controller.close();
      },
    });
    return Promise.resolve(
      new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } }),
    );
  };
}
