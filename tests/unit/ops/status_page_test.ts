/** Static checks of the status page: self-contained, data rendered as text only. */

import assert from "node:assert/strict";
import { STATUS_JSON_PATH, STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "../../../src/ops/status_page.ts";

Deno.test("status page: loads nothing from elsewhere (no external scripts, styles, fonts or images)", () => {
  assert.ok(!/\b(src|href)\s*=/i.test(STATUS_PAGE_HTML), "no src/href attributes at all");
  assert.ok(!/@import|url\(|https?:\/\//i.test(STATUS_PAGE_HTML), "no imports, url() or absolute URLs");
  assert.match(STATUS_PAGE_CSP, /default-src 'none'/);
  assert.match(STATUS_PAGE_CSP, /connect-src 'self'/);
});

Deno.test("status page: data is written with textContent only, never innerHTML or similar sinks", () => {
  assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/.test(STATUS_PAGE_HTML));
  assert.match(STATUS_PAGE_HTML, /textContent/);
});

Deno.test("status page: polls the JSON endpoint with the session's key, light and dark, phone viewport", () => {
  assert.ok(STATUS_PAGE_HTML.includes(JSON.stringify(STATUS_JSON_PATH)));
  assert.match(STATUS_PAGE_HTML, /sessionStorage/);
  assert.ok(!/localStorage/.test(STATUS_PAGE_HTML), "the key lives only for the browser session");
  assert.match(STATUS_PAGE_HTML, /authorization: "Bearer " \+ key/);
  assert.match(STATUS_PAGE_HTML, /prefers-color-scheme: dark/);
  assert.match(STATUS_PAGE_HTML, /name="viewport" content="width=device-width/);
});
