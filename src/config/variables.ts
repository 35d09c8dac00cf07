/**
 * Every configuration variable, declared once: its kind, default, range,
 * help, and the field of the configuration it sets. Parsing (config.ts and
 * routes.ts only walk this table), the sandbox's `--allow-env` list,
 * start-up messages and the test that README and `.env.example` mention each
 * variable all read it. A new setting is one row here and one field.
 *
 * @module
 */

/** How a variable's text is read. */
export type VariableKind =
  /** A backend base URL (http:// or https://). */
  | "url"
  /** A backend key: one line of visible ASCII. */
  | "key"
  /** A model name, free text. */
  | "model"
  /** A whole number within `min`..`max`. */
  | "integer"
  /** Seconds (fractions allowed), 0 = none. */
  | "seconds"
  /** A positive number of megabytes (fractions allowed). */
  | "megabytes"
  /** A listen address: IPv4, IPv6 or hostname. */
  | "host"
  /** A comma-separated list. */
  | "list"
  /** One of `choices`. */
  | "choice"
  /** Read by an earlier version, ignored now (with a notice). */
  | "retired";

/** One configuration variable. */
export interface Variable {
  /** The environment / `.env` name. */
  name: string;
  /** How its value is read. */
  kind: VariableKind;
  /** The value used when it is unset or empty (as text, as a user would write it). */
  default?: string;
  /** Smallest and largest accepted value, for `integer`. */
  min?: number;
  /** Largest accepted value, for `integer`. */
  max?: number;
  /** Accepted values (lower case) for `choice`, each with its meaning. */
  choices?: Record<string, string>;
  /** Other spellings of a choice (`1` for `on`), for `choice`. */
  aliases?: Record<string, string>;
  /** What it does, for messages and documentation. */
  help: string;
  /** The default in demo mode, when it differs (`BIND_HOST`: loopback only). */
  demoDefault?: string;
  /** For `list`: items are lower-cased (substrings matched case-insensitively). */
  lowerCase?: boolean;
  /** The configuration field a setting sets (`retired` ones set none). */
  field?: SettingField;
  /** For a route variable: its route and the route field it sets. */
  route?: { name: "fast" | "smart"; field: "baseUrl" | "apiKey" | "model" | "responses" };
  /** For a route variable: the variable whose value it takes when unset (SMART_ from FAST_, FAST_ from REAL_). */
  fallsBackTo?: string;
  /** For a route variable: required unless in demo mode; the message says what to set. */
  required?: string;
}

/** The configuration fields that settings set. */
export type SettingField =
  | "port"
  | "bindHost"
  | "timeoutMs"
  | "idleTimeoutMs"
  | "breakerFailures"
  | "breakerCooldownMs"
  | "shutdownGraceMs"
  | "maxBodyBytes"
  | "proxyApiKeys"
  | "log"
  | "anthropicFastModels"
  | "anthropicMaxTokens"
  | "retries"
  | "headTimeoutMs";

/** The variables of one route; SMART_* values fall back to FAST_* ones, FAST_* to the old REAL_* names. */
export const ROUTE_VARIABLES: readonly Variable[] = [
  {
    name: "FAST_BASE_URL",
    kind: "url",
    route: { name: "fast", field: "baseUrl" },
    fallsBackTo: "REAL_BASE_URL",
    required:
      "is required: set it to your backend's OpenAI-compatible base URL, e.g. https://api.fireworks.ai/inference/v1 (the old name REAL_BASE_URL works too)",
    help: "backend base URL of the fast (default) route",
  },
  {
    name: "FAST_API_KEY",
    kind: "key",
    default: "",
    route: { name: "fast", field: "apiKey" },
    fallsBackTo: "REAL_API_KEY",
    help: "real key for the fast route's backend",
  },
  {
    name: "FAST_MODEL_NAME",
    kind: "model",
    route: { name: "fast", field: "model" },
    fallsBackTo: "REAL_MODEL_NAME",
    required:
      "is required: set it to the model every request is forced onto, e.g. accounts/fireworks/models/deepseek-v4-pro (the old name REAL_MODEL_NAME works too)",
    help: "the model forced on fast requests",
  },
  {
    name: "SMART_BASE_URL",
    kind: "url",
    route: { name: "smart", field: "baseUrl" },
    fallsBackTo: "FAST_BASE_URL",
    help: "backend base URL of the smart route (default: FAST_BASE_URL)",
  },
  {
    name: "SMART_API_KEY",
    kind: "key",
    route: { name: "smart", field: "apiKey" },
    fallsBackTo: "FAST_API_KEY",
    help: "real key for the smart route's backend (default: FAST_API_KEY)",
  },
  {
    name: "SMART_MODEL_NAME",
    kind: "model",
    route: { name: "smart", field: "model" },
    fallsBackTo: "FAST_MODEL_NAME",
    help: "the model forced on smart requests (default: FAST_MODEL_NAME)",
  },
  {
    name: "FAST_RESPONSES_API",
    kind: "choice",
    default: "auto",
    choices: {
      auto: "ask the backend once whether it has /v1/responses (see README)",
      native: "the backend has /v1/responses: requests go there, byte-faithful but for the model",
      translate: "the backend has only /v1/chat/completions: requests and answers are translated",
    },
    route: { name: "fast", field: "responses" },
    help: "how the fast route serves /v1/responses: auto, native or translate",
  },
  {
    name: "SMART_RESPONSES_API",
    kind: "choice",
    choices: {
      auto: "ask the backend once whether it has /v1/responses",
      native: "the backend has /v1/responses",
      translate: "the backend has only /v1/chat/completions",
    },
    route: { name: "smart", field: "responses" },
    fallsBackTo: "FAST_RESPONSES_API",
    help: "how the smart route serves /v1/responses (default: FAST_RESPONSES_API)",
  },
  { name: "REAL_BASE_URL", kind: "url", help: "old name of FAST_BASE_URL" },
  { name: "REAL_API_KEY", kind: "key", help: "old name of FAST_API_KEY" },
  { name: "REAL_MODEL_NAME", kind: "model", help: "old name of FAST_MODEL_NAME" },
];

