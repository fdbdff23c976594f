import { constants, existsSync } from "node:fs";
import { access, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { cacheKey, DirLock, envLayout, readMarker, writeMarker, type PackageLists } from "./dep-cache.js";
import { EngineError } from "./errors.js";
import { describeExit, runProcess, type ProcessOptions, type ProcessResult } from "./process.js";

/** Where the engine's lines go; `main` masks secrets in all of them. */
export interface EngineLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A line a tool (git, pip, npm) printed while the engine ran it. */
  tool(line: string): void;
}

export interface ToolContext {
  /** Environment every tool runs with: the engine's, the job's `env` over it. */
  env: Record<string, string>;
  log: EngineLog;
  signal?: AbortSignal;
  /** Masks secrets in the tools' output lines. */
  masker?: ProcessOptions["masker"];
  run?: (options: ProcessOptions) => Promise<ProcessResult>;
}

/** The interpreter and the tools that put packages where the flow finds them. */
export interface PythonEnv {
  /** The virtual environment the flow runs in; its python has every layer on its path. */
  venv: string;
  /** Directories to put on PATH, first first: the venv's scripts, then the cached layer's. */
  binDirs: string[];
}

export async function runTool(
  ctx: ToolContext,
  command: string,
  args: string[],
  cwd: string,
  failure: (result: ProcessResult) => EngineError,
  tweak: { env?: Record<string, string>; lines?: (line: string) => string | null } = {},
): Promise<ProcessResult> {
  const run = ctx.run ?? runProcess;
  let result: ProcessResult;
  const onLine = (line: string) => {
    const shown = tweak.lines ? tweak.lines(line) : line;
    if (shown !== null) ctx.log.tool(shown);
  };
  try {
    result = await run({ command, args, cwd, env: { ...ctx.env, ...tweak.env }, signal: ctx.signal, masker: ctx.masker, onLine, tailLines: 12 });
  } catch (error) {
    throw new EngineError("install_failed", `could not run ${command}: ${(error as Error).message}`, { cause: error, retryable: false });
  }
  if (result.aborted) throw new EngineError("install_failed", `${command} was stopped: the engine is shutting down`);
  if (result.signal === "SIGKILL") throw new EngineError("killed", `${command} was killed (SIGKILL), most likely for exceeding the run's memory limit`);
  if (result.exitCode !== 0) throw failure(result);
  return result;
}

export function lastLines(tail: readonly string[], count = 6): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean).slice(-count);
  return lines.length ? `:\n${lines.join("\n")}` : "";
}

export function venvPython(venv: string): string {
  return join(venv, "bin", "python");
}

/**
 * Python buffers its output when it is not a terminal: without this, pip's "Collecting …",
 * "Downloading …" and "Installing collected packages …" lines would all arrive at its end, and a long
 * first install would show nothing while it works.
 */
const UNBUFFERED = { PYTHONUNBUFFERED: "1" };

export async function createVenv(ctx: ToolContext, python: string, venv: string): Promise<void> {
  await mkdir(dirname(venv), { recursive: true });
  const started = Date.now();
  ctx.log.info(`creating a virtual environment (${python} -m venv)`);
  await runTool(ctx, python, ["-m", "venv", venv], dirname(venv), (r) =>
    new EngineError("install_failed", `creating the virtual environment (${python} -m venv) ${describeExit(r)}${lastLines(r.tail)}`),
  { env: UNBUFFERED });
  ctx.log.info(`created the virtual environment in ${seconds(started)}`);
}

export async function pipInstall(ctx: ToolContext, venv: string, args: string[], cwd: string, what: string): Promise<void> {
  // pip reads its own configuration files and PIP_INDEX_URL / PIP_EXTRA_INDEX_URL from the environment.
  await runTool(ctx, venvPython(venv), ["-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--progress-bar", "off", ...args], cwd, (r) =>
    new EngineError("install_failed", `pip install of ${what} failed (pip ${describeExit(r)})${lastLines(r.tail)}`),
  { env: UNBUFFERED });
}

/**
 * npm at `--loglevel=http` prints a line per file it fetches: these are folded into one
 * "npm: N fetched so far" line at most every `everyMs`; every other line passes as it is.
 */
