import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/test-server.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
const generator = join(dirname(require.resolve("openapi-typescript/package.json")), "bin/cli.js");

/** What a user writes with the generated types and openapi-fetch: create a run, read it back, read a missing one. */
const CLIENT = `
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type FlowRun = components["schemas"]["FlowRun"];

export async function createAndRead(baseUrl: string, apiKey: string): Promise<{ created: FlowRun; read: FlowRun; missing: string | undefined }> {
  const client = createClient<paths>({ baseUrl, headers: { authorization: "Bearer " + apiKey } });
  const pool = await client.POST("/api/work-pools", { body: { name: "openapi", type: "fake:push" } });
  if (!pool.data) throw new Error("createWorkPool: " + pool.error?.error.message);
  const applied = await client.PUT("/api/deployments", {
    body: {
      flow_name: "etl",
      name: "openapi",
      work_pool: pool.data.name,
      source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
      entrypoint: "flows/etl.py:etl",
    },
  });
  if (!applied.data) throw new Error("applyDeployment: " + applied.error?.error.message);
  const created = await client.POST("/api/deployments/{id}/runs", {
    params: { path: { id: applied.data.deployment.id } },
    body: { parameters: { day: "2026-11-02" }, tags: ["openapi"] },
  });
  if (!created.data) throw new Error("createFlowRun: " + created.error?.error.message);
  const read = await client.GET("/api/flow-runs/{id}", { params: { path: { id: created.data.flow_run.id } } });
  if (!read.data) throw new Error("getFlowRun: " + read.error?.error.message);
  const missing = await client.GET("/api/flow-runs/{id}", { params: { path: { id: "00000000-0000-4000-8000-000000000000" } } });
  return { created: created.data.flow_run, read: read.data, missing: missing.error?.error.code };
}
`;

/** Must not compile: the generated types are the API's, not \`any\`. */
const WRONG = `
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";
const client = createClient<paths>({ baseUrl: "http://x" });
await client.POST("/api/deployments/{id}/runs", { params: { path: { id: "d" } }, body: { parameters: "not an object" } });
await client.GET("/api/no-such-route");
`;

describe("the OpenAPI document", () => {
  let t: TestServer;
  let dir: string;
  let doc: Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestServer("pglite");
    dir = await mkdtemp(join(tmpdir(), "ferry-openapi-"));
    const response = await fetch(`${t.server.url}/openapi.json`);
    expect(response.status).toBe(200);
    doc = (await response.json()) as Record<string, unknown>;
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("validates as OpenAPI 3.1, with the server's own URL", async () => {
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(doc.servers).toEqual([{ url: t.server.url, description: "This Ferry server" }]);
    // The reference page shows the same document.
    expect((await fetch(`${t.server.url}/docs/`)).status).toBe(200);
  });

  it("generates a client (openapi-typescript + openapi-fetch) that compiles and creates and reads a run", async () => {
    await run(process.execPath, [generator, `${t.server.url}/openapi.json`, "--output", join(dir, "schema.ts")]);
    expect(await readFile(join(dir, "schema.ts"), "utf8")).toContain("FlowRun:");
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    await writeFile(join(dir, "client.ts"), CLIENT);
    await mkdir(join(dir, "node_modules"));
    await symlink(dirname(require.resolve("openapi-fetch/package.json")), join(dir, "node_modules", "openapi-fetch"), "dir");
    const options = ["--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--outDir", join(dir, "out")];
    await run(process.execPath, [tsc, ...options, join(dir, "client.ts")], { cwd: dir }).catch((error: { stdout?: string }) => {
      throw new Error(`the generated client does not compile:\n${error.stdout ?? String(error)}`);
    });

    const { createAndRead } = (await import(pathToFileURL(join(dir, "out", "client.js")).href)) as {
      createAndRead(baseUrl: string, apiKey: string): Promise<{ created: { id: string; tags: string[] }; read: { id: string; parameters: unknown; state: { type: string } }; missing?: string }>;
    };
    const { created, read, missing } = await createAndRead(t.server.url, t.server.bootstrap!.apiKey);
    expect(read.id).toBe(created.id);
    expect(read.parameters).toEqual({ day: "2026-11-02" });
    expect(created.tags).toEqual(["openapi"]);
    expect(missing).toBe("not_found");
    // The run is the server's own, as its typed client sees it.
    expect((await t.client.api.getFlowRun({ params: { id: created.id } })).id).toBe(created.id);
  }, 180_000);

  it("gives the generated client types that refuse a wrong body and an unknown route", async () => {
    await writeFile(join(dir, "wrong.ts"), WRONG);
    const failure = await run(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", join(dir, "wrong.ts")], { cwd: dir }).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? "",
    );
    expect(failure).toMatch(/wrong\.ts\(5,/);
    expect(failure).toMatch(/wrong\.ts\(6,/);
  }, 120_000);
});
