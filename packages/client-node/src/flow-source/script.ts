/**
 * The functions of a JavaScript or TypeScript flow file the engine can call: its exports (declarations,
 * `export { … }` lists, `export default`, and `module.exports` in CommonJS), with their parameters.
 */

import { scriptTypes } from "./script-schema.js";
import { STATEMENT_START, tokenize, tokenReader } from "./script-syntax.js";
import type { DiscoveredFunction, ParameterSchema } from "./types.js";

interface FunctionShape {
  async: boolean;
  parameters: string[];
  parameterSchema: ParameterSchema | null;
  line: number;
}

const JS_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function discoverScript(source: string, commonJs: boolean): DiscoveredFunction[] {
  const reader = tokenReader(tokenize(source));
  const { tokens, at, is, skipBalanced, skipAngles, skipType } = reader;
  const { objectType, schemaAt } = scriptTypes(reader);

  const locals = new Map<string, FunctionShape>();
  const exported: { name: string; shape: FunctionShape }[] = [];
  /** `export { a as b }`, `export default a`, `export default { a }`: resolved once every local is known. */
  const aliases: { local: string; name: string }[] = [];

  /** The keys of the parameters object, from the first parameter of the list opened at `open`. */
  const parametersAt = (open: number): string[] => {
    const close = skipBalanced(open) - 1;
    let k = open + 1;
    if (is(k, "this")) {
      // TypeScript's `this` parameter is not passed.
      while (k < close && !is(k, ",")) k = is(k, "(") || is(k, "[") || is(k, "{") ? skipBalanced(k) : k + 1;
      k++;
    }
    if (k >= close) return [];
    if (is(k, "{")) return objectKeys(k);
    if (at(k)?.kind === "id" && !is(k, "...")) {
      let j = k + 1;
      if (is(j, "?")) j++;
      if (is(j, ":") && is(j + 1, "{")) {
        const type = objectType(j + 1);
        return type.kind === "object" ? type.members.map((m) => m.key) : [];
      }
    }
    return [];
  };

  /** Keys of a destructuring pattern `{ a, b = 1, c: d }`. */
  const objectKeys = (open: number): string[] => {
    const close = skipBalanced(open) - 1;
    const keys: string[] = [];
    let memberStart = true;
    for (let k = open + 1; k < close; k++) {
      const t = tokens[k]!;
      if (t.kind === "punct" && (t.value === "(" || t.value === "[" || t.value === "{")) {
        k = skipBalanced(k) - 1;
        memberStart = false;
        continue;
      }
      if (t.kind === "punct" && (t.value === "," || t.value === ";")) {
        memberStart = true;
        continue;
      }
      if (!memberStart) continue;
      memberStart = false;
      if (t.kind !== "id" && t.kind !== "string") continue;
      keys.push(t.value);
    }
    return keys;
  };

  /**
   * A function expression starting at `k`: `function (…) {…}`, `async (…) => …`, `x => …`, `<T>(…) => …`.
   * Generators are left out: the engine would store the generator object, not what it yields.
   */
  const functionAt = (k: number): FunctionShape | null => {
    const line = at(k)?.line ?? 0;
    let j = k;
    let isAsync = false;
    if (is(j, "async") && !is(j + 1, "=>") && !is(j + 1, "=") && !is(j + 1, ",") && !is(j + 1, ";")) {
      isAsync = true;
      j++;
    }
    if (is(j, "function")) {
      j++;
      if (is(j, "*")) return null;
      if (at(j)?.kind === "id" && !is(j, "(")) j++;
      if (is(j, "<")) j = skipAngles(j);
      return is(j, "(") ? { async: isAsync, ...signatureAt(j), line } : null;
    }
    // `x => …`: one parameter without a type.
    if (at(j)?.kind === "id" && is(j + 1, "=>")) return { async: isAsync, parameters: [], parameterSchema: null, line };
    if (is(j, "<")) j = skipAngles(j);
    if (!is(j, "(")) return null;
    const after = skipBalanced(j);
    if (is(after, "=>") || (is(after, ":") && arrowFollows(after))) return { async: isAsync, ...signatureAt(j), line };
    return null;
  };

  /** After `(…):`, a return type and then `=>`. */
  const arrowFollows = (colon: number): boolean => {
    for (let j = colon + 1; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === "punct" && (t.value === "(" || t.value === "[" || t.value === "{")) j = skipBalanced(j) - 1;
      else if (t.kind === "punct" && t.value === "<") j = skipAngles(j) - 1;
      else if (t.kind === "punct" && t.value === "=>") return true;
      else if (t.kind === "punct" && (t.value === ";" || t.value === "=" || t.value === ",")) return false;
    }
    return false;
  };

  /** `function f(…)` / `async function f(…)` at `k`: its name and shape. */
  const declarationAt = (k: number): { name: string; shape: FunctionShape } | null => {
    const j = is(k, "async") ? k + 1 : k;
    if (!is(j, "function") || is(j + 1, "*")) return null;
    const name = at(j + 1);
    if (name?.kind !== "id") return null;
    const shape = functionAt(k);
    return shape ? { name: name.value, shape } : null;
  };

  /** `const a = …, b = …` from the `const` at `k`: the declarators whose value is a function. */
  const variablesAt = (k: number, firstLine: number): { name: string; shape: FunctionShape }[] => {
    const out: { name: string; shape: FunctionShape }[] = [];
    let j = k + 1;
    while (j < tokens.length) {
      const name = at(j);
      if (name?.kind !== "id") break;
      j++;
      if (is(j, "!")) j++;
      if (is(j, ":")) j = skipType(j + 1);
      if (!is(j, "=")) break;
      const shape = functionAt(j + 1);
      if (shape) out.push({ name: name.value, shape: { ...shape, line: out.length === 0 ? firstLine : name.line } });
      // On to the next declarator, or the end of the statement.
      j = endOfInitializer(j + 1);
      if (!is(j, ",")) break;
      j++;
    }
    return out;
  };

  /** The `,` or `;` that ends an initializer, or the first token of the next statement. */
  const endOfInitializer = (k: number): number => {
    let j = k;
    let line = at(k)?.line ?? 0;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (t.kind === "punct") {
        if (t.value === "(" || t.value === "[" || t.value === "{") {
          j = skipBalanced(j);
          line = at(j - 1)?.line ?? line;
          continue;
        }
        if (t.value === "," || t.value === ";" || t.value === ")" || t.value === "]" || t.value === "}") return j;
      } else if (t.kind === "id" && t.line > line && STATEMENT_START.has(t.value)) return j;
      line = t.line;
      j++;
    }
    return j;
  };

  /** `{ a, b: c, d() {}, async e() {} }`: the function properties of an object literal (the default export). */
  const objectFunctions = (open: number): void => {
    const close = skipBalanced(open) - 1;
    let k = open + 1;
    while (k < close) {
      const key = at(k);
      const next = k + 1;
      if (key?.kind === "id" && key.value === "async" && at(next)?.kind === "id" && is(next + 1, "(")) {
        exported.push({ name: at(next)!.value, shape: { async: true, ...signatureAt(next + 1), line: key.line } });
      } else if ((key?.kind === "id" || key?.kind === "string") && is(next, "(")) {
        exported.push({ name: key.value, shape: { async: false, ...signatureAt(next), line: key.line } });
      } else if (key?.kind === "id" && (is(next, ",") || next >= close)) {
        aliases.push({ local: key.value, name: key.value });
      } else if ((key?.kind === "id" || key?.kind === "string") && is(next, ":")) {
        const value = at(next + 1);
        const shape = functionAt(next + 1);
        if (shape) exported.push({ name: key.value, shape });
        else if (value?.kind === "id" && (is(next + 2, ",") || next + 2 >= close)) aliases.push({ local: value.value, name: key.value });
      }
      // On to the next property.
      while (k < close && !is(k, ",")) k = is(k, "(") || is(k, "[") || is(k, "{") ? skipBalanced(k) : k + 1;
      k++;
    }
  };

  const exportDefault = (k: number, line: number): void => {
    const shape = functionAt(k);
    if (shape) {
      exported.push({ name: "default", shape: { ...shape, line } });
      return;
    }
    if (is(k, "{")) {
      objectFunctions(k);
      return;
    }
    // `export default etl;`: a local function, exported under the name `default`.
    const value = at(k);
    const after = at(k + 1);
    if (value?.kind === "id" && !["function", "async", "class"].includes(value.value) && (!after || is(k + 1, ";") || after.line > value.line)) {
      aliases.push({ local: value.value, name: "default" });
    }
  };

  const exportList = (open: number): void => {
    const close = skipBalanced(open) - 1;
    // `export { a } from "./b"` re-exports what this file cannot show.
    if (is(close + 1, "from")) return;
    for (let k = open + 1; k < close; k++) {
      if (is(k, ",")) continue;
      if (is(k, "type") && at(k + 1)?.kind === "id" && !is(k + 1, "as")) {
        while (k < close && !is(k, ",")) k++;
        continue;
      }
      const local = at(k);
      if (local?.kind !== "id") continue;
      let name = local.value;
      if (is(k + 1, "as")) {
        name = at(k + 2)?.value ?? "";
        k += 2;
      }
      aliases.push({ local: local.value, name });
    }
  };

  const signatureAt = (open: number): { parameters: string[]; parameterSchema: ParameterSchema | null } => ({
    parameters: parametersAt(open),
    parameterSchema: schemaAt(open),
  });

  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === "punct") {
      if (t.value === "(" || t.value === "[" || t.value === "{") depth++;
      else if (t.value === ")" || t.value === "]" || t.value === "}") depth = Math.max(0, depth - 1);
      continue;
    }
    if (depth > 0 || t.kind !== "id" || is(k - 1, ".")) continue;

    if (t.value === "export") {
      if (is(k + 1, "default")) exportDefault(k + 2, t.line);
      else if (is(k + 1, "{")) exportList(k + 1);
      else if (is(k + 1, "const") || is(k + 1, "let") || is(k + 1, "var")) {
        exported.push(...variablesAt(k + 1, t.line));
      } else {
        const decl = declarationAt(k + 1);
        if (decl) exported.push({ name: decl.name, shape: { ...decl.shape, line: t.line } });
      }
      continue;
    }
    if (is(k - 1, "declare")) continue;
    if (t.value === "function" || (t.value === "async" && is(k + 1, "function"))) {
      const decl = declarationAt(k);
      if (decl && !locals.has(decl.name)) locals.set(decl.name, decl.shape);
      if (t.value === "async") k++;
      continue;
    }
    if (t.value === "const" || t.value === "let" || t.value === "var") {
      for (const v of variablesAt(k, t.line)) if (!locals.has(v.name)) locals.set(v.name, v.shape);
      continue;
    }
    if (commonJs) commonJsExport(k);
  }

  // CommonJS (a `.js` file without `"type": "module"`): Node exposes `module.exports` as the default
  // export, whose function properties the shim finds by name.
  function commonJsExport(k: number): void {
    let j = k;
    if (is(j, "module") && is(j + 1, ".") && is(j + 2, "exports")) j += 2;
    else if (!is(j, "exports")) return;
    if (is(j + 1, "=")) {
      if (!is(k, "module")) return;
      const shape = functionAt(j + 2);
      if (shape) exported.push({ name: "default", shape: { ...shape, line: tokens[k]!.line } });
      else if (is(j + 2, "{")) objectFunctions(j + 2);
      else if (at(j + 2)?.kind === "id") aliases.push({ local: at(j + 2)!.value, name: "default" });
      return;
    }
    if (!is(j + 1, ".") || at(j + 2)?.kind !== "id" || !is(j + 3, "=")) return;
    const name = at(j + 2)!.value;
    const shape = functionAt(j + 4);
    if (shape) exported.push({ name, shape: { ...shape, line: tokens[k]!.line } });
    else if (at(j + 4)?.kind === "id") aliases.push({ local: at(j + 4)!.value, name });
  }

  for (const { local, name } of aliases) {
    const shape = locals.get(local);
    if (shape) exported.push({ name, shape });
  }
  const seen = new Set<string>();
  return exported
    .filter(({ name }) => JS_IDENTIFIER.test(name) && !seen.has(name) && seen.add(name))
    .map(({ name, shape }) => ({
      name,
      line: shape.line,
      async: shape.async,
      parameters: shape.parameters,
      flow: false,
      parameterSchema: shape.parameterSchema,
    }))
    .sort((a, b) => a.line - b.line);
}
