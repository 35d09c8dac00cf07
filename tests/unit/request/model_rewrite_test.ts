import assert from "node:assert/strict";
import { rewriteModel } from "../../../src/request/model_rewrite.ts";

interface Case {
  name: string;
  input: string;
  model?: string;
  want: string;
}

const M = "forced/model-1";

const cases: Case[] = [
  { name: "simple", input: '{"model":"gpt-4","n":1}', want: `{"model":"${M}","n":1}` },
  { name: "model last", input: '{"n":1,"stream":true,"model":"gpt-4"}', want: `{"n":1,"stream":true,"model":"${M}"}` },
  {
    name: "whitespace everywhere kept",
    input: '  {\n  "model" :\t"gpt-4" ,\r\n  "x" : 1.0\n}\n',
    want: `  {\n  "model" :\t"${M}" ,\r\n  "x" : 1.0\n}\n`,
  },
  {
    name: "big integers and number spellings kept",
    input: '{"seed":12345678901234567890,"t":1.0,"p":1e-7,"q":-0,"r":1E+2,"model":"a","z":0.10}',
    want: `{"seed":12345678901234567890,"t":1.0,"p":1e-7,"q":-0,"r":1E+2,"model":"${M}","z":0.10}`,
  },
  {
    name: "key order kept",
    input: '{"z":1,"a":2,"model":"x","m":3,"b":4}',
    want: `{"z":1,"a":2,"model":"${M}","m":3,"b":4}`,
  },
  {
    name: "unicode kept raw and escaped",
    input: '{"messages":[{"role":"user","content":"héllo 🌍 \\u00e9 \\ud83c\\udf0d"}],"model":"x"}',
    want: `{"messages":[{"role":"user","content":"héllo 🌍 \\u00e9 \\ud83c\\udf0d"}],"model":"${M}"}`,
  },
  {
    name: "escaped quotes in strings that look like a model member",
    input: '{"prompt":"say \\"model\\": \\"evil\\"","model":"m","x":"\\",\\"model\\":\\"y"}',
    want: `{"prompt":"say \\"model\\": \\"evil\\"","model":"${M}","x":"\\",\\"model\\":\\"y"}`,
  },
  {
    name: "string ending in an escaped backslash",
    input: '{"path":"C:\\\\","model":"m","q":"\\\\\\""}',
    want: `{"path":"C:\\\\","model":"${M}","q":"\\\\\\""}`,
  },
  {
    name: "braces and brackets inside strings",
    input: '{"a":"}{][,:","model":"m","b":["}",{"c":"]"}]}',
    want: `{"a":"}{][,:","model":"${M}","b":["}",{"c":"]"}]}`,
  },
  {
    name: "nested model keys are not touched",
    input: '{"metadata":{"model":"inner"},"tools":[{"model":"t"}],"model":"outer","x":{"y":{"model":1}}}',
    want: `{"metadata":{"model":"inner"},"tools":[{"model":"t"}],"model":"${M}","x":{"y":{"model":1}}}`,
  },
  {
    name: "nested model key only: model added, nested kept",
    input: '{"tools":[{"model":"x"}]}',
    want: `{"model":"${M}","tools":[{"model":"x"}]}`,
  },
  {
    name: "duplicate top-level model keys all replaced",
    input: '{"model":"a","x":1,"model":"b"}',
    want: `{"model":"${M}","x":1,"model":"${M}"}`,
  },
  { name: "model missing: added", input: '{"messages":[]}', want: `{"model":"${M}","messages":[]}` },
  { name: "model missing with whitespace", input: ' { "n" : 1 } ', want: ` {"model":"${M}", "n" : 1 } ` },
  { name: "empty object", input: "{}", want: `{"model":"${M}"}` },
  { name: "empty object with space", input: "{ }", want: `{"model":"${M}" }` },
  { name: "empty object with newline", input: "{\n}", want: `{"model":"${M}"\n}` },
  { name: "escaped key \\u006dodel", input: '{"\\u006dodel":"a","n":1}', want: `{"\\u006dodel":"${M}","n":1}` },
  { name: "escaped key \\u006D\\u006fdel", input: '{"\\u006D\\u006fdel":"a"}', want: `{"\\u006D\\u006fdel":"${M}"}` },
  {
    name: "similar keys are not model",
    input: '{"models":"x","Model":"y","model ":"z"}',
    want: `{"model":"${M}","models":"x","Model":"y","model ":"z"}`,
  },
  { name: "null model", input: '{"model":null}', want: `{"model":"${M}"}` },
  { name: "number model", input: '{"model":123.5e3,"n":1}', want: `{"model":"${M}","n":1}` },
  { name: "boolean model", input: '{"model":false}', want: `{"model":"${M}"}` },
  { name: "object model", input: '{"model":{"a":"}","b":[1,{"c":2}]},"n":1}', want: `{"model":"${M}","n":1}` },
  { name: "array model", input: '{"model":["x",["y"]] ,"n":1}', want: `{"model":"${M}" ,"n":1}` },
  { name: "model value with escapes", input: '{"model":"a\\"b\\\\","n":1}', want: `{"model":"${M}","n":1}` },
  {
    name: "forced model with quotes, backslash and unicode is JSON-escaped",
    input: '{"model":"x"}',
    model: 'we"ird\\näme\n🌍',
    want: `{"model":${JSON.stringify('we"ird\\näme\n🌍')}}`,
  },
  {
    name: "BOM-free leading newline before object",
    input: '\n\n{"model":"x"}',
    want: `\n\n{"model":"${M}"}`,
  },
];

for (const c of cases) {
  Deno.test(`rewriteModel: ${c.name}`, () => {
    const model = c.model ?? M;
    const out = rewriteModel(c.input, model);
    assert.equal(out, c.want);
    const parsedIn = JSON.parse(c.input);
    assert.deepEqual(JSON.parse(out), { ...parsedIn, model });
  });
}

Deno.test("rewriteModel: a large body keeps every byte outside the model value", () => {
  const image = "data:image/png;base64," + "A".repeat(200_000);
  const head = '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"' + image + '"}}]}],';
  const input = head + '"model":"gpt-4o","max_tokens":12345678901234567890}';
  const out = rewriteModel(input, "m");
  assert.equal(out, head + '"model":"m","max_tokens":12345678901234567890}');
});
