import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test-support/services.js";
import type { EngineExit } from "./support/engine-process.js";
import { explain, messages, startEngineHarness, type EngineHarness } from "./support/engine-harness.js";

// The engine in its image, as the Docker backend starts it; engine.test.ts runs it as a process.

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

const FLOW_FILES: Record<string, string> = {
  "flows/hello.py": `def hello(name="world", count=1):
    print(f"hello {name}")
    return {"greeting": f"hello {name}", "count": count}
`,
  "ts/flow.ts": `import { double } from "./lib/math.js";

export async function main(params: { n: number }): Promise<{ doubled: number }> {
  console.log(\`doubling \${params.n}\`);
  return { doubled: double(params.n) };
}
`,
  "ts/lib/math.ts": `export const double = (n: number): number => n * 2;
`,
};

describe("the engine in the ferry-engine image", await docker({ images: ["ferry-base:bookworm"] }), () => {
  let h: EngineHarness;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    // The image is built on the base image from this build of the engine.
    execFileSync("bash", [join(PACKAGE_DIR, "scripts", "build-image.sh")], { stdio: "inherit", timeout: 540_000 });
    h = await startEngineHarness(FLOW_FILES);
  }, 600_000);
  afterAll(async () => {
    await h?.stop();
    if (Object.keys(timings).length) console.log(`engine run times in a container (ms): ${JSON.stringify(timings)}`);
  });

  /** The engine reaches the server, which listens on all interfaces, through the Docker host gateway. */
  const inContainer = () => ({
    apiUrl: `http://host.docker.internal:${new URL(h.server.url).port}`,
    launch: (env: Record<string, string>) => dockerRun(env, h.repo.dir),
  });

  it("runs a Python flow in a container started from ferry-engine:latest", async () => {
    const d = await h.deploy("in-docker", "flows/hello.py:hello");
    const o = await h.runEngine(d, { name: "container" }, inContainer());
    timings.pythonInDocker = o.exit.ms;
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toEqual({ greeting: "hello container", count: 1 });
    expect(messages(o.logs, { source: "flow" })).toContain("hello container");
  });

  it("bundles and runs a TypeScript flow in the container, on the image's Node.js", async () => {
    const d = await h.deploy("ts-in-docker", "ts/flow.ts:main");
    const o = await h.runEngine(d, { n: 4 }, inContainer());
    timings.typescriptInDocker = o.exit.ms;
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toEqual({ doubled: 8 });
  });
});

/** `docker run` as the Docker backend would start an engine, with the file:// repository mounted at its own path. */
function dockerRun(env: Record<string, string>, repoDir: string): Promise<EngineExit> {
  const args = ["run", "--rm", "--add-host", "host.docker.internal:host-gateway", "-v", `${repoDir}:${repoDir}:ro`];
  for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
  args.push("ferry-engine:latest");
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile("docker", args, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, signal: null, output: `${stdout}${stderr}`, ms: Date.now() - started });
    });
    child.once("error", reject);
  });
}
