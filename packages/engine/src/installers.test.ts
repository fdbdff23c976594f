import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheKey, envLayout } from "./dep-cache.js";
import { EngineError } from "./errors.js";
import { prepareJobPackages, type EngineLog, type ToolContext } from "./installers.js";
import type { ProcessOptions, ProcessResult } from "./process.js";

/** Tools that record what they were asked to run, and answer as told. */
function fakeTools(answer: (o: ProcessOptions) => Partial<ProcessResult> = () => ({})) {
  const commands: string[] = [];
  const lines: string[] = [];
  const log: EngineLog = { info: (m) => lines.push(m), warn: (m) => lines.push(`WARN ${m}`), error: (m) => lines.push(`ERROR ${m}`), tool: () => undefined };
  const ctx: ToolContext = {
    env: {},
    log,
    run: async (o) => {
      commands.push([o.command, ...o.args].join(" "));
      await new Promise((r) => setTimeout(r, 10));
      return { exitCode: 0, signal: null, tail: [], aborted: false, ...answer(o) };
    },
  };
  return { ctx, commands, lines };
}

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
      `${layout.venv}/bin/python -m pip install --no-input --disable-pip-version-check -- six`,
      `npm install --prefix ${layout.npmPrefix} --no-audit --no-fund --no-update-notifier --loglevel=warn -- is-number`,
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
    expect(commands).toEqual([`${existing}/bin/python -m pip install --no-input --disable-pip-version-check -- six`]);
  });
});
