import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ecrRegistryLogin } from "../src/registry-login.js";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("@ferry/provider-aws/client as a client loads it", () => {
  let dir: string;

  beforeAll(async () => {
    // The module as published: this package's build (what `ferry --help` imports).
    await run(process.execPath, [join(packageDir, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: packageDir });
    dir = mkdtempSync(join(tmpdir(), "ferry-aws-client-"));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads no AWS SDK module until a provisioner is used", async () => {
    // Node's module hooks see every module resolved; the script prints how many were the SDK's, before and after a plan.
    const script = join(dir, "probe.mjs");
    writeFileSync(
      script,
      `import { registerHooks } from "node:module";
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const sdk = () => seen.filter((u) => u.includes("/@aws-sdk/")).length;
const plugin = (await import(process.argv[2])).default;
const [provisioner] = plugin.create({ endpoint: "http://127.0.0.1:9" }).provisioners;
const options = Object.keys(provisioner.optionsSchema.properties);
const before = sdk();
await provisioner.plan({ poolName: "p", options: { region: "us-east-1" }, hasCredentials: false }).catch(() => {});
console.log(JSON.stringify({ options, before, after: sdk() }));
`,
    );
    const { stdout } = await run(process.execPath, [script, join(packageDir, "dist/client.js")], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: "AKIAFERRYLOCALROOT", AWS_SECRET_ACCESS_KEY: "x", AWS_CONFIG_FILE: join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: join(dir, "none") },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { options: string[]; before: number; after: number };
    expect(out.options).toContain("cluster_name");
    expect(out.before).toBe(0);
    expect(out.after, "the probe sees the SDK once it is loaded").toBeGreaterThan(0);
  });
});

describe("the ECR registry login against aws-local", () => {
  let local: AwsLocal;

  beforeAll(async () => {
    local = await startAwsLocal({ docker: null, registryPassword: "pushing-is-allowed" });
  });

  afterAll(async () => {
    await local?.close();
  });

  it("logs in with GetAuthorizationToken in the registry's region, with the user's identity", async () => {
    const login = ecrRegistryLogin({ endpoint: local.endpoint, credentials: local.credentials });
    const registry = `${local.accountId}.dkr.ecr.eu-central-1.amazonaws.com`;
    expect(login.matches(registry)).toBe(true);
    expect(await login.login(registry, {})).toEqual({ username: "AWS", password: "pushing-is-allowed" });
    expect(local.calls().map((c) => [c.service, c.operation, c.region, c.accessKeyId])).toEqual([["ecr", "GetAuthorizationToken", "eu-central-1", local.credentials.accessKeyId]]);
  });

  it("names the fix when AWS refuses the identity", async () => {
    const login = ecrRegistryLogin({ endpoint: local.endpoint, credentials: { accessKeyId: "AKIAFERRYUNKNOWNKEY0", secretAccessKey: "x" } });
    await expect(login.login(`${local.accountId}.dkr.ecr.us-east-1.amazonaws.com`, {})).rejects.toMatchObject({
      code: "provider_auth",
      message: expect.stringContaining("AWS did not accept your credentials (UnrecognizedClientException): set AWS_PROFILE"),
    });
  });
});