export function npmProgress(everyMs = 1000, now: () => number = Date.now): (line: string) => string | null {
  let fetched = 0;
  let shownAt = -Infinity;
  return (line) => {
    if (!/^npm (http fetch|verbose fetch)/.test(line.trim())) return line;
    fetched++;
    const t = now();
    if (t - shownAt < everyMs) return null;
    shownAt = t;
    return `npm: ${fetched} ${fetched === 1 ? "package file" : "package files"} fetched so far`;
  };
}

export async function npmInstallPackages(ctx: ToolContext, prefix: string, packages: string[]): Promise<void> {
  await mkdir(prefix, { recursive: true });
  // A package.json of its own keeps npm from walking up and installing into a parent project.
  if (!existsSync(join(prefix, "package.json"))) {
    await writeFile(join(prefix, "package.json"), JSON.stringify({ name: "ferry-run-packages", private: true }, null, 2));
  }
  await runTool(
    ctx,
    "npm",
    ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=http", "--", ...packages],
    prefix,
    (r) => new EngineError("install_failed", `npm install of ${packages.join(" ")} failed (npm ${describeExit(r)})${lastLines(r.tail)}`),
    { lines: npmProgress() },
  );
}

/** `npm ci` when the project has a lock file, else `npm install`: the project's own dependencies. */
export async function npmInstallProject(ctx: ToolContext, directory: string): Promise<void> {
  if (!existsSync(join(directory, "package.json"))) {
    throw new EngineError("install_failed", `npm_install: there is no package.json in ${directory}`, { retryable: false });
  }
  const args = existsSync(join(directory, "package-lock.json")) || existsSync(join(directory, "npm-shrinkwrap.json"))
    ? ["ci", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=http"]
    : ["install", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=http"];
  await runTool(ctx, "npm", args, directory, (r) =>
    new EngineError("install_failed", `npm ${args[0]} in ${directory} failed (npm ${describeExit(r)})${lastLines(r.tail)}`),
  { lines: npmProgress() });
}

/** The purelib directory of a venv, e.g. venv/lib/python3.11/site-packages. */
export async function sitePackages(venv: string): Promise<string> {
  const lib = join(venv, "lib");
  const versions = (await readdir(lib)).filter((d) => d.startsWith("python"));
  if (versions.length !== 1) throw new EngineError("install_failed", `cannot tell the site-packages of ${venv} (found ${versions.join(", ") || "none"})`);
  return join(lib, versions[0]!, "site-packages");
}

/**
 * Layers a cached environment under a run's own venv: a `.pth` file adds the cached site-packages
 * (with its own `.pth` files) after the run's, so packages the run installed itself win.
 */
export async function layerVenv(runVenv: string, cachedVenv: string): Promise<void> {
  const target = await sitePackages(runVenv);
  const cached = await sitePackages(cachedVenv);
  await writeFile(join(target, "zz-ferry-cached-env.pth"), `import site; site.addsitedir(${JSON.stringify(cached)})\n`);
}

export interface JobEnvResult {
  /** The venv the job's pip packages are in, or null when there are none. */
  venv: string | null;
  /** node_modules of the job's npm packages, or null when there are none. */
  nodeModules: string | null;
  /** True when a complete cached environment was used as it was. */
  fromCache: boolean;
}

export interface JobEnvOptions {
  python: string;
  /** Used when there is no cache: the run's own directories. */
  scratchVenv: string;
  scratchNpmPrefix: string;
  /** The run's venv when pull steps made one; the job's packages go into it when there is no cache. */
  existingVenv: string | null;
  cacheDir: string | null;
  engineVersion: string;
  lock?: { staleMs?: number; retryMs?: number; timeoutMs?: number };
}

/**
 * Installs the job's `pip_packages` and `npm_packages`. With a cache directory they go into an
 * environment named by the package lists, made once under a lock and marked complete only after both
 * installs succeeded; a later run finding the mark uses it without installing anything.
 */
export async function prepareJobPackages(ctx: ToolContext, packages: PackageLists, options: JobEnvOptions): Promise<JobEnvResult> {
  if (packages.pip.length === 0 && packages.npm.length === 0) return { venv: null, nodeModules: null, fromCache: false };
  const summary = describePackages(packages);
  const cacheDir = options.cacheDir && (await usableCacheDir(options.cacheDir, ctx.log));
  if (!cacheDir) {
    const venv = packages.pip.length ? (options.existingVenv ?? options.scratchVenv) : null;
    await installInto(ctx, packages, venv, options.scratchNpmPrefix, options.python, venv !== null && venv === options.existingVenv);
    return { venv, nodeModules: packages.npm.length ? join(options.scratchNpmPrefix, "node_modules") : null, fromCache: false };
  }
  const layout = envLayout(cacheDir, cacheKey(packages));
  const result = (): JobEnvResult => ({
    venv: packages.pip.length ? layout.venv : null,
    nodeModules: packages.npm.length ? join(layout.npmPrefix, "node_modules") : null,
    fromCache: true,
  });
  if (await readMarker(layout)) {
    ctx.log.info(`using the cached environment ${layout.key} (${summary}): nothing to install`);
    return result();
  }
  const lock = await DirLock.acquire(layout.lock, {
    ...options.lock,
    onWait: () => ctx.log.info(`another run is installing the same packages into the cache; waiting for it`),
  });
  try {
    if (await readMarker(layout)) {
      ctx.log.info(`using the cached environment ${layout.key} (${summary}), installed by another run meanwhile`);
      return result();
    }
    // Whatever an interrupted install left is discarded, never trusted.
    await rm(layout.root, { recursive: true, force: true });
    await mkdir(layout.root, { recursive: true });
    ctx.log.info(`installing ${summary} into the cached environment ${layout.key}`);
    await installInto(ctx, packages, packages.pip.length ? layout.venv : null, layout.npmPrefix, options.python, false);
    await writeMarker(layout, {
      key: layout.key,
      pip_packages: packages.pip,
      npm_packages: packages.npm,
      created_at: new Date().toISOString(),
      engine_version: options.engineVersion,
    });
    return { ...result(), fromCache: false };
  } finally {
    await lock.release();
  }
}

/** The cache directory when the engine can write to it; a cache it cannot use costs time, not the run. */
async function usableCacheDir(cacheDir: string, log: EngineLog): Promise<string | null> {
  try {
    await mkdir(join(cacheDir, "envs"), { recursive: true });
    await access(join(cacheDir, "envs"), constants.W_OK);
    return cacheDir;
  } catch (error) {
    log.warn(`the dependency cache ${cacheDir} cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); installing into the run's own directory`);
    return null;
  }
}

async function installInto(ctx: ToolContext, packages: PackageLists, venv: string | null, npmPrefix: string, python: string, venvExists: boolean): Promise<void> {
  if (packages.pip.length && venv) {
    const started = Date.now();
    if (!venvExists) await createVenv(ctx, python, venv);
    await pipInstall(ctx, venv, ["--", ...packages.pip], dirname(venv), packages.pip.join(" "));
    ctx.log.info(`installed pip packages ${packages.pip.join(" ")} in ${seconds(started)}`);
  }
  if (packages.npm.length) {
    const started = Date.now();
    await npmInstallPackages(ctx, npmPrefix, packages.npm);
    ctx.log.info(`installed npm packages ${packages.npm.join(" ")} in ${seconds(started)}`);
  }
}

/**
 * Makes `directory/node_modules` point at the job's npm packages, so an ES module import in a project
 * below `directory` finds them after the project's own node_modules (NODE_PATH serves require only).
 */
export async function linkNodeModules(directory: string, nodeModules: string): Promise<void> {
  const link = join(directory, "node_modules");
  if (existsSync(link)) return;
  await symlink(nodeModules, link, "dir");
}

export function describePackages(packages: PackageLists): string {
  const parts: string[] = [];
  if (packages.pip.length) parts.push(`pip: ${packages.pip.join(" ")}`);
  if (packages.npm.length) parts.push(`npm: ${packages.npm.join(" ")}`);
  return parts.join("; ");
}

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
