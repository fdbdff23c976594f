import { describe, expect, it } from "vitest";
import { defaultModalJobConfiguration } from "./modal-template.js";
import { buildSandboxSpec, engineCacheKey, imageCommands, packageLayer, sandboxNameFor, shellQuote } from "./sandbox-request.js";

const RUN = "5f0c3a52-8a5b-4b8e-9d8e-2b8f4c1d9e01";
const context = { flowRunId: RUN, pool: "modal-pool", deploymentId: "d-1" };

describe("sandboxNameFor", () => {
  it("is the same for every submission of a run and a valid Modal name", () => {
    expect(sandboxNameFor(RUN)).toBe(`ferry-${RUN}`);
    expect(sandboxNameFor(RUN)).toMatch(/^[A-Za-z0-9._-]{1,63}$/);
  });

  it("stays under 64 characters and unique for a long id", () => {
    const long = "x".repeat(80);
    expect(sandboxNameFor(long).length).toBeLessThan(64);
    expect(sandboxNameFor(long)).not.toBe(sandboxNameFor(`${long}y`));
  });
});

describe("buildSandboxSpec", () => {
  it("names and tags the sandbox from the run, runs the engine, and sets the timeout in ms", () => {
    expect(buildSandboxSpec(defaultModalJobConfiguration(), context)).toEqual({
      name: `ferry-${RUN}`,
      tags: { "ferry-flow-run-id": RUN, "ferry-pool": "modal-pool", "ferry-deployment-id": "d-1" },
      command: ["node", "/opt/ferry/engine/engine.mjs"],
      timeoutMs: 3_600_000,
      env: {},
    });
  });

  it("passes resources, GPU and region only when set", () => {
    const spec = buildSandboxSpec(defaultModalJobConfiguration({ cpu: 2, memory: 4096, gpu: "A100:2", region: "eu-west", timeout: 30 }), context);
    expect(spec).toMatchObject({ cpu: 2, memoryMiB: 4096, gpu: "A100:2", regions: ["eu-west"], timeoutMs: 30_000 });
  });

  it("points the engine at the image's package cache when there are packages", () => {
    expect(buildSandboxSpec(defaultModalJobConfiguration({ pip_packages: ["rich"], env: { A: "1" } }), context).env).toEqual({ A: "1", FERRY_CACHE_DIR: "/ferry/cache" });
  });

  it("holds no run token anywhere: those go in an ephemeral secret", () => {
    const spec = buildSandboxSpec(defaultModalJobConfiguration(), context);
    expect(JSON.stringify(spec)).not.toMatch(/TOKEN/);
  });
});

describe("packageLayer", () => {
  it("is empty without packages, so the image is the registry image itself", () => {
    expect(packageLayer({ pip_packages: [], npm_packages: [] })).toEqual([]);
  });

  it("installs the packages where the engine's cache looks, under a key independent of order, marker last", () => {
    const a = packageLayer({ pip_packages: ["rich", "pandas>=2"], npm_packages: [] });
    const b = packageLayer({ pip_packages: ["pandas>=2", "rich"], npm_packages: [] });
    const key = engineCacheKey(["rich", "pandas>=2"], []);
    expect(a.join("\n")).toContain(`/ferry/cache/envs/${key}/venv/bin/python -m pip install --no-input --disable-pip-version-check -- 'rich' 'pandas>=2'`);
    expect(a.at(-1)).toContain(`/ferry/cache/envs/${key}/complete.json`);
    expect(a.at(-1)).toContain(`"key":"${key}"`);
    expect(b.join("\n")).toContain(`/ferry/cache/envs/${key}/`);
    expect(a.every((c) => c.startsWith("RUN "))).toBe(true);
  });

  it("installs npm packages under the environment's npm prefix", () => {
    const layer = packageLayer({ pip_packages: [], npm_packages: ["left-pad@1"] });
    expect(layer.join("\n")).toContain("npm install --no-audit --no-fund --prefix /ferry/cache/envs/");
    expect(layer.join("\n")).not.toContain("venv");
  });

  it("refuses a package that reads as an option", () => {
    expect(() => packageLayer({ pip_packages: ["-r /etc/passwd"], npm_packages: [] })).toThrow(/option/);
  });

  it("has the engine's key for the same packages (dep-cache.ts, layout 1)", () => {
    // sha256 of {"v":1,"pip":["pandas>=2","rich"],"npm":[]}, first 24 hex digits, as the engine computes it.
    expect(engineCacheKey(["rich", "pandas>=2", "rich"], [])).toBe("6112e0fc44c29656d58bb02d");
    expect(engineCacheKey(["rich"], [])).toMatch(/^[0-9a-f]{24}$/);
  });
});

describe("shellQuote", () => {
  it("keeps specifiers with shell characters and quotes whole", () => {
    expect(shellQuote("a>=1")).toBe("'a>=1'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe("imageCommands", () => {
  it("clears the image's ENTRYPOINT first, so the command runs as given, then adds the packages' layer", () => {
    expect(imageCommands({ pip_packages: [], npm_packages: [] })).toEqual(["ENTRYPOINT []"]);
    expect(imageCommands({ pip_packages: ["rich"], npm_packages: [] })).toEqual(["ENTRYPOINT []", ...packageLayer({ pip_packages: ["rich"], npm_packages: [] })]);
  });
});
