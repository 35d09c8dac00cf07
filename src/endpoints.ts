/**
 * The endpoint table: every path modelpin answers, its methods, whether it
 * needs a proxy key, whether it is counted, the API (dialect) its errors are
 * rendered in, and the function that answers it. A new front door is a
 * folder and rows here; server.ts hands the table to the handler.
 *
 * @module
 */

import { ANTHROPIC } from "./anthropic/dialect.ts";
import { countTokens, messages } from "./anthropic/front_door.ts";
import { OPENAI } from "./openai/dialect.ts";
import { chatCompletions, otherApi } from "./openai/front_door.ts";
import { RESPONSES } from "./responses/dialect.ts";
import { responses } from "./responses/front_door.ts";
import { metrics, statusJson, statusPage } from "./ops/endpoints.ts";
import type { Endpoint } from "./proxy/endpoint.ts";
import type { EndpointTable } from "./proxy/handler.ts";
import { health, modelInfo, modelList } from "./proxy/local_endpoints.ts";

const READ = ["GET", "HEAD"] as const;
/** The methods the OpenAI API uses; anything else (TRACE, PUT, ...) never goes upstream. */
const FORWARDED = ["GET", "POST", "DELETE", "HEAD"] as const;

const is = (...paths: string[]) => (path: string) => paths.includes(path);

/** Every endpoint, first match wins. */
export const ENDPOINTS: readonly Endpoint[] = [
  // Operations: not counted; `/` holds no data, the others need the proxy key like /v1 does.
  { matches: is("/health"), methods: READ, auth: false, counted: false, dialect: OPENAI, handle: health },
  { matches: is("/"), methods: READ, auth: false, counted: false, dialect: OPENAI, handle: statusPage },
  { matches: is("/metrics"), methods: READ, auth: true, counted: false, dialect: OPENAI, handle: metrics },
  { matches: is("/status.json"), methods: READ, auth: true, counted: false, dialect: OPENAI, handle: statusJson },
  // Answered by modelpin itself.
  { matches: is("/v1/models"), methods: READ, auth: true, counted: true, dialect: OPENAI, handle: modelList },
  {
    matches: is("/v1/models/fast", "/v1/models/smart"),
    methods: READ,
    auth: true,
    counted: true,
    dialect: OPENAI,
    handle: modelInfo,
  },
  // The front doors.
  {
    matches: is("/v1/chat/completions", "/v1/chat/completions/"),
    methods: ["POST"],
    auth: true,
    counted: true,
    dialect: OPENAI,
    api: "chat",
    handle: chatCompletions,
  },
  {
    matches: is("/v1/responses", "/v1/responses/"),
    methods: ["POST"],
    auth: true,
    counted: true,
    dialect: RESPONSES,
    api: "responses",
    handle: responses,
  },
  {
    matches: is("/v1/messages"),
    methods: ["POST"],
    auth: true,
    counted: true,
    dialect: ANTHROPIC,
    api: "messages",
    handle: messages,
  },
  {
    matches: is("/v1/messages/count_tokens"),
    methods: ["POST"],
    auth: true,
    counted: true,
    dialect: ANTHROPIC,
    api: "messages",
    handle: countTokens,
  },
  {
    matches: (p) => p === "/v1" || p.startsWith("/v1/"),
    methods: FORWARDED,
    auth: true,
    counted: true,
    dialect: OPENAI,
    api: "other",
    handle: otherApi,
  },
];

/** The table the handler routes by: a path no endpoint serves gets OpenAI's error shape. */
export const TABLE: EndpointTable = { endpoints: ENDPOINTS, unmatched: OPENAI };
