/**
 * End-to-end fallback, same-route retry and circuit-breaker tests: real fake backends, raw TCP faults, the
 * whole proxy in-process. (The pure decisions in src/proxy/routing.ts and src/upstream/failure.ts are
 * unit-tested under tests/unit/proxy/.)
 */

import assert from "node:assert/strict";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { logLines, post, startProxy, type TestProxy } from "../support/proxy.ts";
import {
  ALL_KEYS,
  chat,
  CLIENT_KEY,
  KEYS,
  MODELS,
  ONE_ATTEMPT,
  oneRoute,
  type RouteName,
  twoRoutes,
} from "../support/routes.ts";
import { rawBackend, refusedPortUrl } from "../support/raw_tcp.ts";
import { assertNoKeys, deferred, delay, eventually, within } from "../support/stream_tools.ts";

const other = (r: RouteName): RouteName => r === "fast" ? "smart" : "fast";

// Every proxy here gets ONE_ATTEMPT unless a test says otherwise: these tests pin the fallback itself, one attempt
// per route; the same-route retry before it has its own tests (the ones with PROXY_RETRIES "1").

/** The route URLs (fast, then smart) with `primary` on `primaryUrl` and the other route on `secondaryUrl`. */
function urlsFor(primary: RouteName, primaryUrl: string, secondaryUrl: string): [fast: string, smart: string] {
  return primary === "fast" ? [primaryUrl, secondaryUrl] : [secondaryUrl, primaryUrl];
}

/** A healthy backend that answers with a completion naming its route. */
function goodBackend(route: RouteName) {
  return fakeBackend(() => jsonResponse(completion(`answer from ${route}`, MODELS[route])));
}

