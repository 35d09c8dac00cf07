import assert from "node:assert/strict";
import {
  type Config,
  CONFIG_VARIABLES,
  ConfigError,
  type ConfigSource,
  DEMO_MODEL,
  mergeSources,
  parseConfig,
} from "../../../src/config/config.ts";
import { VARIABLES } from "../../../src/config/variables.ts";

const FW = "https://api.fireworks.ai/inference/v1";
const OR = "https://openrouter.ai/api/v1";

function problemsOf(source: ConfigSource): ConfigError {
  try {
    parseConfig(source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err;
  }
  assert.fail(`expected ConfigError for ${JSON.stringify(source)}`);
}

function variablesOf(err: ConfigError): string[] {
  return err.problems.map((p) => p.variable).sort();
}

// ---------------------------------------------------------------------------
// Routes: FAST_*, REAL_* (old names) and SMART_* (individual fallback to fast)
// ---------------------------------------------------------------------------

interface RouteCase {
  name: string;
  source: ConfigSource;
  fast: { url: string; key: string; model: string };
  smart: { url: string; key: string; model: string };
  fallback: boolean;
}

const routeCases: RouteCase[] = [
  {
    name: "FAST_* only: smart copies fast, fallback off",
    source: { FAST_BASE_URL: FW, FAST_API_KEY: "fk", FAST_MODEL_NAME: "m1" },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: FW, key: "fk", model: "m1" },
    fallback: false,
  },
  {
    name: "REAL_* old names used when FAST_* unset",
    source: { REAL_BASE_URL: OR, REAL_API_KEY: "rk", REAL_MODEL_NAME: "rm" },
    fast: { url: OR, key: "rk", model: "rm" },
    smart: { url: OR, key: "rk", model: "rm" },
    fallback: false,
  },
  {
    name: "FAST_* wins over REAL_* when both set",
    source: {
      FAST_BASE_URL: FW,
      FAST_API_KEY: "fk",
      FAST_MODEL_NAME: "fm",
      REAL_BASE_URL: OR,
      REAL_API_KEY: "rk",
      REAL_MODEL_NAME: "rm",
    },
    fast: { url: FW, key: "fk", model: "fm" },
    smart: { url: FW, key: "fk", model: "fm" },
    fallback: false,
  },
  {
    name: "REAL_* fills each unset FAST_* individually",
    source: { FAST_BASE_URL: FW, REAL_API_KEY: "rk", REAL_MODEL_NAME: "rm", REAL_BASE_URL: OR },
    fast: { url: FW, key: "rk", model: "rm" },
    smart: { url: FW, key: "rk", model: "rm" },
    fallback: false,
  },
  {
    name: "empty FAST_* counts as unset, REAL_* used",
    source: { FAST_BASE_URL: "", FAST_MODEL_NAME: "  ", REAL_BASE_URL: OR, REAL_MODEL_NAME: "rm" },
    fast: { url: OR, key: "", model: "rm" },
    smart: { url: OR, key: "", model: "rm" },
    fallback: false,
  },
  {
    name: "SMART_MODEL_NAME alone: url and key from fast, fallback on",
    source: { FAST_BASE_URL: FW, FAST_API_KEY: "fk", FAST_MODEL_NAME: "m1", SMART_MODEL_NAME: "m2" },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: FW, key: "fk", model: "m2" },
    fallback: true,
  },
  {
    name: "SMART_BASE_URL alone: model and key from fast, fallback on",
    source: { FAST_BASE_URL: FW, FAST_API_KEY: "fk", FAST_MODEL_NAME: "m1", SMART_BASE_URL: OR },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: OR, key: "fk", model: "m1" },
    fallback: true,
  },
  {
    name: "SMART_API_KEY alone: fallback on (keys differ)",
    source: { FAST_BASE_URL: FW, FAST_API_KEY: "fk", FAST_MODEL_NAME: "m1", SMART_API_KEY: "sk" },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: FW, key: "sk", model: "m1" },
    fallback: true,
  },
  {
    name: "SMART_* equal to FAST_*: fallback off",
    source: {
      FAST_BASE_URL: FW,
      FAST_API_KEY: "fk",
      FAST_MODEL_NAME: "m1",
      SMART_BASE_URL: FW,
      SMART_API_KEY: "fk",
      SMART_MODEL_NAME: "m1",
    },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: FW, key: "fk", model: "m1" },
    fallback: false,
  },
  {
    name: "SMART_* falls back to REAL_* values",
    source: { REAL_BASE_URL: FW, REAL_API_KEY: "rk", REAL_MODEL_NAME: "rm", SMART_MODEL_NAME: "big" },
    fast: { url: FW, key: "rk", model: "rm" },
    smart: { url: FW, key: "rk", model: "big" },
    fallback: true,
  },
  {
    name: "empty FAST_API_KEY allowed (local backend)",
    source: { FAST_BASE_URL: "http://127.0.0.1:11434/v1", FAST_MODEL_NAME: "llama3" },
    fast: { url: "http://127.0.0.1:11434/v1", key: "", model: "llama3" },
    smart: { url: "http://127.0.0.1:11434/v1", key: "", model: "llama3" },
    fallback: false,
  },
  {
    name: "values are trimmed",
    source: { FAST_BASE_URL: `  ${FW}  `, FAST_API_KEY: " fk ", FAST_MODEL_NAME: " m1 " },
    fast: { url: FW, key: "fk", model: "m1" },
    smart: { url: FW, key: "fk", model: "m1" },
    fallback: false,
  },
];

