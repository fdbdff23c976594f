import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("@ferry/provider-modal/client as a client loads it", () => {
  let dir: string;

  beforeAll(async () => {
    // The module as published: this package's build (what `ferry --help` imports).
    await run(process.execPath, [join(packageDir, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: packageDir });
    dir = mkdtempSync(join(tmpdir(), "ferry-modal-client-"));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads no Modal SDK module until a provisioner is used", async () => {
    // Node's module hooks see every module resolved; the script prints how many were the SDK's, before and after a plan.
    const script = join(dir, "probe.mjs");
    writeFileSync(
      script,
      `import { registerHooks } from "node:module";
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const sdk = () => seen.filter((u) => u.includes("/node_modules/modal/")).length;
const plugin = (await import(process.argv[2])).default;
const [provisioner] = plugin.create({}).provisioners;
const options = Object.keys(provisioner.optionsSchema.properties);
const before = sdk();
await provisioner.plan({ poolName: "p", options: {}, hasCredentials: false }).catch(() => {});
console.log(JSON.stringify({ options, before, after: sdk() }));
`,
    );
    const { stdout } = await run(process.execPath, [script, join(packageDir, "dist/client.js")], {
      // A token, and a server nothing listens on: the plan fails after the SDK is loaded.
      env: { ...process.env, MODAL_TOKEN_ID: "ak-probe", MODAL_TOKEN_SECRET: "as-probe", MODAL_SERVER_URL: "http://127.0.0.1:9", MODAL_CONFIG_PATH: join(dir, "none.toml") },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { options: string[]; before: number; after: number };
    expect(out.options).toContain("app_name");
    expect(out.before).toBe(0);
    expect(out.after, "the probe sees the SDK once it is loaded").toBeGreaterThan(0);
  });
});
