import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheKey, envLayout } from "./dep-cache.js";
import { EngineError } from "./errors.js";
import { npmProgress, prepareJobPackages, type EngineLog, type ToolContext } from "./installers.js";
import type { ProcessOptions, ProcessResult } from "./process.js";

/** Tools that record what they were asked to run, and answer as told. */
function fakeTools(answer: (o: ProcessOptions) => Partial<ProcessResult> = () => ({}), output: (o: ProcessOptions) => string[] = () => []) {
  const commands: string[] = [];
  const lines: string[] = [];
  const envs: Record<string, string>[] = [];
  const log: EngineLog = { info: (m) => lines.push(m), warn: (m) => lines.push(`WARN ${m}`), error: (m) => lines.push(`ERROR ${m}`), tool: (m) => lines.push(`TOOL ${m}`) };
  const ctx: ToolContext = {
    env: {},
    log,
    run: async (o) => {
      commands.push([o.command, ...o.args].join(" "));
      envs.push(o.env);
      for (const line of output(o)) o.onLine?.(line, "stdout");
      await new Promise((r) => setTimeout(r, 10));
      return { exitCode: 0, signal: null, tail: [], aborted: false, ...answer(o) };
    },
  };
  return { ctx, commands, lines, envs };
}

describe("install progress", () => {
  it("runs python unbuffered for the venv and pip, so pip's lines come as it works", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-install-test-"));
    try {
      const pipLines = ["Collecting six", "  Downloading six-1.16.0-py2.py3-none-any.whl (11 kB)", "Installing collected packages: six", "Successfully installed six-1.16.0"];
      const tools = fakeTools(() => ({}), (o) => (o.args.includes("pip") ? pipLines : []));
      await prepareJobPackages(tools.ctx, { pip: ["six"], npm: [] }, {
        python: "python3", scratchVenv: join(dir, "venv"), scratchNpmPrefix: join(dir, "npm"), existingVenv: null, cacheDir: null, engineVersion: "test",
      });
      expect(tools.envs.map((e) => e.PYTHONUNBUFFERED)).toEqual(["1", "1"]);
      expect(tools.lines).toEqual(expect.arrayContaining(pipLines.map((l) => `TOOL ${l}`)));
      expect(tools.lines[0]).toBe("creating a virtual environment (python3 -m venv)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("folds npm's fetch lines into a count at most once a second, passing the others", () => {
    let t = 0;
    const progress = npmProgress(1000, () => t);
    const fetch = (name: string) => `npm http fetch GET 200 https://registry.npmjs.org/${name} 12ms (cache miss)`;
    expect(progress(fetch("a"))).toBe("npm: 1 package file fetched so far");
    t = 500;
    expect(progress(fetch("b"))).toBeNull();
    expect(progress("npm warn deprecated x@1: use y")).toBe("npm warn deprecated x@1: use y");
    t = 1200;
    expect(progress(fetch("c"))).toBe("npm: 3 package files fetched so far");
    expect(progress("added 3 packages in 2s")).toBe("added 3 packages in 2s");
  });
});

describe("prepareJobPackages", () => {
  let dir: string;
  const packages = { pip: ["six"], npm: ["is-number"] };
  const options = (cacheDir: string | null) => ({
    python: "python3",
    scratchVenv: join(dir, "run", "venv"),
    scratchNpmPrefix: join(dir, "run", "npm"),
    existingVenv: null,
    cacheDir,
    engineVersion: "test",
    lock: { retryMs: 5 },
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-install-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("does nothing when the job asks for no packages", async () => {
    const { ctx, commands } = fakeTools();
    expect(await prepareJobPackages(ctx, { pip: [], npm: [] }, options(join(dir, "cache")))).toEqual({ venv: null, nodeModules: null, fromCache: false });
    expect(commands).toEqual([]);
  });

  it("installs into the cache once, marks it complete, and a later run only uses it", async () => {
    const cache = join(dir, "cache");
    const layout = envLayout(cache, cacheKey(packages));
    const first = fakeTools();
    expect(await prepareJobPackages(first.ctx, packages, options(cache))).toEqual({
      venv: layout.venv,
      nodeModules: join(layout.npmPrefix, "node_modules"),
      fromCache: false,
    });
    expect(first.commands).toEqual([
      `python3 -m venv ${layout.venv}`,
      `${layout.venv}/bin/python -m pip install --no-input --disable-pip-version-check --progress-bar off -- six`,
      `npm install --prefix ${layout.npmPrefix} --no-audit --no-fund --no-update-notifier --loglevel=http -- is-number`,
    ]);
    expect(existsSync(layout.marker)).toBe(true);

    const second = fakeTools();
    expect((await prepareJobPackages(second.ctx, packages, options(cache))).fromCache).toBe(true);
    expect(second.commands).toEqual([]);
    expect(second.lines).toContain(`using the cached environment ${layout.key} (pip: six; npm: is-number): nothing to install`);
  });

  it("installs once when two runs race on one cache", async () => {
    const cache = join(dir, "cache");
    const a = fakeTools();
    const b = fakeTools();
    const results = await Promise.all([prepareJobPackages(a.ctx, packages, options(cache)), prepareJobPackages(b.ctx, packages, options(cache))]);
    expect(a.commands.length + b.commands.length).toBe(3);
    expect(results.filter((r) => r.fromCache)).toHaveLength(1);
    expect([...a.lines, ...b.lines]).toContain("another run is installing the same packages into the cache; waiting for it");
  });

  it("leaves no marker after a failed install, says what pip said, and lets the next run start over", async () => {
    const cache = join(dir, "cache");
    const layout = envLayout(cache, cacheKey(packages));
    const failing = fakeTools((o) =>
      o.args.includes("pip") ? { exitCode: 1, tail: ["Collecting six", "ERROR: Could not find a version that satisfies the requirement six"] } : {},
    );
    const error = await prepareJobPackages(failing.ctx, packages, options(cache)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("install_failed");
    expect((error as EngineError).message).toBe(
      "pip install of six failed (pip exited with code 1):\nCollecting six\nERROR: Could not find a version that satisfies the requirement six",
    );
    expect(existsSync(layout.marker)).toBe(false);
    expect(existsSync(layout.lock)).toBe(false);

    const retry = fakeTools();
    expect((await prepareJobPackages(retry.ctx, packages, options(cache))).fromCache).toBe(false);
    expect(retry.commands).toHaveLength(3);
  });

  it("installs into the run's own directory when there is no cache, or it cannot be written", async () => {
    const plain = fakeTools();
    const result = await prepareJobPackages(plain.ctx, packages, options(null));
    expect(result).toEqual({ venv: join(dir, "run", "venv"), nodeModules: join(dir, "run", "npm", "node_modules"), fromCache: false });

    const blocked = join(dir, "not-a-dir");
    writeFileSync(blocked, "a file where the cache should be");
    const fallback = fakeTools();
    expect((await prepareJobPackages(fallback.ctx, packages, options(blocked))).venv).toBe(join(dir, "run", "venv"));
    expect(fallback.lines.some((l) => l.startsWith(`WARN the dependency cache ${blocked} cannot be used (`))).toBe(true);
  });

  it("installs pip packages into the venv the pull steps made, when there is no cache", async () => {
    const { ctx, commands } = fakeTools();
    const existing = join(dir, "run", "venv-from-steps");
    const result = await prepareJobPackages(ctx, { pip: ["six"], npm: [] }, { ...options(null), existingVenv: existing });
    expect(result.venv).toBe(existing);
    expect(commands).toEqual([`${existing}/bin/python -m pip install --no-input --disable-pip-version-check --progress-bar off -- six`]);
  });
});