for (const c of routeCases) {
  Deno.test(`config routes: ${c.name}`, () => {
    const config = parseConfig(c.source);
    assert.equal(config.demo, false);
    for (const [route, want] of [[config.fast, c.fast], [config.smart, c.smart]] as const) {
      assert.equal(route.baseUrl?.href, new URL(want.url).href, `${route.name} url`);
      assert.equal(route.apiKey, want.key, `${route.name} key`);
      assert.equal(route.model, want.model, `${route.name} model`);
    }
    assert.equal(config.fast.name, "fast");
    assert.equal(config.smart.name, "smart");
    assert.equal(config.fallback, c.fallback);
  });
}

// ---------------------------------------------------------------------------
// Demo mode
// ---------------------------------------------------------------------------

const demoCases: { name: string; source: ConfigSource; demo: boolean }[] = [
  { name: "empty source", source: {}, demo: true },
  { name: "only non-route variables", source: { PROXY_PORT: "9000", PROXY_TIMEOUT: "5" }, demo: true },
  { name: "route variables set but empty", source: { FAST_BASE_URL: "", REAL_MODEL_NAME: " " }, demo: true },
  { name: "FAST_API_KEY alone is not demo", source: { FAST_API_KEY: "k" }, demo: false },
  { name: "REAL_BASE_URL alone is not demo", source: { REAL_BASE_URL: FW }, demo: false },
  { name: "SMART_MODEL_NAME alone is not demo", source: { SMART_MODEL_NAME: "m" }, demo: false },
];

for (const c of demoCases) {
  Deno.test(`config demo mode: ${c.name} -> demo=${c.demo}`, () => {
    if (c.demo) {
      const config = parseConfig(c.source);
      assert.equal(config.demo, true);
      assert.equal(config.fallback, false);
      assert.equal(config.fast.baseUrl, null);
      assert.equal(config.smart.baseUrl, null);
      assert.equal(config.fast.model, DEMO_MODEL);
      assert.equal(config.smart.model, DEMO_MODEL);
      assert.equal(config.fast.apiKey, "");
      assert.equal(config.bindHost, "127.0.0.1", "demo binds loopback by default");
    } else {
      // Not demo: the missing required route variables must be reported instead.
      const err = problemsOf(c.source);
      assert.ok(err.problems.length > 0);
    }
  });
}

Deno.test("config demo mode: explicit BIND_HOST still wins", () => {
  assert.equal(parseConfig({ BIND_HOST: "192.168.1.2" }).bindHost, "192.168.1.2");
});

// ---------------------------------------------------------------------------
// Required variables
// ---------------------------------------------------------------------------

const requiredCases: { name: string; source: ConfigSource; bad: string[] }[] = [
  { name: "model missing", source: { FAST_BASE_URL: FW }, bad: ["FAST_MODEL_NAME"] },
  { name: "url missing", source: { FAST_MODEL_NAME: "m" }, bad: ["FAST_BASE_URL"] },
  { name: "only a key", source: { FAST_API_KEY: "k" }, bad: ["FAST_BASE_URL", "FAST_MODEL_NAME"] },
  {
    name: "only smart",
    source: { SMART_BASE_URL: FW, SMART_MODEL_NAME: "m" },
    bad: ["FAST_BASE_URL", "FAST_MODEL_NAME"],
  },
  { name: "old url, no model", source: { REAL_BASE_URL: FW }, bad: ["FAST_MODEL_NAME"] },
];

