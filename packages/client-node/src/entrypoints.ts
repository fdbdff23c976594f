import { formatEntrypoint, parseEntrypoint } from "@ferry/core";
import { discoverPython } from "./flow-source/python.js";
import { discoverScript } from "./flow-source/script.js";
import type { DiscoveredFunction, ParameterSchema } from "./flow-source/types.js";

/**
 * Finds the functions of a flow file that the engine can run, without the editor and without a parser
 * for either language: a light scanner that knows strings, comments and brackets is enough to see the
 * top-level declarations, and keeps the extension's bundle small.
 *
 * What the engine calls (packages/engine/src/shims):
 * - Python (`run-flow.py`): an attribute of the imported module, called with the run's parameters as
 *   keyword arguments and awaited when it returns a coroutine. Offered: module-level `def` and
 *   `async def` whose name does not start with `_`.
 * - JavaScript and TypeScript (`run-flow.mjs`, TypeScript bundled by esbuild first): a named export, or
 *   the default export under the name `default`, or a function property of the default export; called
 *   with one argument, the parameters object, and awaited. `export default function hello` is reachable
 *   only as `default`: the shim looks `hello` up on the module and on the default export, finding neither.
 *
 * Each function also gets a JSON Schema of its parameters (`parameterSchema`), as `prefect deploy` derives
 * `parameter_openapi_schema` from a flow's signature: what a deploy stores as the deployment's
 * `parameter_schema`, against which the server checks every run's parameters (with core's `compileSchema`,
 * whose Ajv fills in defaults before checking, so a default recorded here always satisfies its own schema).
 */

export type FlowLanguage = "python" | "typescript" | "javascript";

export type { DiscoveredFunction, ParameterSchema };

const LANGUAGES: Record<string, FlowLanguage> = {
  ".py": "python",
  ".ts": "typescript",
  ".mts": "typescript",
  ".js": "javascript",
  ".mjs": "javascript",
};

/** The flow language of a file, by the extensions core's `parseEntrypoint` accepts; null for anything else. */
export function languageOf(fileName: string): FlowLanguage | null {
  const base = fileName.slice(Math.max(fileName.lastIndexOf("/"), fileName.lastIndexOf("\\")) + 1);
  // Declaration files have no code to run.
  if (/\.d\.m?ts$/.test(base)) return null;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? (LANGUAGES[base.slice(dot)] ?? null) : null;
}

/** The functions of `text` the engine can call as an entrypoint, in source order. */
export function discoverFunctions(text: string, language: FlowLanguage): DiscoveredFunction[] {
  // Line numbers count `\r\n` and a lone `\r` as one break, as the editor does.
  const source = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  return language === "python" ? discoverPython(source) : discoverScript(source, language === "javascript");
}

/** `flows/etl.py` and `etl` → `flows/etl.py:etl`; throws core's validation error when it is not a valid entrypoint. */
export function entrypointFor(repoRelativePath: string, fn: string): string {
  const path = repoRelativePath.replace(/\\/g, "/").replace(/^(?:\.\/)+/, "");
  return formatEntrypoint(parseEntrypoint(`${path}:${fn}`));
}

/**
 * The POSIX path of `file` relative to `root`, or null when the file is not inside it (or is the root
 * itself). Either may use `\` separators; Windows paths compare without regard to case, as the file
 * system does. A relative `file` is taken relative to `root`.
 */
export function relativeToRoot(root: string, file: string): string | null {
  const base = splitPath(root);
  const target = /^(?:[A-Za-z]:|[\\/])/.test(file) ? splitPath(file) : splitPath(`${root}/${file}`);
  const windows = base.windows || target.windows;
  const same = (a: string, b: string): boolean => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);
  if (!same(base.prefix, target.prefix)) return null;
  if (target.parts.length <= base.parts.length) return null;
  if (!base.parts.every((part, i) => same(part, target.parts[i]!))) return null;
  return target.parts.slice(base.parts.length).join("/");
}

function splitPath(path: string): { prefix: string; parts: string[]; windows: boolean } {
  const windows = path.includes("\\") || /^[A-Za-z]:/.test(path);
  const normal = path.replace(/\\/g, "/");
  let prefix = "";
  let rest = normal;
  const drive = /^([A-Za-z]:)\/?/.exec(normal);
  const unc = /^\/\/([^/]+)\/([^/]+)/.exec(normal);
  if (drive) {
    prefix = drive[1]!.toUpperCase();
    rest = normal.slice(drive[0].length);
  } else if (unc) {
    prefix = `//${unc[1]}/${unc[2]}`;
    rest = normal.slice(unc[0].length);
  } else if (normal.startsWith("/")) {
    prefix = "/";
  }
  const parts: string[] = [];
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return { prefix, parts, windows };
}
