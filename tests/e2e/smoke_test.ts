import assert from "node:assert/strict";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { post, startProxy } from "../support/proxy.ts";

Deno.test("smoke: forces the model", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("hi")));
  await using proxy = await startProxy({
    FAST_BASE_URL: backend.baseUrl,
    FAST_MODEL_NAME: "forced",
    FAST_API_KEY: "k1",
  });
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].message.content, "hi");
  assert.equal(backend.seen[0].json?.model, "forced");
  assert.equal(backend.seen[0].headers.get("authorization"), "Bearer k1");
});

Deno.test("smoke: an old .env with PROXY_UPSTREAM_CLIENT starts, with a one-line notice on stderr", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("hi")));
  await using proxy = await startProxy({
    FAST_BASE_URL: backend.baseUrl,
    FAST_MODEL_NAME: "forced",
    PROXY_UPSTREAM_CLIENT: "fetch",
  });
  const notices = proxy.stderr.join("").split("\n").filter((l) => l.includes("PROXY_UPSTREAM_CLIENT"));
  assert.equal(notices.length, 1);
  assert.match(notices[0], /no longer used/);
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