for (const c of requiredCases) {
  Deno.test(`config required: ${c.name} reports ${c.bad.join(", ")}`, () => {
    const err = problemsOf(c.source);
    assert.deepEqual(variablesOf(err), [...c.bad].sort());
    for (const v of c.bad) assert.match(err.message, new RegExp(v));
  });
}

// ---------------------------------------------------------------------------
// Invalid values: each reported by name
// ---------------------------------------------------------------------------

const GOOD = { FAST_BASE_URL: FW, FAST_MODEL_NAME: "m" };

const badValueCases: { name: string; source: ConfigSource; bad: string }[] = [
  { name: "ftp scheme", source: { ...GOOD, FAST_BASE_URL: "ftp://example.com/v1" }, bad: "FAST_BASE_URL" },
  { name: "no scheme", source: { ...GOOD, FAST_BASE_URL: "api.openai.com/v1" }, bad: "FAST_BASE_URL" },
  { name: "host:port without scheme", source: { ...GOOD, FAST_BASE_URL: "localhost:11434/v1" }, bad: "FAST_BASE_URL" },
  { name: "not a URL", source: { ...GOOD, FAST_BASE_URL: "http://" }, bad: "FAST_BASE_URL" },
  { name: "bad old-name url", source: { REAL_BASE_URL: "ws://x", REAL_MODEL_NAME: "m" }, bad: "REAL_BASE_URL" },
  { name: "bad smart url", source: { ...GOOD, SMART_BASE_URL: "file:///etc/passwd" }, bad: "SMART_BASE_URL" },
  { name: "credentials in url", source: { ...GOOD, FAST_BASE_URL: "https://u:p@h.example/v1" }, bad: "FAST_BASE_URL" },
  { name: "port too big", source: { ...GOOD, PROXY_PORT: "65536" }, bad: "PROXY_PORT" },
  { name: "port negative", source: { ...GOOD, PROXY_PORT: "-1" }, bad: "PROXY_PORT" },
  { name: "port not numeric", source: { ...GOOD, PROXY_PORT: "http" }, bad: "PROXY_PORT" },
  { name: "port fractional", source: { ...GOOD, PROXY_PORT: "80.5" }, bad: "PROXY_PORT" },
  { name: "timeout not numeric", source: { ...GOOD, PROXY_TIMEOUT: "abc" }, bad: "PROXY_TIMEOUT" },
  { name: "timeout with unit", source: { ...GOOD, PROXY_TIMEOUT: "10s" }, bad: "PROXY_TIMEOUT" },
  { name: "timeout negative", source: { ...GOOD, PROXY_TIMEOUT: "-5" }, bad: "PROXY_TIMEOUT" },
  { name: "idle timeout not numeric", source: { ...GOOD, PROXY_IDLE_TIMEOUT: "never" }, bad: "PROXY_IDLE_TIMEOUT" },
  {
    name: "breaker failures fractional",
    source: { ...GOOD, PROXY_BREAKER_FAILURES: "1.5" },
    bad: "PROXY_BREAKER_FAILURES",
  },
  { name: "breaker cooldown garbage", source: { ...GOOD, PROXY_BREAKER_COOLDOWN: "x" }, bad: "PROXY_BREAKER_COOLDOWN" },
  { name: "shutdown grace garbage", source: { ...GOOD, PROXY_SHUTDOWN_GRACE: "1m" }, bad: "PROXY_SHUTDOWN_GRACE" },
  { name: "max body zero", source: { ...GOOD, PROXY_MAX_BODY_MB: "0" }, bad: "PROXY_MAX_BODY_MB" },
  { name: "max body garbage", source: { ...GOOD, PROXY_MAX_BODY_MB: "lots" }, bad: "PROXY_MAX_BODY_MB" },
  { name: "bind host with space", source: { ...GOOD, BIND_HOST: "my host" }, bad: "BIND_HOST" },
  { name: "bind host with scheme", source: { ...GOOD, BIND_HOST: "http://0.0.0.0" }, bad: "BIND_HOST" },
  { name: "bind host bad ipv6", source: { ...GOOD, BIND_HOST: "::zz" }, bad: "BIND_HOST" },
  { name: "log flag garbage", source: { ...GOOD, PROXY_LOG: "maybe" }, bad: "PROXY_LOG" },
  { name: "key with line break", source: { ...GOOD, FAST_API_KEY: "abc\ndef" }, bad: "FAST_API_KEY" },
  { name: "smart key with line break", source: { ...GOOD, SMART_API_KEY: "abc\rdef" }, bad: "SMART_API_KEY" },
  { name: "old-name key with line break", source: { ...GOOD, REAL_API_KEY: "abc\ndef" }, bad: "REAL_API_KEY" },
];

