import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { requestTarget } from "../../../src/request/request_target.ts";

function req(url: string, host?: string): Request {
  return new Request(url, { headers: host === undefined ? {} : { host } });
}

Deno.test("requestTarget: path and raw query of an ordinary request", () => {
  assert.deepEqual(requestTarget(req("http://h:8086/v1/models?x=1&y", "h:8086")), {
    path: "/v1/models",
    search: "?x=1&y",
  });
  assert.deepEqual(requestTarget(req("http://[::1]:80/v1/files/a%20b", "[::1]:80")), {
    path: "/v1/files/a%20b",
    search: "",
  });
});

Deno.test("requestTarget: a Host with URL delimiters is refused, so it cannot shift the path", () => {
  for (const host of ["x/v1/..", "h?x", "h#x", "a@b", "h\\x", "h x", "h\tx"]) {
    const fake = { url: `http://${host}/v1/models`, headers: { get: () => host } } as unknown as Request;
    assert.throws(() => requestTarget(fake), (e) => e instanceof ProxyError && e.code === "invalid_host", host);
  }
});

Deno.test("requestTarget: path characters a URL parser would rewrite are refused", () => {
  for (const path of ["/v1/caf\u00e9", '/v1/a"b', "/v1/a b", "/v1/a{b", "/v1/a|b", "/v1/a^b"]) {
    const fake = { url: `http://h${path}`, headers: { get: () => "h" } } as unknown as Request;
    assert.throws(() => requestTarget(fake), (e) => e instanceof ProxyError && e.code === "invalid_path", path);
  }
});

Deno.test("requestTarget: dot segments, '..;' and encoded dots or separators are refused for every endpoint", () => {
  for (
    const path of [
      "/v1/../admin",
      "/v1/.",
      "/v1/..;/admin",
      "/v1/%2e%2e/x",
      "/v1%2fadmin",
      "/v1/a%5cb",
      "/../v1/models",
    ]
  ) {
    const fake = { url: `http://h${path}`, headers: { get: () => "h" } } as unknown as Request;
    assert.throws(() => requestTarget(fake), (e) => e instanceof ProxyError && e.code === "invalid_path", path);
  }
});
