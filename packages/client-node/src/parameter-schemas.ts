import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseEntrypoint, type DeploymentApply } from "@ferry/core";
import { discoverFunctions, languageOf } from "./entrypoints.js";
import { deploymentLabel } from "./deploy.js";

/** Reads a file of the repository by its repository-relative path; null when it is not there. */
export type RepositoryReader = (path: string) => Promise<string | null>;

/** Reads files below `root` (the repository's top) from disk. */
export function readerAt(root: string): RepositoryReader {
  return async (path) => {
    try {
      return await readFile(join(root, ...path.split("/")), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EISDIR") return null;
      throw error;
    }
  };
}

/**
 * Gives each deployment that does not set `parameter_schema` the schema of its flow function's
 * signature, read from the working copy (as Prefect derives a deployment's parameter schema from the
 * flow). The server then checks every run's parameters against it when the run is created, instead of
 * the flow failing on a misspelt parameter once it is running. `parameter_schema: null` in ferry.yaml
 * turns this off for a deployment.
 *
 * Returns the deployments and notes for the user: an entrypoint whose file is here but has no such
 * function (a typo the run would fail on). A file that is not in this working copy is left alone: the
 * deployment's code may come from another repository.
 */
export async function withParameterSchemas(
  deployments: DeploymentApply[],
  read: RepositoryReader,
): Promise<{ deployments: DeploymentApply[]; notes: string[] }> {
  const notes: string[] = [];
  const texts = new Map<string, Promise<string | null>>();
  const out: DeploymentApply[] = [];
  for (const d of deployments) {
    if (d.parameter_schema !== undefined) {
      out.push(d);
      continue;
    }
    const entrypoint = parseEntrypoint(d.entrypoint);
    const language = languageOf(entrypoint.path);
    if (!texts.has(entrypoint.path)) texts.set(entrypoint.path, read(entrypoint.path));
    const text = await texts.get(entrypoint.path)!;
    if (text === null || language === null) {
      // Not in this working copy: the code comes from elsewhere (a source's git_url); nothing to read.
      out.push(d);
      continue;
    }
    const fn = discoverFunctions(text, language).find((f) => f.name === entrypoint.function);
    if (!fn) {
      notes.push(
        `${deploymentLabel(d)}: ${entrypoint.path} has no ${language === "python" ? "top-level function" : "exported function"} '${entrypoint.function}'; check the entrypoint (runs call it by that name)`,
      );
      out.push(d);
      continue;
    }
    out.push(fn.parameterSchema ? { ...d, parameter_schema: fn.parameterSchema } : d);
  }
  return { deployments: out, notes };
}