for (const c of badValueCases) {
  Deno.test(`config invalid: ${c.name} -> ${c.bad}`, () => {
    const err = problemsOf(c.source);
    assert.deepEqual(variablesOf(err), [c.bad]);
    assert.ok(err.problems[0].message.length > 10, "message explains the fix");
    assert.ok(err.message.includes(c.bad));
  });
}

Deno.test("config invalid: every bad variable is reported at once", () => {
  const err = problemsOf({
    FAST_BASE_URL: "ftp://example.com/v1",
    SMART_BASE_URL: "api.openai.com/v1",
    PROXY_PORT: "99999",
    PROXY_TIMEOUT: "abc",
    PROXY_IDLE_TIMEOUT: "-1",
    PROXY_BREAKER_FAILURES: "x",
    PROXY_BREAKER_COOLDOWN: "soon",
    PROXY_SHUTDOWN_GRACE: "?",
    PROXY_MAX_BODY_MB: "0",
    BIND_HOST: "bad host",
    PROXY_LOG: "loud",
  });
  assert.deepEqual(
    variablesOf(err),
    [
      "BIND_HOST",
      "FAST_BASE_URL",
      "FAST_MODEL_NAME",
      "PROXY_BREAKER_COOLDOWN",
      "PROXY_BREAKER_FAILURES",
      "PROXY_IDLE_TIMEOUT",
      "PROXY_LOG",
      "PROXY_MAX_BODY_MB",
      "PROXY_PORT",
      "PROXY_SHUTDOWN_GRACE",
      "PROXY_TIMEOUT",
      "SMART_BASE_URL",
    ],
  );
  // One message naming each of them.
  for (const p of err.problems) assert.ok(err.message.includes(p.variable), p.variable);
  assert.equal(err.name, "ConfigError");
});

// ---------------------------------------------------------------------------
// Keys never appear in error messages
// ---------------------------------------------------------------------------

const SECRET = "sk-live-7f3a9c0e1b2d4f6a8c0e2b4d";

const keyLeakCases: { name: string; source: ConfigSource; secret: string }[] = [
  {
    name: "keys set alongside other errors",
    source: {
      FAST_BASE_URL: "ftp://x",
      FAST_API_KEY: SECRET,
      SMART_API_KEY: SECRET + "-smart",
      PROXY_PORT: "x",
      PROXY_API_KEYS: "inbound-" + SECRET,
    },
    secret: SECRET,
  },
  { name: "key with a line break", source: { ...GOOD, FAST_API_KEY: `${SECRET}\n` + "x" }, secret: SECRET },
  { name: "smart key with a line break", source: { ...GOOD, SMART_API_KEY: `a\r${SECRET}` }, secret: SECRET },
  { name: "old-name key with a line break", source: { ...GOOD, REAL_API_KEY: `${SECRET}\nz` }, secret: SECRET },
  { name: "inbound keys with errors", source: { ...GOOD, PROXY_API_KEYS: SECRET, PROXY_LOG: "??" }, secret: SECRET },
  {
    name: "credentials inside a valid URL",
    source: { ...GOOD, FAST_BASE_URL: `https://user:${SECRET}@api.example.com/v1` },
    secret: SECRET,
  },
  {
    name: "credentials inside a URL with a bad scheme",
    source: { ...GOOD, FAST_BASE_URL: `ftp://user:${SECRET}@api.example.com/v1` },
    secret: SECRET,
  },
];

for (const c of keyLeakCases) {
  Deno.test(`config errors never show a key: ${c.name}`, () => {
    const err = problemsOf(c.source);
    assert.ok(!err.message.includes(c.secret), `message leaks the key: ${err.message}`);
    for (const p of err.problems) assert.ok(!p.message.includes(c.secret), `${p.variable} leaks the key`);
    assert.ok(!String(err.stack).includes(c.secret));
  });
}

