/**
 * Python source as discovery reads it: its statements (logical lines), with comments dropped and string
 * literals set aside, and the brackets within them.
 */

export interface LogicalLine {
  /** 0-based line where the statement starts. */
  line: number;
  /** Columns of indentation of its first line: 0 at module level. */
  indent: number;
  /** The statement with comments removed, every string literal replaced by `""` and line breaks by spaces. */
  code: string;
  /** The source of each string literal (prefix and quotes included), by the index of its `""` in `code`. */
  strings: Map<number, string>;
}

export const PY_STRING_PREFIX = /^(?:[rRbBuUfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/;

/** Index just past the bracket that closes the one at `open`. */
export function skipBalanced(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return code.length;
}

/** Splits Python source into statements the way the tokenizer does: brackets and `\` join lines. */
export function pythonLogicalLines(src: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let line = 0;
  let i = 0;
  let depth = 0;
  let current: LogicalLine | null = null;

  const scanString = (start: number, prefix: string): number => {
    const quote = src[start]!;
    const triple = src.startsWith(quote.repeat(3), start);
    const formatted = /[fFtT]/.test(prefix);
    let j = start + (triple ? 3 : 1);
    while (j < src.length) {
      const c = src[j]!;
      if (c === "\\") {
        if (src[j + 1] === "\n") line++;
        j += 2;
        continue;
      }
      if (c === "\n") {
        if (!triple) return j; // unterminated: Python would stop here too
        line++;
      }
      if (triple ? src.startsWith(quote.repeat(3), j) : c === quote) return j + (triple ? 3 : 1);
      if (formatted && c === "{") {
        if (src[j + 1] === "{") {
          j += 2;
          continue;
        }
        j = scanReplacementField(j + 1);
        continue;
      }
      j++;
    }
    return j;
  };

  // `{…}` of an f-string: code, which may hold strings of its own (even with the same quote, Python 3.12).
  const scanReplacementField = (start: number): number => {
    let nested = 1;
    let j = start;
    while (j < src.length && nested > 0) {
      const c = src[j]!;
      if (c === "'" || c === '"') {
        j = scanString(j, "");
        continue;
      }
      if (c === "\n") line++;
      if (c === "{" || c === "(" || c === "[") nested++;
      else if (c === "}" || c === ")" || c === "]") nested--;
      j++;
    }
    return j;
  };

  while (i < src.length) {
    if (current === null) {
      let col = 0;
      while (src[i] === " " || src[i] === "\t" || src[i] === "\f") {
        col++;
        i++;
      }
      if (i >= src.length) break;
      if (src[i] === "\n") {
        line++;
        i++;
        continue;
      }
      if (src[i] === "#") {
        while (i < src.length && src[i] !== "\n") i++;
        continue;
      }
      current = { line, indent: col, code: "", strings: new Map() };
    }
    const c = src[i]!;
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "\\" && src[i + 1] === "\n") {
      current.code += " ";
      line++;
      i += 2;
      continue;
    }
    if (c === "\n") {
      line++;
      i++;
      if (depth > 0) current.code += " ";
      else {
        lines.push(current);
        current = null;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      i = scanString(i, "");
      current.strings.set(current.code.length, src.slice(start, i));
      current.code += '""';
      continue;
    }
    const word = /^[\p{L}\p{N}_]+/u.exec(src.slice(i, i + 200));
    if (word) {
      const after = src[i + word[0].length];
      if ((after === "'" || after === '"') && PY_STRING_PREFIX.test(word[0])) {
        const start = i;
        i = scanString(i + word[0].length, word[0]);
        current.strings.set(current.code.length, src.slice(start, i));
        current.code += '""';
      } else {
        current.code += word[0];
        i += word[0].length;
      }
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    current.code += c;
    i++;
  }
  if (current) lines.push(current);
  return lines;
}
