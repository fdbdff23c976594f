/**
 * The functions of a Python flow file the engine can call: module-level `def` and `async def` whose name
 * does not start with `_`, with the parameters a run can set and whether `@flow` marks them.
 */

import { pythonSchema } from "./python-schema.js";
import { pythonLogicalLines, skipBalanced } from "./python-syntax.js";
import type { DiscoveredFunction } from "./types.js";

const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FLOW_DECORATOR = /^(?:[A-Za-z_]\w*\s*\.\s*)*flow\s*(?:\(|$)/;

export function discoverPython(source: string): DiscoveredFunction[] {
  const found = new Map<string, DiscoveredFunction>();
  let decorators: string[] = [];
  for (const { line, indent, code, strings } of pythonLogicalLines(source)) {
    if (indent > 0) {
      decorators = [];
      continue;
    }
    if (code.startsWith("@")) {
      decorators.push(code.slice(1).trim());
      continue;
    }
    const def = /^(async\s+)?def\s+([\p{L}\p{N}_]+)\s*/u.exec(code);
    const wasDecorated = decorators;
    decorators = [];
    if (!def) continue;
    const name = def[2]!;
    if (!PY_IDENTIFIER.test(name) || name.startsWith("_")) continue;
    let open = def[0].length;
    // Type parameters (Python 3.12): `def f[T](x: T)`.
    if (code[open] === "[") open = skipBalanced(code, open);
    while (code[open] === " ") open++;
    if (code[open] !== "(") continue;
    const end = skipBalanced(code, open);
    const close = code[end - 1] === ")" ? end - 1 : end; // an unfinished signature: what is there so far
    found.delete(name); // a later definition replaces the earlier one when the module runs
    found.set(name, {
      name,
      line,
      async: def[1] !== undefined,
      parameters: pythonParameters(code.slice(open + 1, close)),
      flow: wasDecorated.some((d) => FLOW_DECORATOR.test(d)),
      parameterSchema: pythonSchema(code, strings, open + 1, close),
    });
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

/** The parameters that `fn(**parameters)` can set. */
function pythonParameters(list: string): string[] {
  let names: string[] = [];
  for (const raw of splitTopLevel(list, ",")) {
    const part = raw.trim();
    if (part === "") continue;
    if (part === "/") {
      names = []; // everything before `/` is positional-only
      continue;
    }
    if (part.startsWith("*")) continue;
    const name = /^[A-Za-z_]\w*/.exec(part);
    if (name) names.push(name[0]);
  }
  return names;
}

function splitTopLevel(code: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === separator && depth === 0) {
      parts.push(code.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(code.slice(start));
  return parts;
}
