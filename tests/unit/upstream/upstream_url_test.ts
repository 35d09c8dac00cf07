import assert from "node:assert/strict";
import { checkedUpstreamUrl, stitchUrl, upstreamTarget } from "../../../src/upstream/upstream_url.ts";

/** The upstream URL for a base that has not been split yet (a query given with or without its `?`). */
function joined(base: URL, clientPath: string, search = ""): string {
  return stitchUrl(upstreamTarget(base), clientPath, search.startsWith("?") || search === "" ? search : `?${search}`);
}

interface Case {
  name: string;
  base: string;
  path: string;
  search?: string;
  want: string;
}

const cases: Case[] = [
  {
    name: "base /v1",
    base: "https://api.openai.com/v1",
    path: "/v1/chat/completions",
    want: "https://api.openai.com/v1/chat/completions",
  },
  {
    name: "base /inference/v1 (Fireworks)",
    base: "https://api.fireworks.ai/inference/v1",
    path: "/v1/chat/completions",
    want: "https://api.fireworks.ai/inference/v1/chat/completions",
  },
  {
    name: "base /api/v3 (Volcengine Ark)",
    base: "https://ark.cn-beijing.volces.com/api/v3",
    path: "/v1/chat/completions",
    want: "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
  },
  {
    name: "base /v1beta/openai (Gemini)",
    base: "https://generativelanguage.googleapis.com/v1beta/openai",
    path: "/v1/chat/completions",
    want: "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
  },
  {
    name: "base /openai/v1/ with trailing slash (Groq)",
    base: "https://api.groq.com/openai/v1/",
    path: "/v1/chat/completions",
    want: "https://api.groq.com/openai/v1/chat/completions",
  },
  {
    name: "base with several trailing slashes",
    base: "https://api.together.xyz/v1///",
    path: "/v1/embeddings",
    want: "https://api.together.xyz/v1/embeddings",
  },
  {
    name: "no path gets /v1",
    base: "https://api.openai.com",
    path: "/v1/models",
    want: "https://api.openai.com/v1/models",
  },
  {
    name: "bare slash gets /v1",
    base: "https://api.openai.com/",
    path: "/v1/chat/completions",
    want: "https://api.openai.com/v1/chat/completions",
  },
  {
    name: "with port (local Ollama)",
    base: "http://localhost:11434/v1",
    path: "/v1/chat/completions",
    want: "http://localhost:11434/v1/chat/completions",
  },
  {
    name: "with port, no path (vLLM)",
    base: "http://127.0.0.1:8000",
    path: "/v1/completions",
    want: "http://127.0.0.1:8000/v1/completions",
  },
  {
    name: "IPv6 host with port",
    base: "http://[::1]:8080/v1",
    path: "/v1/models",
    want: "http://[::1]:8080/v1/models",
  },
  {
    name: "default port is dropped",
    base: "https://api.openai.com:443/v1",
    path: "/v1/models",
    want: "https://api.openai.com/v1/models",
  },
  {
    name: "client query preserved",
    base: "https://api.openai.com/v1",
    path: "/v1/models",
    search: "?limit=2&after=abc",
    want: "https://api.openai.com/v1/models?limit=2&after=abc",
  },
  {
    name: "client query without leading ?",
    base: "https://api.openai.com/v1",
    path: "/v1/files",
    search: "purpose=batch",
    want: "https://api.openai.com/v1/files?purpose=batch",
  },
  {
    name: "lone ? adds nothing",
    base: "https://api.openai.com/v1",
    path: "/v1/models",
    search: "?",
    want: "https://api.openai.com/v1/models",
  },
  {
    name: "base query kept (Azure api-version)",
    base: "https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21",
    path: "/v1/chat/completions",
    want: "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
  },
  {
    name: "base query then client query",
    base: "https://x.openai.azure.com/openai/deployments/d/?api-version=1",
    path: "/v1/chat/completions",
    search: "?foo=bar",
    want: "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=1&foo=bar",
  },
  {
    name: "encoded query bytes passed as they are",
    base: "https://api.openai.com/v1",
    path: "/v1/files",
    search: "?q=a%20b&x=%2F",
    want: "https://api.openai.com/v1/files?q=a%20b&x=%2F",
  },
  {
    name: "deep client path",
    base: "https://api.fireworks.ai/inference/v1",
    path: "/v1/audio/transcriptions",
    want: "https://api.fireworks.ai/inference/v1/audio/transcriptions",
  },
  {
    name: "client path /v1 alone",
    base: "https://api.fireworks.ai/inference/v1",
    path: "/v1",
    want: "https://api.fireworks.ai/inference/v1",
  },
  {
    name: "client path with double slash after /v1",
    base: "https://api.fireworks.ai/inference/v1/",
    path: "/v1//chat/completions",
    want: "https://api.fireworks.ai/inference/v1/chat/completions",
  },
  {
    name: "base without /v1 is not given one when it has a path",
    base: "https://openrouter.ai/api",
    path: "/v1/chat/completions",
    want: "https://openrouter.ai/api/chat/completions",
  },
];