// ---------------------------------------------------------------------------
// Defaults and accepted values
// ---------------------------------------------------------------------------

Deno.test("config defaults", () => {
  const config = parseConfig(GOOD);
  const expected: Partial<Config> = {
    port: 8086,
    bindHost: "0.0.0.0",
    timeoutMs: 120_000,
    idleTimeoutMs: 60_000,
    breakerFailures: 3,
    breakerCooldownMs: 30_000,
    shutdownGraceMs: 30_000,
    maxBodyBytes: 32 * 1024 * 1024,
    proxyApiKeys: [],
    log: "on",
    demo: false,
    fallback: false,
    dotenvSkippedLines: [],
  };
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(config[k as keyof Config], v, k);
  }
});

const valueCases: { name: string; source: ConfigSource; field: keyof Config; want: unknown }[] = [
  { name: "port 0", source: { PROXY_PORT: "0" }, field: "port", want: 0 },
  { name: "port 65535", source: { PROXY_PORT: "65535" }, field: "port", want: 65535 },
  { name: "port trimmed", source: { PROXY_PORT: " 9000 " }, field: "port", want: 9000 },
  { name: "empty port = default", source: { PROXY_PORT: "" }, field: "port", want: 8086 },
  { name: "timeout 0 = off", source: { PROXY_TIMEOUT: "0" }, field: "timeoutMs", want: 0 },
  { name: "timeout decimal", source: { PROXY_TIMEOUT: "1.5" }, field: "timeoutMs", want: 1500 },
  { name: "timeout whole", source: { PROXY_TIMEOUT: "300" }, field: "timeoutMs", want: 300_000 },
  { name: "idle 0 = off", source: { PROXY_IDLE_TIMEOUT: "0" }, field: "idleTimeoutMs", want: 0 },
  { name: "breaker 0 = off", source: { PROXY_BREAKER_FAILURES: "0" }, field: "breakerFailures", want: 0 },
  { name: "cooldown", source: { PROXY_BREAKER_COOLDOWN: "5" }, field: "breakerCooldownMs", want: 5000 },
  { name: "grace", source: { PROXY_SHUTDOWN_GRACE: "2" }, field: "shutdownGraceMs", want: 2000 },
  { name: "max body 1", source: { PROXY_MAX_BODY_MB: "1" }, field: "maxBodyBytes", want: 1048576 },
  { name: "max body 0.5", source: { PROXY_MAX_BODY_MB: "0.5" }, field: "maxBodyBytes", want: 524288 },
  { name: "api keys split", source: { PROXY_API_KEYS: " a, b ,,c " }, field: "proxyApiKeys", want: ["a", "b", "c"] },
  { name: "api keys empty", source: { PROXY_API_KEYS: " , " }, field: "proxyApiKeys", want: [] },
  { name: "log off", source: { PROXY_LOG: "off" }, field: "log", want: "off" },
  { name: "log 0", source: { PROXY_LOG: "0" }, field: "log", want: "off" },
  { name: "log OFF", source: { PROXY_LOG: "OFF" }, field: "log", want: "off" },
  { name: "log on", source: { PROXY_LOG: "on" }, field: "log", want: "on" },
  { name: "bind ipv4 LAN", source: { BIND_HOST: "192.168.1.2" }, field: "bindHost", want: "192.168.1.2" },
  { name: "bind ipv6", source: { BIND_HOST: "::1" }, field: "bindHost", want: "::1" },
  { name: "bind bracketed ipv6", source: { BIND_HOST: "[::]" }, field: "bindHost", want: "::" },
  { name: "bind hostname", source: { BIND_HOST: "router.lan" }, field: "bindHost", want: "router.lan" },
  { name: "bind localhost", source: { BIND_HOST: "localhost" }, field: "bindHost", want: "localhost" },
];

for (const c of valueCases) {
  Deno.test(`config value: ${c.name}`, () => {
    const config = parseConfig({ ...GOOD, ...c.source });
    assert.deepEqual(config[c.field], c.want);
  });
}

Deno.test("config: dotenv skipped lines are carried into the config", () => {
  assert.deepEqual(parseConfig(GOOD, [3, 7]).dotenvSkippedLines, [3, 7]);
});

