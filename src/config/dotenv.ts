/**
 * A `.env` parser that reads files the way python-dotenv does, so `.env`
 * files written for the earlier Python proxy keep their meaning.
 *
 * @module
 */

/** The outcome of parsing a `.env` text: its values and the lines it skipped. */
export interface DotenvResult {
  /** Variable name to value, in file order; a later line wins over an earlier one. */
  values: Map<string, string>;
  /** 1-based line numbers that could not be parsed (python-dotenv skips them too). */
  skippedLines: number[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const INTERPOLATION = /\$\{([^}:]+)(?::-([^}]*))?\}/g;

/**
 * Parses `.env` text: `KEY=value`, optional `export `, `#` comments,
 * single quotes (only `\'` and `\\` escapes), double quotes (escapes, may
 * span lines) and `${VAR}` / `${VAR:-default}` interpolation, as
 * python-dotenv 1.x does. `lookup` resolves interpolated names first (the
 * process environment, as python-dotenv does), then earlier lines.
 */
export function parseDotenv(
  text: string,
  lookup: (name: string) => string | undefined = () => undefined,
): DotenvResult {
  const values = new Map<string, string>();
  const skippedLines: number[] = [];
  const resolve = (name: string) => lookup(name) ?? values.get(name);
  let pos = 0;
  let line = 1;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;

  while (pos < src.length) {
    const startLine = line;
    const eol = findEol(src, pos);
    let i = skipBlanks(src, pos);
    if (i >= eol || src[i] === "#") {
      [pos, line] = nextLine(src, eol, line);
      continue;
    }
    if (src.startsWith("export", i) && (src[i + 6] === " " || src[i + 6] === "\t")) {
      i = skipBlanks(src, i + 6);
    }
    const key = KEY.exec(src.slice(i, eol))?.[0];
    if (key) i = skipBlanks(src, i + key.length);
    if (!key || src[i] !== "=") {
      // A bare `KEY` has no value in python-dotenv; anything else is malformed.
      if (!key || (i < eol && src[i] !== "#")) skippedLines.push(startLine);
      [pos, line] = nextLine(src, eol, line);
      continue;
    }
    i = skipBlanks(src, i + 1);
    const quote = src[i];
    if (quote === "'" || quote === '"') {
      const parsed = readQuoted(src, i, quote);
      const end = parsed ? findEol(src, parsed.end) : eol;
      const tail = parsed ? src.slice(parsed.end, end).trim() : "";
      if (!parsed || (tail !== "" && !tail.startsWith("#"))) {
        skippedLines.push(startLine);
      } else {
        values.set(
          key,
          // python-dotenv interpolates single-quoted values too.
          interpolate(parsed.value, resolve),
        );
      }
      line += countNewlines(src, pos, end);
      [pos, line] = nextLine(src, end, line);
      continue;
    }
    // As in python-dotenv, a comment starts at whitespace + "#" after the value's
    // first character: `K= #abc` is "#abc", `K=a #c` is "a".
    let value = src.slice(i, eol);
    const comment = value.slice(1).search(/\s#/);
    if (comment >= 0) value = value.slice(0, comment + 1);
    values.set(key, interpolate(value.trim(), resolve));
    [pos, line] = nextLine(src, eol, line);
  }
  return { values, skippedLines };
}

function skipBlanks(src: string, from: number): number {
  while (src[from] === " " || src[from] === "\t") from++;
  return from;
}

// Lines end with LF, CRLF or a lone CR (old Mac files), as in python-dotenv.
function findEol(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return src.length;
}

function nextLine(src: string, eol: number, line: number): [number, number] {
  if (eol >= src.length) return [src.length, line];
  return [src[eol] === "\r" && src[eol + 1] === "\n" ? eol + 2 : eol + 1, line + 1];
}

function countNewlines(src: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = src.charCodeAt(i);
    if (c === 10 && src.charCodeAt(i - 1) !== 13) n++;
    else if (c === 13) n++;
  }
  return n;
}

const ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  v: "\v",
  a: "\x07",
  "\\": "\\",
  '"': '"',
  "'": "'",
};

function readQuoted(
  src: string,
  start: number,
  quote: string,
): { value: string; end: number } | undefined {
  let out = "";
  for (let i = start + 1; i < src.length; i++) {
    const ch = src[i];
    if (ch === quote) return { value: out, end: i + 1 };
    if (ch === "\\" && i + 1 < src.length) {
      const next = src[i + 1];
      if (quote === "'") {
        // Single quotes only know `\'` and `\\`, like python-dotenv.
        if (next === "'" || next === "\\") {
          out += next;
          i++;
          continue;
        }
        out += ch;
        continue;
      }
      const mapped = ESCAPES[next];
      if (mapped !== undefined) {
        out += mapped;
        i++;
        continue;
      }
    }
    out += ch;
  }
  return undefined;
}

function interpolate(
  value: string,
  resolve: (name: string) => string | undefined,
): string {
  if (!value.includes("${")) return value;
  return value.replace(
    INTERPOLATION,
    (_m, name: string, fallback: string | undefined) => {
      const found = resolve(name.trim());
      // The default applies only when the variable is unset, not when it is empty (python-dotenv).
      return found !== undefined ? found : fallback ?? "";
    },
  );
}
