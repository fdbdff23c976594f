import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { defaultFlowName, isSlug, parseEntrypoint, toSlug, validateSchedule, type WorkPool } from "@ferry/core";
import { discoverFunctions, entrypointFor, gitTopLevel, languageOf, type ParameterSchema } from "@ferry/client-node";
import type { CommandContext } from "../context.js";
import type { Choice } from "../io.js";
import { parseValue } from "../key-value.js";
import { upsertDeployment, type DeploymentEntry } from "../project-file-edit.js";
import { withSpinner } from "../spinner.js";

const exec = promisify(execFile);

/** A function of the repository the engine can run, as the walk-through offers it. */
export interface FoundFlow {
  entrypoint: string;
  /** Marked `@flow`: listed first. */
  flow: boolean;
  parameters: string[];
  parameterSchema: ParameterSchema | null;
}

/** Directories never worth scanning outside git (dependencies, virtualenvs, builds). */
const SKIP_DIRS = new Set(["node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build", ".tox", ".mypy_cache"]);
const MAX_FILES = 2000;
const MAX_BYTES = 512 * 1024;

/** The repository's flow files: what git tracks or would track (not ignored), else a bounded walk of `root`. */
async function candidateFiles(root: string, inGit: boolean): Promise<string[]> {
  if (inGit) {
    const { stdout } = await exec("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    return stdout.split("\0").filter((f) => f && languageOf(f)).slice(0, MAX_FILES);
  }
  const { readdir } = await import("node:fs/promises");
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 6 || out.length >= MAX_FILES) return;
    for (const entry of await readdir(join(root, dir), { withFileTypes: true }).catch(() => [])) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory() && !SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) await walk(rel, depth + 1);
      else if (entry.isFile() && languageOf(entry.name)) out.push(rel);
    }
  };
  await walk("", 0);
  return out.sort();
}

/** Every function of the repository's flow files that the engine can run; `@flow` ones first. */
export async function findFlows(root: string, inGit: boolean): Promise<FoundFlow[]> {
  const found: FoundFlow[] = [];
  for (const file of await candidateFiles(root, inGit)) {
    let text: string;
    try {
      text = await readFile(join(root, file), "utf8");
    } catch {
      continue;
    }
    if (text.length > MAX_BYTES) continue;
    for (const fn of discoverFunctions(text, languageOf(file)!)) {
      let entrypoint: string;
      try {
        entrypoint = entrypointFor(file, fn.name);
      } catch {
        continue;
      }
      found.push({ entrypoint, flow: fn.flow, parameters: fn.parameters, parameterSchema: fn.parameterSchema });
    }
  }
  return found.sort((a, b) => Number(b.flow) - Number(a.flow));
}

const OTHER = Symbol("other");
const NEW_POOL = Symbol("new pool");

/**
 * `ferry deploy` on a terminal without arguments: asks for the flow (from the repository), the pool (or
 * makes a `ferry:managed` one), the deployment's name, its parameters' defaults and an optional cron
 * schedule, then writes or updates `fileName`. Answers the deployment as `FLOW/NAME`, for the deploy.
 */
export async function walkThroughDeploy(ctx: CommandContext, fileName: string): Promise<string> {
  const { io, out } = ctx;
  const top = await gitTopLevel(io.cwd);
  const root = top ?? io.cwd;
  const flows = await withSpinner(ctx, "Looking for flows in the repository", () => findFlows(root, top !== null));

  let flow: FoundFlow | null = null;
  if (flows.length) {
    const choices: Choice<FoundFlow | typeof OTHER>[] = flows.map((f) => ({
      name: f.entrypoint,
      value: f,
      description: `${f.flow ? "@flow, " : ""}parameters: ${f.parameters.join(", ") || "none"}`,
    }));
    choices.push({ name: "Another entrypoint (type it)", value: OTHER });
    const picked = await io.select("Which flow?", choices);
    flow = picked === OTHER ? null : picked;
  } else {
    out.note(`No flow files (.py, .ts, .js) with a function to run were found under ${root}.`);
  }
  const entrypoint =
    flow?.entrypoint ??
    (await io.input("Entrypoint (path/to/file.py:function, from the repository's root)", {
      validate: (value) => problem(() => parseEntrypoint(value.trim())),
    })).trim();

  const client = await ctx.client();
  const pools = await withSpinner(ctx, "Reading the work pools", () => client.listAll.listWorkPools());
  const poolChoices: Choice<WorkPool | typeof NEW_POOL>[] = pools.map((p) => ({ name: p.name, value: p, description: `${p.type}${p.paused ? ", paused" : ""}` }));
  poolChoices.push({ name: "Create a ferry:managed pool", value: NEW_POOL });
  const pickedPool = await io.select("Which work pool runs it?", poolChoices);
  let poolName: string;
  if (pickedPool === NEW_POOL) {
    const taken = new Set(pools.map((p) => p.name));
    let suggestion = "managed";
    for (let i = 2; taken.has(suggestion); i++) suggestion = `managed-${i}`;
    poolName = (await io.input("Name of the new pool", { default: suggestion, validate: (v) => slugProblem(v, taken) })).trim();
    const created = await withSpinner(ctx, `Creating work pool '${poolName}'`, () => client.api.createWorkPool({ body: { name: poolName, type: "ferry:managed" } }));
    out.note(`Created work pool '${created.name}' (${created.type}).`);
  } else {
    poolName = pickedPool.name;
  }

  const flowName = defaultFlowName(entrypoint);
  const name = (await io.input("Deployment name", { default: toSlug(flowName) || "default", validate: (v) => slugProblem(v) })).trim();

  const parameters: Record<string, unknown> = {};
  const properties: Record<string, Record<string, unknown>> = flow?.parameterSchema?.properties ?? Object.fromEntries((flow?.parameters ?? []).map((p) => [p, {}]));
  for (const [param, schema] of Object.entries(properties)) {
    const type = typeof schema.type === "string" ? ` (${schema.type})` : "";
    const fromCode = schema.default === undefined ? "" : JSON.stringify(schema.default);
    const answer = (await io.input(`Default for parameter '${param}'${type}; JSON or text, blank for ${fromCode ? `the code's (${fromCode})` : "none"}`, { default: "" })).trim();
    if (answer !== "") parameters[param] = parseValue(answer);
  }

  const cron = (await io.input("Cron schedule, e.g. '0 9 * * 1-5' (blank for none)", {
    default: "",
    validate: (v) => (v.trim() ? problem(() => validateSchedule({ cron: v.trim() })) : null),
  })).trim();
  let schedules: DeploymentEntry["schedules"];
  if (cron) {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const timezone = (await io.input("Its time zone", { default: local, validate: (v) => problem(() => validateSchedule({ cron, timezone: v.trim() })) })).trim();
    schedules = [{ cron, ...(timezone !== "UTC" ? { timezone } : {}) }];
  }

  const path = resolve(io.cwd, fileName);
  const before = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  const entry: DeploymentEntry = { name, entrypoint, work_pool: poolName, ...(Object.keys(parameters).length ? { parameters } : {}), ...(schedules ? { schedules } : {}) };
  await writeFile(path, upsertDeployment(before, entry));
  out.note(`${before === null ? "Wrote" : "Updated"} ${fileName} with deployment ${flowName}/${name}.`);
  return `${flowName}/${name}`;
}

function problem(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function slugProblem(value: string, taken?: Set<string>): string | null {
  const v = value.trim();
  if (!isSlug(v)) return `use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit${toSlug(v) ? ` (e.g. '${toSlug(v)}')` : ""}`;
  if (taken?.has(v)) return `a pool named '${v}' exists already`;
  return null;
}
