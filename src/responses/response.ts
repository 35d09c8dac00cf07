/**
 * A chat completion as a Responses answer: a `response` object whose
 * `output` holds a reasoning item (the backend's `reasoning_content`), the
 * message (`output_text` with its `annotations`), and one item per tool call,
 * in the form the client offered the tool as. Its items are kept in the item
 * store, so a later `item_reference` to them resolves.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { parseJson } from "../json_depth.ts";
import type { ItemStore } from "./item_store.ts";
import { isObject, type Json, newId } from "./json.ts";
import {
  callItem,
  finishOf,
  messageItem,
  reasoningItem,
  refusalItem,
  responseObject,
  responsesUsage,
} from "./output.ts";
import type { TranslatedResponses } from "./request.ts";

const decoder = new TextDecoder();

/** A 502 for an answer that is not a chat completion. */
function badAnswer(message: string): ProxyError {
  return new ProxyError(502, "upstream_error", "upstream_bad_answer", message);
}

/** Translates a chat completion's bytes into a Response object's JSON text. */
export function translateAnswer(body: Uint8Array, t: TranslatedResponses, store: ItemStore): string {
  let completion: unknown;
  try {
    completion = parseJson(decoder.decode(body));
  } catch {
    throw badAnswer("the backend's answer is not JSON");
  }
  if (!isObject(completion) || !Array.isArray(completion.choices) || !isObject(completion.choices[0])) {
    throw badAnswer("the backend's answer has no choices");
  }
  const choice = completion.choices[0];
  const message = isObject(choice.message) ? choice.message : {};
  const finish = finishOf(choice.finish_reason);
  const itemStatus = finish.status === "completed" ? "completed" : "incomplete";
  const output: Json[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning !== "") output.push(reasoningItem(newId("rs"), reasoning));
  const text = typeof message.content === "string" ? message.content : "";
  if (text !== "") output.push(messageItem(newId("msg"), text, itemStatus));
  if (typeof message.refusal === "string" && message.refusal !== "") {
    output.push(refusalItem(newId("msg"), message.refusal, itemStatus));
  }
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls.filter(isObject)) {
      const fn = isObject(call.function) ? call.function : {};
      const args = typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {});
      const id = typeof call.id === "string" ? call.id : "";
      output.push(callItem(id, typeof fn.name === "string" ? fn.name : "", args, t.tools, itemStatus));
    }
  }
  for (const item of output) store.put(item);
  return JSON.stringify(responseObject({
    id: newId("resp"),
    createdAt: typeof completion.created === "number" ? completion.created : Math.floor(Date.now() / 1000),
    model: t.requestedModel,
    status: finish.status,
    incomplete: finish.incomplete_details,
    output,
    usage: responsesUsage(completion.usage),
    echo: t.echo,
  }));
}
