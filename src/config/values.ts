/**
 * Reading one variable's text by its kind. Each reader returns the value, or
 * records a problem that names the variable and says how to fix it.
 *
 * @module
 */

import type { Variable } from "./variables.ts";

/** One invalid variable and how to fix it. */
export interface ConfigProblem {
  /** The variable's name. */
  variable: string;
  /** What is wrong and what to do; never contains the value of a key. */
  message: string;
}

/** Collects problems while variables are read. */
export type Problems = ConfigProblem[];

/** Timers take at most 2^31-1 ms; a larger value would fire at once instead of never. */
const MAX_SECONDS = 2_147_483;

/** The text of a variable: trimmed, with an empty value counting as unset. */
export function textOf(source: Partial<Record<string, string>>, name: string): string | undefined {
  const v = source[name]?.trim();
  return v === "" ? undefined : v;
}

function fail(problems: Problems, v: Variable, message: string): undefined {
  problems.push({ variable: v.name, message });
  return undefined;
}

/** A non-negative decimal number, or a positive one. */
function readNumber(v: Variable, text: string, problems: Problems, positive = false): number | undefined {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || (positive && value <= 0)) {
    return fail(problems, v, `must be a ${positive ? "positive" : "non-negative"} number, got "${text}"`);
  }
  return value;
}

/** Seconds, as milliseconds; 0 stays "none", and a tiny positive value is still a timeout. */
function readSeconds(v: Variable, text: string, problems: Problems): number | undefined {
  const value = readNumber(v, text, problems);
  if (value === undefined) return undefined;
  if (value > MAX_SECONDS) {
    return fail(problems, v, `must be at most ${MAX_SECONDS} seconds (about 24 days); use 0 for none`);
  }
  return value > 0 ? Math.max(1, Math.round(value * 1000)) : 0;
}

/** A whole number within the variable's range. */
function readInteger(v: Variable, text: string, problems: Problems): number | undefined {
  const value = Number(text);
  const min = v.min ?? 0;
  const max = v.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(text) || value < min || value > max) {
    return fail(problems, v, `must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Megabytes, as bytes. */
function readMegabytes(v: Variable, text: string, problems: Problems): number | undefined {
  const value = readNumber(v, text, problems, true);
  return value === undefined ? undefined : Math.floor(value * 1024 * 1024);
}

/** One of the variable's choices (or an alias of one), lower-cased. */
function readChoice(v: Variable, text: string, problems: Problems): string | undefined {
  const lower = text.toLowerCase();
  const choice = v.aliases?.[lower] ?? lower;
  if (v.choices && choice in v.choices) return choice;
  const names = Object.keys(v.choices ?? {}).map((c) => `"${c}"`);
  const listed = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
  return fail(problems, v, `must be ${listed}, got "${lower}"`);
}

/** A comma-separated list, blanks dropped. */
function readList(text: string | undefined): string[] {
  return (text ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
}

/**
 * A setting's value, read as its kind says: `undefined` (with the problem
 * recorded) when the text is not valid.
 */
export function readSetting(v: Variable, text: string, problems: Problems): unknown {
  switch (v.kind) {
    case "integer":
      return readInteger(v, text, problems);
    case "seconds":
      return readSeconds(v, text, problems);
    case "megabytes":
      return readMegabytes(v, text, problems);
    case "host":
      return readHost(v, text, problems);
    case "choice":
      return readChoice(v, text, problems);
    case "list": {
      const items = readList(text);
      return v.lowerCase ? items.map((i) => i.toLowerCase()) : items;
    }
    case "url":
    case "key":
    case "model":
    case "retired":
      throw new Error(`${v.name} is not a setting`); // a programming error: routes are read by routes.ts
  }
}

/** A URL as it may appear in a message: any credentials in it are hidden. */
function shown(text: string): string {
  return text.replace(/\/\/[^/?#]*@/, "//***@");
}

/** A backend base URL: http(s), no credentials, no fragment. */
export function readBaseUrl(name: string, rawText: string, problems: Problems): URL | null {
  const text = shown(rawText);
  let url: URL;
  try {
    url = new URL(rawText);
  } catch {
    problems.push({
      variable: name,
      message: `"${text}" is not a URL: use the form https://host[:port]/path, e.g. https://api.openai.com/v1`,
    });
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push({ variable: name, message: `"${text}" must start with http:// or https://` });
    return null;
  }
  if (url.username !== "" || url.password !== "") {
    problems.push({
      variable: name,
      message: "must not contain credentials: put the key in the matching _API_KEY variable",
    });
    return null;
  }
  url.hash = "";
  return url;
}

/** A key goes into a header: a line break or a non-ASCII character would fail every request. */
export function checkKey(name: string, text: string | undefined, problems: Problems): void {
  if (/[\r\n]/.test(text ?? "")) {
    problems.push({ variable: name, message: "contains a line break: paste the key on one line" });
  } else if (/[^\x21-\x7e]/.test(text ?? "")) {
    problems.push({
      variable: name,
      message: "contains a space or a character that is not plain ASCII (a smart quote?): paste the key again",
    });
  }
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A listen address: IPv4, IPv6 (bracketed or not) or a hostname. */
function readHost(v: Variable, text: string, problems: Problems): string | undefined {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (host.includes(":")) {
    try {
      new URL(`http://[${host}]/`);
      return host;
    } catch { /* reported below */ }
  } else if (/^[\d.]+$/.test(host)) {
    // All digits and dots: it must be a real IPv4 address, not a hostname.
    const parts = host.split(".");
    if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return host;
  } else if (HOSTNAME.test(host)) {
    return host;
  }
  return fail(
    problems,
    v,
    `"${text}" is not an IPv4 address, IPv6 address or hostname (e.g. 0.0.0.0, 192.168.1.2, ::1)`,
  );
}
