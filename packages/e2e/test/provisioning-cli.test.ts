import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Credentials, FlowRun, WorkPool } from "@ferry/core";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, startServer, transcript, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";

// `ferry work-pool create --provision-infra` as a user runs it: their AWS identity in the environment,
// the official SDK inside the CLI, and an AWS endpoint (here @ferry/aws-local) the SDK finds through
// AWS_ENDPOINT_URL, as it would find any endpoint.
let home: string;
let server: ServerProcess;
let local: AwsLocal;
let awsEnv: Record<string, string>;

const ferry = (args: string[]) => runFerry(args, { home, env: awsEnv });

function expectOk(result: CliResult): void {
  expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-provision-"));
  local = await startAwsLocal({ defaultVpc: false, docker: null });
  awsEnv = {
    AWS_ENDPOINT_URL: local.endpoint,
    AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: "local-root-secret",
    AWS_REGION: "us-east-1",
    // Nothing from the machine's own AWS configuration.
    AWS_CONFIG_FILE: join(home, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
  };
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: "@ferry/provider-aws" });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await local?.close();
  await rm(home, { recursive: true, force: true });
});

describe("ferry work-pool create --provision-infra (ecs:push) against aws-local", () => {
  it("provisions, then creates the pool with its credentials and filled template", async () => {
    const result = await ferry(["work-pool", "create", "p", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expectOk(result);
    expect(result.stdout).toMatch(/RESOURCE\s+NAME\s+ACTION/);
    expect(result.stderr).toMatch(/^✓ IAM role FerryEcsTaskExecutionRole: created/m);
    expect(result.stderr).toMatch(/^✓ ECR repository ferry-flows: created/m);
    expect(result.stdout).toMatch(/Created work pool 'p' \(ecs:push\) with credentials 'p-aws'/);

    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "p", "--json"]));
    expect(pool).toMatchObject({ type: "ecs:push", credentials: "p-aws" });
    const vars = pool.base_job_template.variables.properties;
    expect(vars.cluster!.default).toBe("ferry-ecs-cluster");
    expect(vars.execution_role_arn!.default).toBe(`arn:aws:iam::${local.accountId}:role/FerryEcsTaskExecutionRole`);
    expect(vars.vpc_id!.default).toMatch(/^vpc-/);
    expect(vars.subnets!.default).toHaveLength(3);

    const keys = Object.values(local.state.data.iam.accessKeys);
    expect(keys).toHaveLength(1);
    const credentials = parseJson<Credentials>(await ferry(["credentials", "inspect", "p-aws", "--json"]));
    expect(credentials).toMatchObject({ type: "aws", data: { aws_access_key_id: keys[0]!.id, aws_secret_access_key: "********", region_name: "us-east-1" } });

    const profiles = JSON.parse(await readFile(join(home, "profiles.json"), "utf8"));
    expect(profiles.profiles.local.default_image_namespace).toMatch(/\/ferry-flows$/);
    expect(transcript.join("\n")).not.toContain(keys[0]!.secret);
  });

  it("provision-infra on the pool finds everything and makes no second key", async () => {
    const result = await ferry(["work-pool", "provision-infra", "p", "--json"]);
    expectOk(result);
    const out = JSON.parse(result.stdout) as { plan: { action: string }[] };
    expect(out.plan.every((s) => s.action === "exists")).toBe(true);
    expect(Object.values(local.state.data.iam.accessKeys)).toHaveLength(1);
  });

  it("needs --yes without a terminal", async () => {
    const result = await ferry(["work-pool", "create", "q", "--type", "ecs:push", "--provision-infra"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --yes/);
  });

  it("deprovision removes what is tagged for the pool", async () => {
    const result = await ferry(["work-pool", "deprovision", "p", "--yes"]);
    expectOk(result);
    expect(result.stderr).toMatch(/^✓ IAM role FerryEcsTaskExecutionRole: removed/m);
    expect(Object.keys(local.state.data.iam.roles)).toEqual([]);
    expect(Object.keys(local.state.data.iam.accessKeys)).toEqual([]);
  });
});

describe("an ecs:push pool without credentials on a server that does not allow its own AWS identity", () => {
  it("crashes the run at submission, saying how to give the pool credentials, and calls no AWS API", async () => {
    expectOk(await ferry(["work-pool", "create", "bare", "--type", "ecs:push"]));
    const project = await mkdtemp(join(tmpdir(), "ferry-e2e-bare-"));
    try {
      await writeFile(join(project, "flow.py"), "def main():\n    return 42\n");
      const inProject = (args: string[]) => runFerry(args, { home, env: awsEnv, cwd: project });
      expectOk(await inProject(["deploy", "--name", "on-bare", "--entrypoint", "flow.py:main", "--pool", "bare", "--git-url", "https://example.com/acme/flows.git", "--branch", "main"]));
      const callsBefore = local.calls().length;
      const run = await inProject(["deployment", "run", "main/on-bare", "--watch"]);
      expect(run.code).not.toBe(0);
      const runs = parseJson<FlowRun[]>(await ferry(["flow-run", "ls", "--json"]));
      const crashed = runs.find((r) => r.deployment_name === "on-bare");
      expect(crashed?.state.type).toBe("CRASHED");
      expect(crashed?.state.message).toContain("pool 'bare' has no aws credentials, and this server does not run pools with its own AWS identity");
      expect(crashed?.state.message).toContain("FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1");
      expect(local.calls().length).toBe(callsBefore);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
