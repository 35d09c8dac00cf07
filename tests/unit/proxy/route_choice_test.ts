import assert from "node:assert/strict";
import { otherRoute, pickRoute } from "../../../src/proxy/route_choice.ts";

const cases: { model: unknown; route: "fast" | "smart" }[] = [
  { model: "smart", route: "smart" },
  { model: "SMART", route: "smart" },
  { model: "Smart", route: "smart" },
  { model: "sMaRt", route: "smart" },
  { model: "fast", route: "fast" },
  { model: "FAST", route: "fast" },
  { model: "Fast", route: "fast" },
  { model: "gpt-4", route: "fast" },
  { model: "gpt-4o-mini", route: "fast" },
  { model: "accounts/fireworks/models/deepseek-v4-pro", route: "fast" },
  { model: "", route: "fast" },
  { model: " smart", route: "fast" },
  { model: "smart ", route: "fast" },
  { model: "smarter", route: "fast" },
  { model: "smart-model", route: "fast" },
  { model: "ſmart", route: "fast" }, // long s: toUpperCase() would make it "SMART"
  { model: undefined, route: "fast" },
  { model: null, route: "fast" },
  { model: 5, route: "fast" },
  { model: ["smart"], route: "fast" },
  { model: { name: "smart" }, route: "fast" },
  { model: true, route: "fast" },
];

for (const c of cases) {
  Deno.test(`router: model ${JSON.stringify(c.model) ?? "undefined"} -> ${c.route}`, () => {
    assert.equal(pickRoute(c.model), c.route);
  });
}

Deno.test("router: otherRoute swaps both ways", () => {
  assert.equal(otherRoute("fast"), "smart");
  assert.equal(otherRoute("smart"), "fast");
  assert.equal(otherRoute(otherRoute("fast")), "fast");
});