Deno.test("config: URL fragment is dropped, path and query kept", () => {
  const config = parseConfig({ ...GOOD, FAST_BASE_URL: "https://h.example:8443/openai/v1?api-version=1#frag" });
  assert.equal(config.fast.baseUrl?.href, "https://h.example:8443/openai/v1?api-version=1");
});

// ---------------------------------------------------------------------------
// mergeSources: environment wins over .env
// ---------------------------------------------------------------------------

const mergeCases: {
  name: string;
  env: ConfigSource;
  dotenv: string | undefined;
  want: Record<string, string>;
  absent?: string[];
  skipped?: number[];
}[] = [
  {
    name: "no .env file",
    env: { FAST_MODEL_NAME: "env" },
    dotenv: undefined,
    want: { FAST_MODEL_NAME: "env" },
  },
  {
    name: "env wins over .env, .env fills the rest",
    env: { FAST_MODEL_NAME: "from-env" },
    dotenv: "FAST_MODEL_NAME=from-file\nFAST_BASE_URL=https://x.example/v1\n",
    want: { FAST_MODEL_NAME: "from-env", FAST_BASE_URL: "https://x.example/v1" },
  },
  {
    name: "env set to empty still wins (python-dotenv does not override)",
    env: { FAST_API_KEY: "" },
    dotenv: "FAST_API_KEY=file-key\n",
    want: { FAST_API_KEY: "" },
  },
  {
    name: "undefined env entries do not hide .env",
    env: { FAST_API_KEY: undefined },
    dotenv: "FAST_API_KEY=file-key\n",
    want: { FAST_API_KEY: "file-key" },
  },
  {
    name: ".env interpolation sees the environment",
    env: { PROXY_PORT: "9001" },
    dotenv: "FAST_MODEL_NAME=model-${PROXY_PORT}\n",
    want: { FAST_MODEL_NAME: "model-9001", PROXY_PORT: "9001" },
  },
  {
    name: "skipped lines are reported",
    env: {},
    dotenv: "A=1\nB='unterminated\nC=3\n",
    want: { A: "1", C: "3" },
    absent: ["B"],
    skipped: [2],
  },
];

for (const c of mergeCases) {
  Deno.test(`config mergeSources: ${c.name}`, () => {
    const { source, skippedLines } = mergeSources(c.env, c.dotenv);
    for (const [k, v] of Object.entries(c.want)) assert.equal(source[k], v, k);
    for (const k of c.absent ?? []) assert.equal(source[k], undefined, k);
    assert.deepEqual(skippedLines, c.skipped ?? []);
  });
}

Deno.test("config mergeSources: does not mutate the environment object", () => {
  const env: ConfigSource = { FAST_MODEL_NAME: "e" };
  const { source } = mergeSources(env, "FAST_BASE_URL=https://x.example\n");
  source.FAST_MODEL_NAME = "changed";
  assert.deepEqual(env, { FAST_MODEL_NAME: "e" });
});

Deno.test("config mergeSources + parseConfig: an old Python-proxy .env works unchanged", () => {
  const oldDotenv = [
    "# modelpin (python) settings",
    "REAL_BASE_URL=https://api.fireworks.ai/inference/v1",
    'REAL_API_KEY="fw_abc123"',
    "REAL_MODEL_NAME=accounts/fireworks/models/deepseek-v4-pro",
    "PROXY_PORT=8086",
    "",
  ].join("\n");
  const { source, skippedLines } = mergeSources({}, oldDotenv);
  const config = parseConfig(source, skippedLines);
  assert.equal(config.demo, false);
  assert.equal(config.fast.baseUrl?.href, "https://api.fireworks.ai/inference/v1");
  assert.equal(config.fast.apiKey, "fw_abc123");
  assert.equal(config.fast.model, "accounts/fireworks/models/deepseek-v4-pro");
  assert.equal(config.smart.model, config.fast.model);
  assert.equal(config.port, 8086);
  assert.deepEqual(config.dotenvSkippedLines, []);
});

