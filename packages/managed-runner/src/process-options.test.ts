import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { engineEnv, parseProcessRunnerOptions, resolveEngineCommand } from "./process-options.js";

describe("parseProcessRunnerOptions", () => {
  it("passes on only the allowed host variables", () => {
    const config = parseProcessRunnerOptions({
      stateDir: "/srv/ferry/runs",
      cacheDir: "/srv/ferry/cache",
      hostEnv: { PATH: "/usr/bin", HOME: "/home/ferry", LANG: "C.UTF-8", PIP_INDEX_URL: "http://pip/simple", FERRY_SECRET_KEY: "k", ACME_SECRET_ACCESS_KEY: "s", FERRY_DATABASE_URL: "postgres://x" },
    });
    expect(config.inheritedEnv).toEqual({ PATH: "/usr/bin", HOME: "/home/ferry", LANG: "C.UTF-8", PIP_INDEX_URL: "http://pip/simple" });
    expect(config).toMatchObject({ engineCommand: null, stopGraceSeconds: 10, memoryPollMs: 200, startTimeoutMs: 10_000 });
    expect(config.supervisorScript).toMatch(/process-supervisor\.js$/);
  });

  it("rejects relative directories and nonsense numbers, naming each", () => {
    expect(() => parseProcessRunnerOptions({ stateDir: "runs", cacheDir: "", engineCommand: [""], stopGraceSeconds: 1.5, memoryPollMs: 1 })).toThrow(
      expect.objectContaining({ code: "validation_failed", message: expect.stringMatching(/stateDir.*cacheDir.*engineCommand.*stopGraceSeconds.*memoryPollMs/) }),
    );
  });
});

describe("engineEnv", () => {
  it("puts the spec's variables over the host's, and the cache directory over both", () => {
    expect(engineEnv({ PATH: "/usr/bin", HOME: "/home/ferry" }, { HOME: "/home/run", FERRY_CACHE_DIR: "/elsewhere", A: "1" }, "/srv/cache/k")).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/run",
      A: "1",
      FERRY_CACHE_DIR: "/srv/cache/k",
    });
  });
});

describe("resolveEngineCommand", () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("finds @ferry/engine's built entry in a parent's node_modules", async () => {
    root = await mkdtemp(join(tmpdir(), "ferry-engine-lookup-"));
    const engine = join(root, "node_modules", "@ferry", "engine");
    await mkdir(join(engine, "dist"), { recursive: true });
    await writeFile(join(engine, "package.json"), "{}");
    const from = join(root, "packages", "managed-runner", "dist");
    await mkdir(from, { recursive: true });
    expect(() => resolveEngineCommand(from, "/usr/bin/node")).toThrow(/not built.*engineCommand/);
    await writeFile(join(engine, "dist", "engine.mjs"), "");
    expect(resolveEngineCommand(from, "/usr/bin/node")).toEqual(["/usr/bin/node", join(engine, "dist", "engine.mjs")]);
  });

  it("says how to fix a missing engine", async () => {
    root = await mkdtemp(join(tmpdir(), "ferry-engine-lookup-"));
    expect(() => resolveEngineCommand(root!)).toThrow(expect.objectContaining({ code: "internal", message: expect.stringContaining("set the process backend's engineCommand") }));
  });
});
