/**
 * The Deno floor: the least a Deno relay can do for a chat completion, as the
 * yardstick for modelpin. It parses the JSON body, sets `model`, forwards it
 * with `fetch` and returns the upstream body as is (streamed natively by
 * Deno). No timeouts, checks, headers hygiene, fallback or log: modelpin's
 * duties are what it costs to go from this to modelpin.
 *
 * Environment: FLOOR_PORT, FLOOR_UPSTREAM (origin, e.g. http://127.0.0.1:8080), FLOOR_MODEL, FLOOR_KEY.
 *
 * @module
 */

const upstream = Deno.env.get("FLOOR_UPSTREAM")!;
const model = Deno.env.get("FLOOR_MODEL")!;
const headers = { "content-type": "application/json", authorization: `Bearer ${Deno.env.get("FLOOR_KEY")}` };
const port = Number(Deno.env.get("FLOOR_PORT"));
Deno.addSignalListener("SIGTERM", () => Deno.exit(0)); // a clean exit, so --cpu-prof writes its profile

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log("floor listening") }, async (req) => {
  const body = await req.json();
  body.model = model;
  const path = req.url.slice(req.url.indexOf("/", 8)); // path and query, after "http://host:port"
  const res = await fetch(upstream + path, { method: "POST", headers, body: JSON.stringify(body) });
  return new Response(res.body, { status: res.status, headers: res.headers });
});