for (const c of cases) {
  Deno.test(`upstream url: ${c.name}`, () => {
    const got = joined(new URL(c.base), c.path, c.search ?? "");
    assert.equal(got, c.want);
    const { pathname } = new URL(got);
    assert.ok(!pathname.includes("//"), `// in ${got}`);
    assert.ok(!pathname.includes("/v1/v1"), `/v1/v1 in ${got}`);
  });
}

Deno.test("upstream url: upstreamTarget splits once; its prefix has no trailing slash and its query no ?", () => {
  for (const c of cases) {
    const target = upstreamTarget(new URL(c.base));
    assert.ok(!target.prefix.endsWith("/"), target.prefix);
    assert.ok(!target.query.startsWith("?"));
    const search = c.search === undefined || c.search === "" || c.search.startsWith("?")
      ? c.search ?? ""
      : `?${c.search}`;
    assert.equal(stitchUrl(target, c.path, search), c.want, c.name);
  }
});

Deno.test("upstream url: never // and never /v1/v1 over many base/path combinations", () => {
  const bases = [
    "https://h.example",
    "https://h.example/",
    "https://h.example/v1",
    "https://h.example/v1/",
    "https://h.example/v1//",
    "https://h.example/inference/v1",
    "https://h.example/openai/v1/",
    "http://h.example:9000",
    "http://h.example:9000/api/v3/",
  ];
  const paths = ["/v1", "/v1/", "/v1/models", "/v1/chat/completions", "/v1//embeddings", "/v1/a/b/c"];
  const searches = ["", "?", "?a=1", "b=2"];
  for (const base of bases) {
    for (const path of paths) {
      for (const search of searches) {
        const got = joined(new URL(base), path, search);
        const u = new URL(got);
        assert.ok(!u.pathname.includes("//"), `${base} + ${path} -> ${got}`);
        assert.ok(!u.pathname.includes("/v1/v1"), `${base} + ${path} -> ${got}`);
        assert.equal(u.origin, new URL(base).origin);
        const q = search.replace(/^\?/, "");
        assert.equal(u.search.slice(1), q, `${base} + ${path} + ${search}`);
        // The client's path after /v1 always survives at the end.
        const rest = path.slice(3).replace(/^\/+/, "/");
        assert.ok(u.pathname.endsWith(rest === "/" ? "/" : rest) || rest === "", `${got} keeps ${rest}`);
      }
    }
  }
});

Deno.test("checkedUpstreamUrl: a stitched URL on the base origin and path passes unchanged", () => {
  const target = upstreamTarget(new URL("https://api.fireworks.ai/inference/v1"));
  assert.equal(
    checkedUpstreamUrl(target, "/v1/chat/completions", "?a=1"),
    "https://api.fireworks.ai/inference/v1/chat/completions?a=1",
  );
});

Deno.test("checkedUpstreamUrl: anything a URL parser would move off the base path is refused before the key goes out", () => {
  const target = upstreamTarget(new URL("http://127.0.0.1:9/inference/v1"));
  for (
    const path of [
      "/v1/../../admin",
      "/v1/.\t./x",
      "/v1/..\\admin",
      "/v1/a\nb",
      "/v1/x#y",
      "/v1/%2e%2e/x".replace("%2e%2e", ".."),
    ]
  ) {
    assert.throws(() => checkedUpstreamUrl(target, path, ""), /leave the backend's base URL/, JSON.stringify(path));
  }
});