/** The proxy's own settings. */
export const SETTING_VARIABLES: readonly Variable[] = [
  {
    name: "PROXY_PORT",
    kind: "integer",
    field: "port",
    default: "8086",
    min: 0,
    max: 65535,
    help: "listen port (0 = any free port)",
  },
  {
    name: "BIND_HOST",
    kind: "host",
    field: "bindHost",
    default: "0.0.0.0",
    demoDefault: "127.0.0.1",
    help: "listen address (demo mode: 127.0.0.1)",
  },
  {
    name: "PROXY_TIMEOUT",
    kind: "seconds",
    field: "timeoutMs",
    default: "120",
    help: "wait for a backend's first answer (0 = none)",
  },
  {
    name: "PROXY_HEAD_TIMEOUT",
    kind: "seconds",
    field: "headTimeoutMs",
    default: "15",
    help:
      "for a stream that can still fall back: seconds without the backend's response head before modelpin asks it whether it is alive (0 = never)",
  },
  {
    name: "PROXY_IDLE_TIMEOUT",
    kind: "seconds",
    field: "idleTimeoutMs",
    default: "60",
    help: "silence inside a stream before it is ended (0 = off)",
  },
  {
    name: "PROXY_RETRIES",
    kind: "integer",
    field: "retries",
    default: "1",
    min: 0,
    max: 3,
    help:
      "retries on the same route after a transient failure (a 5xx, a reset, a 429 asking for at most 5 s) before falling back (0 = off)",
  },
  {
    name: "PROXY_BREAKER_FAILURES",
    kind: "integer",
    field: "breakerFailures",
    default: "3",
    min: 0,
    max: 1_000_000,
    help: "failures in a row that cool a route (0 = breaker off)",
  },
  {
    name: "PROXY_BREAKER_COOLDOWN",
    kind: "seconds",
    field: "breakerCooldownMs",
    default: "30",
    help: "seconds a cooling route is skipped",
  },
  {
    name: "PROXY_SHUTDOWN_GRACE",
    kind: "seconds",
    field: "shutdownGraceMs",
    default: "30",
    help: "seconds shutdown waits for open requests",
  },
  {
    name: "PROXY_MAX_BODY_MB",
    kind: "megabytes",
    field: "maxBodyBytes",
    default: "32",
    help: "largest request body",
  },
  {
    name: "PROXY_API_KEYS",
    kind: "list",
    field: "proxyApiKeys",
    default: "",
    help: "keys clients must send; empty = no inbound auth",
  },
  {
    name: "PROXY_LOG",
    kind: "choice",
    field: "log",
    default: "on",
    choices: { on: "one readable line per request", off: "no request log", json: "one JSON object per request" },
    aliases: { "1": "on", true: "on", yes: "on", "0": "off", false: "off", no: "off" },
    help: "the request log on stdout",
  },
  {
    name: "ANTHROPIC_FAST_MODELS",
    kind: "list",
    field: "anthropicFastModels",
    default: "haiku",
    lowerCase: true,
    help: "on /v1/messages, Claude model names containing one of these go to fast; the rest to smart",
  },
  {
    name: "ANTHROPIC_MAX_TOKENS",
    kind: "integer",
    field: "anthropicMaxTokens",
    default: "0",
    min: 0,
    max: 10_000_000,
    help: "on /v1/messages, the largest max_tokens sent to the backend (0 = as the client asks)",
  },
  { name: "PROXY_UPSTREAM_CLIENT", kind: "retired", help: "no longer used: fetch is the only upstream client" },
];

/** Every variable modelpin reads, in table order. */
export const VARIABLES: readonly Variable[] = [...ROUTE_VARIABLES, ...SETTING_VARIABLES];

/** The variable named `name`; throws for a name not in the table (a programming error). */
export function variable(name: string): Variable {
  const found = VARIABLES.find((v) => v.name === name);
  if (!found) throw new Error(`no configuration variable ${name}`);
  return found;
}