Deno.test("config: timeouts too large for a timer are refused, tiny ones stay timeouts", () => {
  const base = { FAST_BASE_URL: "https://h/v1", FAST_MODEL_NAME: "m" };
  assert.throws(
    () => parseConfig({ ...base, PROXY_TIMEOUT: "99999999", PROXY_SHUTDOWN_GRACE: "3000000" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.variable), ["PROXY_TIMEOUT", "PROXY_SHUTDOWN_GRACE"]);
      return true;
    },
  );
  assert.equal(parseConfig({ ...base, PROXY_TIMEOUT: "0.0001" }).timeoutMs, 1);
  assert.equal(parseConfig({ ...base, PROXY_TIMEOUT: "2147483" }).timeoutMs, 2_147_483_000);
  assert.equal(parseConfig({ ...base, PROXY_TIMEOUT: "0" }).timeoutMs, 0);
});

Deno.test("config: a key with a space or a smart quote from a copy-paste is refused by name, not echoed", () => {
  assert.throws(
    () =>
      parseConfig({
        FAST_BASE_URL: "https://h/v1",
        FAST_MODEL_NAME: "m",
        FAST_API_KEY: "\u201csk-pasted-key-123\u201d",
        SMART_API_KEY: "sk-with space",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.variable), ["FAST_API_KEY", "SMART_API_KEY"]);
      assert.ok(!err.message.includes("sk-pasted-key-123") && !err.message.includes("with space"));
      return true;
    },
  );
});

Deno.test("config: BIND_HOST that only looks like IPv4 is refused; a trailing slash does not make routes differ", () => {
  const base = { FAST_BASE_URL: "https://h/v1", FAST_MODEL_NAME: "m" };
  for (const host of ["999.1.1.1", "192.168.1", "1.2.3.4.5"]) {
    assert.throws(() => parseConfig({ ...base, BIND_HOST: host }), /BIND_HOST/, host);
  }
  assert.equal(parseConfig({ ...base, BIND_HOST: "192.168.1.2" }).bindHost, "192.168.1.2");
  assert.equal(parseConfig({ ...base, SMART_BASE_URL: "https://h/v1/" }).fallback, false);
  assert.equal(parseConfig({ ...base, SMART_BASE_URL: "https://h/v2" }).fallback, true);
});

Deno.test("config: the retired PROXY_UPSTREAM_CLIENT still starts, and is reported so the user can remove it", () => {
  const config = parseConfig({ FAST_BASE_URL: FW, FAST_MODEL_NAME: "m", PROXY_UPSTREAM_CLIENT: "auto" });
  assert.deepEqual(config.retiredSet, ["PROXY_UPSTREAM_CLIENT"]);
  assert.deepEqual(parseConfig({ FAST_BASE_URL: FW, FAST_MODEL_NAME: "m" }).retiredSet, []);
});

Deno.test(".env.example: copied as it is, it sends no placeholder key to a backend", async () => {
  const text = await Deno.readTextFile(new URL("../../../.env.example", import.meta.url));
  const { source } = mergeSources({}, text);
  assert.equal(source.FAST_API_KEY, undefined, "FAST_API_KEY is commented out");
  assert.equal(source.SMART_API_KEY, undefined);
  assert.equal(parseConfig(source).fast.apiKey, "");
});

Deno.test("config table: README and .env.example mention every variable", async () => {
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const example = await Deno.readTextFile(new URL("../../../.env.example", import.meta.url));
  for (const v of VARIABLES) {
    assert.ok(readme.includes(`\`${v.name}\``), `README.md does not mention ${v.name}`);
    if (v.kind !== "retired" && !v.name.startsWith("REAL_")) {
      assert.ok(new RegExp(`^#?${v.name}=`, "m").test(example), `.env.example has no line for ${v.name}`);
    }
  }
});

Deno.test("config table: each variable once, and the sandbox grants exactly the table's names", () => {
  const names = VARIABLES.map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual([...CONFIG_VARIABLES], names);
  for (const v of VARIABLES) assert.ok(v.help.length > 5, `${v.name} has help text`);
});

Deno.test("config: PROXY_LOG=json writes JSON lines; ANTHROPIC_FAST_MODELS is a lower-cased list", () => {
  assert.equal(parseConfig({ PROXY_LOG: "JSON" }).log, "json");
  assert.equal(parseConfig({ PROXY_LOG: "on" }).log, "on");
  assert.deepEqual(parseConfig({}).anthropicFastModels, ["haiku"]);
  assert.deepEqual(parseConfig({ ANTHROPIC_FAST_MODELS: " Haiku , Sonnet-4 ," }).anthropicFastModels, [
    "haiku",
    "sonnet-4",
  ]);
});