/** Asserts that a backend request was forced onto `route`'s model and key. */
function assertForced(seen: { json?: Record<string, unknown>; headers: Headers }, route: RouteName): void {
  assert.equal(seen.json?.model, MODELS[route]);
  assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS[route]}`);
  assert.ok(Array.isArray(seen.json?.messages), "the rest of the body passes through");
}

interface Health {
  fallback: boolean;
  routes: Record<
    RouteName,
    { host: string; model: string; breaker: { state: string; failures: number; until?: string } }
  >;
}

async function health(proxy: TestProxy): Promise<Health> {
  const res = await fetch(`${proxy.url}/health`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assertNoKeys(text, ALL_KEYS, "/health");
  return JSON.parse(text);
}

/** A failing backend, however it fails. */
interface Failing extends AsyncDisposable {
  baseUrl: string;
  /** Requests (or connections) it received; `undefined` when it cannot count (nothing listens). */
  calls(): number | undefined;
  /** Checks once the request is over (what it saw; that the proxy closed a hung connection). */
  after(route: RouteName): Promise<void>;
}

function statusBackend(status: number, body: unknown, headers: Record<string, string> = {}): Failing {
  const backend = fakeBackend(() => jsonResponse(body, status, headers));
  return {
    baseUrl: backend.baseUrl,
    calls: () => backend.seen.length,
    after: (route) => Promise.resolve(assertForced(backend.seen[0], route)),
    [Symbol.asyncDispose]: () => backend.close(),
  };
}

function hangBackend(): Failing {
  const raw = rawBackend({ kind: "hang" });
  return {
    baseUrl: raw.baseUrl,
    calls: () => raw.connections.length,
    async after(route) {
      const head = await raw.connections[0].head;
      assert.match(head, /^POST \/v1\/chat\/completions HTTP\/1\.1/);
      assert.match(head, new RegExp(`\r\nauthorization: Bearer ${KEYS[route]}\r\n`, "i"));
      // The timed-out attempt is aborted: the proxy closes the hung connection.
      await within(raw.connections[0].closedByPeer, 2000, "the proxy to close the hung connection");
    },
    [Symbol.asyncDispose]: () => raw.close(),
  };
}

function refusedBackend(): Failing {
  return {
    baseUrl: refusedPortUrl(),
    calls: () => undefined,
    after: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function resetBackend(): Failing {
  const raw = rawBackend({ kind: "reset" });
  return {
    baseUrl: raw.baseUrl,
    calls: () => raw.connections.length,
    after: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => raw.close(),
  };
}

interface Trigger {
  name: string;
  /** Text the log line's fallback reason must contain. */
  reason: string;
  env?: Record<string, string>;
  make(): Failing;
}

const statusTrigger = (status: number): Trigger => ({
  name: `HTTP ${status}`,
  reason: String(status),
  make: () =>
    statusBackend(status, { error: { message: `primary says ${status}`, type: "server_error" } }, {
      "retry-after": "7",
    }),
});

const TRIGGERS: Trigger[] = [
  { name: "connection refused", reason: "connect", make: refusedBackend },
  { name: "connection reset before headers", reason: "connect", make: resetBackend },
  { name: "timeout (accepts, never answers)", reason: "timeout", env: { PROXY_TIMEOUT: "0.3" }, make: hangBackend },
  statusTrigger(500),
  statusTrigger(502),
  statusTrigger(503),
  statusTrigger(429),
];

for (const trigger of TRIGGERS) {
  for (const primary of ["fast", "smart"] as const) {
    const secondary = other(primary);
    Deno.test(`fallback ${primary} -> ${secondary} on ${trigger.name}`, async () => {
      await using bad = trigger.make();
      await using good = goodBackend(secondary);
      await using proxy = await startProxy(
        twoRoutes(...urlsFor(primary, bad.baseUrl, good.baseUrl), { ...ONE_ATTEMPT, ...trigger.env }),
      );

      const res = await chat(proxy, primary === "fast" ? "gpt-4" : "SMART");
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(JSON.parse(text).choices[0].message.content, `answer from ${secondary}`);
      assert.equal(res.headers.get("retry-after"), null, "nothing of the failed attempt reaches the client");
      assertNoKeys(text, [...ALL_KEYS, CLIENT_KEY], "client response");

      const calls = bad.calls();
      if (calls !== undefined) assert.equal(calls, 1, "the failing route was tried once");
      await bad.after(primary);
      assert.equal(good.seen.length, 1, "the other route was tried once");
      assertForced(good.seen[0], secondary);

      const lines = await logLines(proxy);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], new RegExp(`-> ${secondary}:`));
      assert.match(lines[0], new RegExp(`fallback=\\S*${trigger.reason}`));
      assertNoKeys(proxy.stdout.join("") + proxy.stderr.join(""), ALL_KEYS, "proxy output");
    });
  }
}

for (const status of [400, 401, 404, 413]) {
  for (const primary of ["fast", "smart"] as const) {
    Deno.test(`no fallback on ${status} (${primary} route): the client gets it as it is`, async () => {
      const errorBody = { error: { message: `client problem ${status}`, type: "invalid_request_error", code: "x" } };
      await using bad = fakeBackend(() => jsonResponse(errorBody, status, { "x-request-id": "req-42" }));
      await using good = goodBackend(other(primary));
      await using proxy = await startProxy(twoRoutes(...urlsFor(primary, bad.baseUrl, good.baseUrl), ONE_ATTEMPT));

      const res = await chat(proxy, primary);
      assert.equal(res.status, status);
      assert.deepEqual(await res.json(), errorBody);
      assert.equal(res.headers.get("x-request-id"), "req-42");
      assert.equal(bad.seen.length, 1);
      assertForced(bad.seen[0], primary);
      assert.equal(good.seen.length, 0, "no fallback for a client error");
      assert.match((await logLines(proxy))[0], /fallback=no/);
    });
  }
}

function openAiError(text: string, type: string, code: string): void {
  const body = JSON.parse(text);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  assert.equal(body.error.type, type);
  assert.equal(body.error.code, code);
}

const PRIMARY_503 = { error: { message: "primary overloaded", type: "server_error", code: "overloaded" } };
const SECONDARY_500 = { error: { message: "secondary broken", type: "server_error", code: "boom" } };

interface BothFail {
  name: string;
  primary: RouteName;
  env?: Record<string, string>;
  /** The primary's and the secondary's failing backend. */
  make: () => [Failing, Failing];
  status: number;
  check: (res: Response, text: string) => void;
}

const BOTH_FAIL: BothFail[] = [
  {
    name: "timeout, then timeout -> 504",
    primary: "fast",
    env: { PROXY_TIMEOUT: "0.3" },
    make: () => [hangBackend(), hangBackend()],
    status: 504,
    check: (_res, text) => openAiError(text, "timeout_error", "upstream_timeout"),
  },
  {
    name: "timeout, then 500 -> 504 (the primary's failure)",
    primary: "smart",
    env: { PROXY_TIMEOUT: "0.3" },
    make: () => [hangBackend(), statusBackend(500, SECONDARY_500)],
    status: 504,
    check: (_res, text) => openAiError(text, "timeout_error", "upstream_timeout"),
  },
  {
    name: "refused, then refused -> 502",
    primary: "fast",
    make: () => [refusedBackend(), refusedBackend()],
    status: 502,
    check: (_res, text) => openAiError(text, "upstream_error", "upstream_unreachable"),
  },
  {
    name: "reset, then 503 -> 502 (the primary's failure)",
    primary: "smart",
    make: () => [resetBackend(), statusBackend(503, SECONDARY_500)],
    status: 502,
    check: (_res, text) => openAiError(text, "upstream_error", "upstream_unreachable"),
  },
  {
    name: "refused, then timeout -> 502 (the primary's failure)",
    primary: "fast",
    env: { PROXY_TIMEOUT: "0.3" },
    make: () => [refusedBackend(), hangBackend()],
    status: 502,
    check: (_res, text) => openAiError(text, "upstream_error", "upstream_unreachable"),
  },
  {
    name: "503, then 500 -> the primary's 503 and body",
    primary: "fast",
    make: () => [statusBackend(503, PRIMARY_503, { "x-upstream": "primary" }), statusBackend(500, SECONDARY_500)],
    status: 503,
    check: (res, text) => {
      assert.deepEqual(JSON.parse(text), PRIMARY_503);
      assert.equal(res.headers.get("x-upstream"), "primary");
    },
  },
  {
    name: "500, then timeout -> the primary's 500 and body",
    primary: "smart",
    env: { PROXY_TIMEOUT: "0.3" },
    make: () => [statusBackend(500, SECONDARY_500), hangBackend()],
    status: 500,
    check: (_res, text) => assert.deepEqual(JSON.parse(text), SECONDARY_500),
  },
  {
    name: "429 with Retry-After, then 503 -> 429 with the Retry-After kept",
    primary: "fast",
    make: () => [
      statusBackend(429, { error: { message: "slow down", type: "rate_limit_error" } }, { "retry-after": "7" }),
      statusBackend(503, PRIMARY_503),
    ],
    status: 429,
    check: (res, text) => {
      assert.equal(res.headers.get("retry-after"), "7");
      assert.deepEqual(JSON.parse(text), { error: { message: "slow down", type: "rate_limit_error" } });
    },
  },
  {
    name: "429, then 429 -> 429 with a sane Retry-After",
    primary: "smart",
    make: () => [
      statusBackend(429, { error: { message: "primary limit" } }, { "retry-after": "12" }),
      statusBackend(429, { error: { message: "secondary limit" } }, { "retry-after": "3" }),
    ],
    status: 429,
    check: (res, text) => {
      const after = Number(res.headers.get("retry-after"));
      assert.ok(Number.isInteger(after) && after >= 1 && after <= 300, `Retry-After ${after}`);
      assert.deepEqual(JSON.parse(text), { error: { message: "primary limit" } });
    },
  },
];

for (const c of BOTH_FAIL) {
  Deno.test(`both routes fail (${c.primary} first): ${c.name}`, async () => {
    const [p, s] = c.make();
    await using primary = p;
    await using secondary = s;
    await using proxy = await startProxy(
      twoRoutes(...urlsFor(c.primary, primary.baseUrl, secondary.baseUrl), { ...ONE_ATTEMPT, ...c.env }),
    );

    const res = await chat(proxy, c.primary);
    const text = await res.text();
    assert.equal(res.status, c.status, text);
    c.check(res, text);
    assertNoKeys(text + JSON.stringify([...res.headers]), ALL_KEYS, "client response");

    for (const [backend, route] of [[primary, c.primary], [secondary, other(c.primary)]] as const) {
      const calls = backend.calls();
      if (calls !== undefined) assert.equal(calls, 1, `${route} tried once`);
      await backend.after(route);
    }
    assert.match((await logLines(proxy))[0], /fallback=\S+_failed_too/);
  });
}

Deno.test("fallback is off when both routes are identical: one attempt only", async (t) => {
  await t.step("503 is returned after one attempt", async () => {
    await using backend = fakeBackend(() => jsonResponse(PRIMARY_503, 503));
    await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
    assert.equal((await health(proxy)).fallback, false);
    for (const model of ["fast", "smart"]) {
      const res = await chat(proxy, model);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), PRIMARY_503);
    }
    assert.equal(backend.seen.length, 2, "one attempt per request");
    for (const seen of backend.seen) assertForced(seen, "fast");
  });

  await t.step("a timeout is a 504 after one attempt", async () => {
    await using raw = rawBackend({ kind: "hang" });
    // SMART_* set to the very same values: still identical routes.
    await using proxy = await startProxy({
      FAST_BASE_URL: raw.baseUrl,
      FAST_API_KEY: KEYS.fast,
      FAST_MODEL_NAME: MODELS.fast,
      SMART_BASE_URL: raw.baseUrl,
      SMART_API_KEY: KEYS.fast,
      SMART_MODEL_NAME: MODELS.fast,
      PROXY_TIMEOUT: "0.3",
    });
    assert.equal((await health(proxy)).fallback, false);
    const res = await chat(proxy, "smart");
    const text = await res.text();
    assert.equal(res.status, 504);
    openAiError(text, "timeout_error", "upstream_timeout");
    assert.equal(raw.connections.length, 1);
    await within(raw.connections[0].closedByPeer, 2000, "the hung connection to be closed");
  });
});

/** A backend that fails with 503 until `state.healthy` is set. */
function switchableBackend(route: RouteName) {
  const state = { healthy: false };
  const backend = fakeBackend(() =>
    state.healthy
      ? jsonResponse(completion(`answer from ${route}`, MODELS[route]))
      : jsonResponse({ error: { message: `${route} is down` } }, 503)
  );
  return { backend, state };
}

async function content(res: Response): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text).choices[0].message.content;
}

for (const primary of ["fast", "smart"] as const) {
  const secondary = other(primary);
  Deno.test(`breaker: ${primary} cools after PROXY_BREAKER_FAILURES failures, then one probe closes it`, async () => {
    const { backend: bad, state } = switchableBackend(primary);
    await using _bad = bad;
    await using good = goodBackend(secondary);
    await using proxy = await startProxy(
      twoRoutes(...urlsFor(primary, bad.baseUrl, good.baseUrl), {
        ...ONE_ATTEMPT,
        PROXY_BREAKER_FAILURES: "2",
        PROXY_BREAKER_COOLDOWN: "0.3",
      }),
    );

    assert.equal(await content(await chat(proxy, primary)), `answer from ${secondary}`);
    let h = await health(proxy);
    assert.equal(h.routes[primary].breaker.state, "closed");
    assert.equal(h.routes[primary].breaker.failures, 1);

    assert.equal(await content(await chat(proxy, primary)), `answer from ${secondary}`);
    h = await health(proxy);
    assert.equal(h.routes[primary].breaker.state, "cooling");
    assert.equal(h.routes[secondary].breaker.state, "closed");
    const until = Date.parse(h.routes[primary].breaker.until!);
    assert.ok(until > Date.now() && until <= Date.now() + 300 + 50, `until ${h.routes[primary].breaker.until}`);
    assert.equal(bad.seen.length, 2);

    // Cooling: straight to the other route, the cooling backend sees nothing.
    assert.equal(await content(await chat(proxy, primary)), `answer from ${secondary}`);
    assert.equal(bad.seen.length, 2, "no request reaches a cooling route");
    assert.equal(good.seen.length, 3);
    assert.match((await logLines(proxy)).at(-1)!, new RegExp(`fallback=${primary}_cooling`));

    // The cooldown is time by definition: wait until it has passed.
    await delay(until - Date.now() + 20);
    state.healthy = true;
    assert.equal(await content(await chat(proxy, primary)), `answer from ${primary}`);
    assert.equal(bad.seen.length, 3, "one probe went to the route");
    assert.equal(good.seen.length, 3);
    h = await health(proxy);
    assert.equal(h.routes[primary].breaker.state, "closed");
    assert.equal(h.routes[primary].breaker.failures, 0);

    assert.equal(await content(await chat(proxy, primary)), `answer from ${primary}`);
    assert.equal(bad.seen.length, 4);
    for (const seen of bad.seen) assertForced(seen, primary);
    for (const seen of good.seen) assertForced(seen, secondary);
  });
}

Deno.test("breaker: a failed probe cools the route again at once", async () => {
  const { backend: bad } = switchableBackend("fast");
  await using _bad = bad;
  await using good = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(bad.baseUrl, good.baseUrl, {
      ...ONE_ATTEMPT,
      PROXY_BREAKER_FAILURES: "1",
      PROXY_BREAKER_COOLDOWN: "0.2",
    }),
  );
  assert.equal(await content(await chat(proxy, "fast")), "answer from smart");
  const first = await health(proxy);
  assert.equal(first.routes.fast.breaker.state, "cooling");
  await delay(Date.parse(first.routes.fast.breaker.until!) - Date.now() + 20);

  assert.equal(await content(await chat(proxy, "fast")), "answer from smart", "the failed probe falls back");
  assert.equal(bad.seen.length, 2, "exactly one probe");
  const again = await health(proxy);
  assert.equal(again.routes.fast.breaker.state, "cooling");
  assert.ok(Date.parse(again.routes.fast.breaker.until!) > Date.now());
  assert.equal(await content(await chat(proxy, "fast")), "answer from smart");
  assert.equal(bad.seen.length, 2, "cooling again: no request reaches it");
  assert.equal(good.seen.length, 3);
});

Deno.test("breaker: while the probe is in flight, other requests skip the route", async () => {
  const release = deferred();
  const arrived = deferred();
  let calls = 0;
  await using bad = fakeBackend(async () => {
    calls++;
    if (calls === 1) return jsonResponse({ error: { message: "down" } }, 503);
    arrived.resolve();
    await release.promise;
    return jsonResponse(completion("answer from fast", MODELS.fast));
  });
  await using good = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(bad.baseUrl, good.baseUrl, {
      ...ONE_ATTEMPT,
      PROXY_BREAKER_FAILURES: "1",
      PROXY_BREAKER_COOLDOWN: "0.2",
    }),
  );
  assert.equal(await content(await chat(proxy, "fast")), "answer from smart");
  const h = await health(proxy);
  await delay(Date.parse(h.routes.fast.breaker.until!) - Date.now() + 20);

  const probe = chat(proxy, "fast");
  await within(arrived.promise, 2000, "the probe to reach the backend");
  assert.equal((await health(proxy)).routes.fast.breaker.state, "probing");
  assert.equal(await content(await chat(proxy, "fast")), "answer from smart", "no second probe");
  assert.equal(bad.seen.length, 2);
  release.resolve();
  assert.equal(await content(await probe), "answer from fast");
  assert.equal((await health(proxy)).routes.fast.breaker.state, "closed");
  assert.equal(good.seen.length, 2);
  for (const seen of bad.seen) assertForced(seen, "fast");
});

Deno.test("breaker: a 429 with Retry-After cools the route at once, for that long", async () => {
  await using bad = fakeBackend(() =>
    jsonResponse({ error: { message: "rate limited" } }, 429, { "retry-after": "2" })
  );
  await using good = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(bad.baseUrl, good.baseUrl, {
      ...ONE_ATTEMPT,
      PROXY_BREAKER_FAILURES: "3",
      PROXY_BREAKER_COOLDOWN: "0.2",
    }),
  );
  const before = Date.now();
  assert.equal(await content(await chat(proxy, "fast")), "answer from smart");
  const h = await health(proxy);
  assert.equal(h.routes.fast.breaker.state, "cooling", "one 429 with Retry-After is enough");
  const cooling = Date.parse(h.routes.fast.breaker.until!) - before;
  assert.ok(cooling >= 1900 && cooling <= 2300, `cooling for ${cooling} ms, Retry-After said 2 s`);

  assert.equal(await content(await chat(proxy, "fast")), "answer from smart");
  assert.equal(bad.seen.length, 1, "the rate-limited backend is left alone");
  assert.equal(good.seen.length, 2);
});

Deno.test("breaker: when both routes cool, the primary is tried anyway", async () => {
  await using fast = fakeBackend(() => jsonResponse({ error: { message: "fast down" } }, 503));
  await using smart = fakeBackend(() => jsonResponse({ error: { message: "smart down" } }, 503));
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, {
      ...ONE_ATTEMPT,
      PROXY_BREAKER_FAILURES: "1",
      PROXY_BREAKER_COOLDOWN: "30",
    }),
  );
  let res = await chat(proxy, "fast");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: { message: "fast down" } });
  const h = await health(proxy);
  assert.equal(h.routes.fast.breaker.state, "cooling");
  assert.equal(h.routes.smart.breaker.state, "cooling");

  res = await chat(proxy, "smart");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: { message: "smart down" } });
  assert.equal(smart.seen.length, 2, "the cooling primary was tried anyway");
  assert.equal(fast.seen.length, 1, "no fallback onto a cooling route");
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "no open stream");
});

Deno.test("breaker: with fallback off (one route) failures never show the route as cooling", async () => {
  await using backend = fakeBackend(() => jsonResponse({ error: { message: "down" } }, 503));
  await using proxy = await startProxy({
    FAST_BASE_URL: backend.baseUrl,
    FAST_MODEL_NAME: "m",
    PROXY_BREAKER_FAILURES: "1",
    PROXY_RETRIES: "0",
  });
  for (let i = 0; i < 3; i++) {
    const res = await post(`${proxy.url}/v1/chat/completions`, { model: "x", messages: [] });
    assert.equal(res.status, 503);
    await res.body?.cancel();
  }
  assert.equal(backend.seen.length, 3, "every request still reaches the only backend");
  const health = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(health.routes.fast.breaker.state, "closed");
});

// ---------------------------------------------------------------- one retry on the same route

Deno.test("retry: a 500 once is retried on the same route: the user's model answers, the breaker stays closed", async () => {
  let calls = 0;
  await using fast = fakeBackend(() =>
    ++calls === 1 ? jsonResponse({ error: { message: "blip" } }, 500) : jsonResponse(completion("second", MODELS.fast))
  );
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, { PROXY_RETRIES: "1" }));
  assert.equal(await content(await chat(proxy, "gpt-4")), "second");
  assert.equal(fast.seen.length, 2);
  assert.equal(smart.seen.length, 0, "no fallback on a blip: the model (and its price) stays the user's");
  assert.equal((await health(proxy)).routes.fast.breaker.state, "closed");
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  assert.match(metrics, /modelpin_retries_total\{route="fast",reason="status_5xx"\} 1/);
  assert.match(metrics, /modelpin_upstream_failures_total\{route="fast",reason="status_5xx"\} 1/);
  assert.match((await logLines(proxy))[0], /-> fast:vendor\/fast-model 200 .* fallback=no$/);
});

Deno.test("retry: a connection reset before any byte is retried once, then the request falls back", async () => {
  await using fast = resetBackend();
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, { PROXY_RETRIES: "1" }));
  assert.equal(await content(await chat(proxy, "gpt-4")), "answer from smart");
  assert.equal(fast.calls(), 2, "the reset route was tried twice");
  assert.equal(smart.seen.length, 1);
});

Deno.test("retry: a timeout is never retried; it falls back at once", async () => {
  await using fast = hangBackend();
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { PROXY_RETRIES: "1", PROXY_TIMEOUT: "0.3" }),
  );
  assert.equal(await content(await chat(proxy, "gpt-4")), "answer from smart");
  assert.equal(fast.calls(), 1);
});

Deno.test("retry: a 429 with Retry-After: 1 is waited out and retried on the same route", async () => {
  let calls = 0;
  await using fast = fakeBackend(() =>
    ++calls === 1
      ? jsonResponse({ error: { message: "slow down" } }, 429, { "retry-after": "1" })
      : jsonResponse(completion("after the wait", MODELS.fast))
  );
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, { PROXY_RETRIES: "1" }));
  const started = performance.now();
  assert.equal(await content(await chat(proxy, "gpt-4")), "after the wait");
  assert.ok(performance.now() - started >= 950, "the Retry-After was honoured before the retry");
  assert.equal(smart.seen.length, 0);
});

// ---------------------------------------------------------------- a backend that accepts and never answers

/** A chat stream request. */
function streamChat(proxy: TestProxy): Promise<Response> {
  return chat(proxy, "gpt-4", { stream: true });
}

Deno.test("late head: a stream whose backend accepts and never answers (not even /models) falls back in seconds", async () => {
  await using dead = hangBackend();
  await using smart = fakeBackend(() =>
    new Response(`data: {"choices":[{"delta":{"content":"from smart"}}]}\n\ndata: [DONE]\n\n`, {
      headers: { "content-type": "text/event-stream" },
    })
  );
  await using proxy = await startProxy(
    twoRoutes(dead.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_TIMEOUT: "30", PROXY_HEAD_TIMEOUT: "0.3" }),
  );
  const started = performance.now();
  const res = await within(streamChat(proxy), 5000, "the fallback, long before PROXY_TIMEOUT");
  assert.match(await res.text(), /from smart/);
  assert.ok(performance.now() - started < 5000);
  assert.equal(dead.calls(), 2, "the stream request, then the liveness request, both unanswered");
  assert.match((await logLines(proxy))[0], /-> smart:vendor\/smart-model 200 .* fallback=timeout$/);
});

Deno.test("late head: a backend that is alive (it answers /models) keeps its stream, however late its head", async () => {
  const release = deferred<void>();
  await using slow = fakeBackend(async (seen) => {
    if (seen.path.endsWith("/models")) return jsonResponse({ object: "list", data: [] });
    await release.promise; // a model loading: the head comes only with the first token
    return new Response(`data: {"choices":[{"delta":{"content":"from fast"}}]}\n\ndata: [DONE]\n\n`, {
      headers: { "content-type": "text/event-stream" },
    });
  });
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(slow.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_TIMEOUT: "30", PROXY_HEAD_TIMEOUT: "0.2" }),
  );
  const pending = streamChat(proxy);
  await eventually(() => slow.seen.some((s) => s.path.endsWith("/models")), 3000, "the liveness request");
  release.resolve();
  const res = await pending;
  assert.match(await res.text(), /from fast/);
  assert.equal(smart.seen.length, 0, "an alive backend is waited for");
});
