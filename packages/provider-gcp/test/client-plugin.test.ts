import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("@ferry/provider-gcp/client as a client loads it", () => {
  let dir: string;

  beforeAll(async () => {
    // The module as published: this package's build (what `ferry --help` imports).
    await run(process.execPath, [join(packageDir, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: packageDir });
    dir = mkdtempSync(join(tmpdir(), "ferry-gcp-client-"));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads none of Google's clients until a provisioner is used", async () => {
    // Node's module hooks see every module resolved; the script prints how many were Google's, before and after a plan.
    const script = join(dir, "probe.mjs");
    writeFileSync(
      script,
      `import { registerHooks } from "node:module";
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const google = () => seen.filter((u) => /\\/(@google-cloud|google-gax|google-auth-library)\\//.test(u)).length;
const plugin = (await import(process.argv[2])).default;
const [provisioner] = plugin.create({ apiEndpoint: "127.0.0.1", port: 9 }).provisioners;
const options = Object.keys(provisioner.optionsSchema.properties);
const before = google();
await provisioner.plan({ poolName: "p", options: { project: "ferry-probe" }, hasCredentials: false }).catch(() => {});
console.log(JSON.stringify({ options, before, after: google() }));
`,
    );
    const keyFile = join(dir, "none.json");
    const { stdout } = await run(process.execPath, [script, join(packageDir, "dist/client.js")], {
      env: { ...process.env, GOOGLE_APPLICATION_CREDENTIALS: keyFile, CLOUDSDK_CONFIG: join(dir, "none") },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { options: string[]; before: number; after: number };
    expect(out.options).toEqual(["project", "region", "repository_name", "service_account_name"]);
    expect(out.before).toBe(0);
    expect(out.after, "the probe sees Google's clients once they are loaded").toBeGreaterThan(0);
  });
});
