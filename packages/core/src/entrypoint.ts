import { clip, validationError } from "./errors.js";

export type EntrypointLanguage = "python" | "node";

export interface Entrypoint {
  /** Path of the file inside the repository, relative, with forward slashes. */
  path: string;
  /** Name of the function the file exports (or defines, for Python). */
  function: string;
  language: EntrypointLanguage;
}

const EXTENSIONS: Record<string, EntrypointLanguage> = {
  ".py": "python",
  ".ts": "node",
  ".mts": "node",
  ".js": "node",
  ".mjs": "node",
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXAMPLE = "use path/to/file.py:function or path/to/file.ts:function";

/** Parses `path/to/file.py:function`. The file must be relative, inside the repository, with a known extension. */
export function parseEntrypoint(value: unknown): Entrypoint {
  if (typeof value !== "string" || value.trim() === "") {
    throw validationError(`entrypoint is required; ${EXAMPLE}`);
  }
  const colon = value.lastIndexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw validationError(`entrypoint '${clip(value)}' must name a file and a function separated by ':'; ${EXAMPLE}`);
  }
  const path = value.slice(0, colon).replace(/\\/g, "/");
  const fn = value.slice(colon + 1);
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) {
    throw validationError(`entrypoint '${clip(value)}' has an absolute path; give the file's path relative to the repository root`);
  }
  if (path.split("/").some((part) => part === "..")) {
    throw validationError(`entrypoint '${clip(value)}' points outside the repository ('..'); give a path inside it`);
  }
  const file = path.slice(path.lastIndexOf("/") + 1);
  const dot = file.lastIndexOf(".");
  const ext = dot >= 0 ? file.slice(dot) : "";
  const language = EXTENSIONS[ext];
  if (!language) {
    throw validationError(
      `entrypoint '${clip(value)}' has an unsupported file type '${ext || "(none)"}'; use a .py, .ts, .mts, .js or .mjs file`,
    );
  }
  const fnPath = language === "python" ? fn.split(".") : [fn];
  const identifier = language === "python" ? PYTHON_IDENTIFIER : IDENTIFIER;
  if (!fnPath.every((part) => identifier.test(part))) {
    throw validationError(`entrypoint '${clip(value)}': '${fn}' is not a valid function name`);
  }
  return { path: path.replace(/^\.\//, ""), function: fn, language };
}

export function formatEntrypoint(entrypoint: Entrypoint): string {
  return `${entrypoint.path}:${entrypoint.function}`;
}
