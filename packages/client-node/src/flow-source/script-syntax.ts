/**
 * JavaScript and TypeScript source as tokens, and moving over them (brackets, type parameters, type
 * annotations): what the discovery of exports and the reading of types share.
 */

export interface Token {
  kind: "id" | "punct" | "string" | "template" | "number" | "regex";
  value: string;
  line: number;
}

const REGEX_AFTER_WORD = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);
export const STATEMENT_START = new Set(["export", "import", "const", "let", "var", "function", "class", "async", "type", "interface", "enum", "declare", "namespace"]);

/** Moving over `tokens`: the token at an index, and past brackets, type parameters and type annotations. */
export interface TokenReader {
  tokens: Token[];
  at: (k: number) => Token | undefined;
  is: (k: number, value: string) => boolean;
  skipBalanced: (k: number) => number;
  skipAngles: (k: number) => number;
  skipType: (k: number) => number;
}

export function tokenReader(tokens: Token[]): TokenReader {
  const at = (k: number): Token | undefined => tokens[k];
  const is = (k: number, value: string): boolean => {
    const t = tokens[k];
    return t !== undefined && (t.kind === "id" || t.kind === "punct") && t.value === value;
  };

  /** Index just past the bracket that closes the one at `k`. */
  const skipBalanced = (k: number): number => {
    let depth = 0;
    for (let j = k; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind !== "punct") continue;
      if (t.value === "(" || t.value === "[" || t.value === "{") depth++;
      else if (t.value === ")" || t.value === "]" || t.value === "}") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return tokens.length;
  };

  /** Index just past the `>` that closes the `<` at `k` (type parameters). */
  const skipAngles = (k: number): number => {
    let depth = 0;
    for (let j = k; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind !== "punct") continue;
      if (t.value === "(" || t.value === "[" || t.value === "{") j = skipBalanced(j) - 1;
      else if (t.value === "<") depth++;
      else if (t.value === ">") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return tokens.length;
  };

  /** Past a type annotation: up to the `=`, `,` or `;` outside brackets and angle brackets. */
  const skipType = (k: number): number => {
    let j = k;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (t.kind === "punct") {
        if (t.value === "(" || t.value === "[" || t.value === "{") {
          j = skipBalanced(j);
          continue;
        }
        if (t.value === "<") {
          j = skipAngles(j);
          continue;
        }
        if (t.value === "=" || t.value === "," || t.value === ";" || t.value === ")" || t.value === "]" || t.value === "}") return j;
      }
      j++;
    }
    return j;
  };

  return { tokens, at, is, skipBalanced, skipAngles, skipType };
}

/** Identifiers, punctuation and literals; comments and the insides of template literals are dropped. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 0;

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "id") return REGEX_AFTER_WORD.has(prev.value);
    if (prev.kind === "punct") return !(prev.value === ")" || prev.value === "]" || prev.value === "}");
    return false;
  };

  const skipQuoted = (quote: string): string => {
    const start = i + 1;
    i++;
    while (i < src.length && src[i] !== quote && src[i] !== "\n") {
      if (src[i] === "\\") {
        if (src[i + 1] === "\n") line++;
        i++;
      }
      i++;
    }
    const value = src.slice(start, i);
    if (src[i] === quote) i++;
    return value;
  };

  const skipTemplate = (): void => {
    i++;
    while (i < src.length && src[i] !== "`") {
      const c = src[i]!;
      if (c === "\\") {
        if (src[i + 1] === "\n") line++;
        i += 2;
        continue;
      }
      if (c === "\n") line++;
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        skipCode();
        continue;
      }
      i++;
    }
    i++;
  };

  /** The code of a `${…}`: read as tokens and thrown away, up to the `}` that closes it. */
  const skipCode = (): void => {
    const mark = tokens.length;
    let braces = 0;
    while (i < src.length) {
      const t = next();
      if (!t) continue;
      if (t.kind === "punct" && t.value === "{") braces++;
      if (t.kind === "punct" && t.value === "}") {
        if (braces === 0) break;
        braces--;
      }
    }
    tokens.length = mark;
  };

  /** Reads one token (pushed onto `tokens`), or skips space or a comment and returns undefined. */
  const next = (): Token | undefined => {
    const c = src[i]!;
    if (c === "\n") {
      line++;
      i++;
      return undefined;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\u00a0" || c === "\u2028" || c === "\u2029") {
      i++;
      return undefined;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      return undefined;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let j = i; j < stop; j++) if (src[j] === "\n") line++;
      i = stop;
      return undefined;
    }
    if (c === "#" && i === 0 && src[1] === "!") {
      while (i < src.length && src[i] !== "\n") i++;
      return undefined;
    }
    const startLine = line;
    let token: Token;
    if (c === "'" || c === '"') {
      token = { kind: "string", value: skipQuoted(c), line: startLine };
    } else if (c === "`") {
      skipTemplate();
      token = { kind: "template", value: "", line: startLine };
    } else if (/[\p{L}_$\\]/u.test(c)) {
      const word = /^(?:[\p{L}\p{N}_$\u200c\u200d]|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\})+/u.exec(src.slice(i, i + 500));
      const value = word ? word[0] : c;
      i += value.length;
      token = { kind: "id", value, line: startLine };
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const num = /^[0-9A-Za-z_.]+/.exec(src.slice(i, i + 200))![0];
      i += num.length;
      token = { kind: "number", value: num, line: startLine };
    } else if (c === "/" && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") i++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (/[A-Za-z]/.test(src[i] ?? "")) i++;
      token = { kind: "regex", value: "", line: startLine };
    } else {
      const op = src.startsWith("=>", i) ? "=>" : src.startsWith("...", i) ? "..." : src.startsWith("===", i) ? "===" : src.startsWith("==", i) ? "==" : c;
      i += op.length;
      token = { kind: "punct", value: op, line: startLine };
    }
    tokens.push(token);
    return token;
  };

  while (i < src.length) next();
  return tokens;
}
