import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateRoleCommand, GetRoleCommand } from "@aws-sdk/client-iam";
import { CreateClusterCommand, ListClustersCommand } from "@aws-sdk/client-ecs";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterEach, describe, expect, it } from "vitest";
import { clientsFor, rejection } from "./helpers.js";

const started: AwsLocal[] = [];
async function start(options: Parameters<typeof startAwsLocal>[0] = {}): Promise<AwsLocal> {
  const local = await startAwsLocal({ docker: null, ...options });
  started.push(local);
  return local;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((l) => l.close()));
});

const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [] });

describe("test hooks over HTTP", () => {
  it("lists calls, takes faults, resets and toggles the default VPC", async () => {
    const local = await start();
    const aws = clientsFor(local);
    const hook = async (path: string, init?: RequestInit): Promise<Record<string, unknown>> => (await fetch(`${local.endpoint}/__aws-local/${path}`, init)).json() as Promise<Record<string, unknown>>;

    await aws.sts.send(new GetCallerIdentityCommand({}));
    const { calls } = await hook("calls");
    expect(calls).toMatchObject([{ service: "sts", operation: "GetCallerIdentity", region: "us-east-1", accessKeyId: "AKIAFERRYLOCALROOT", userName: null, status: 200 }]);

    await hook("faults", { method: "POST", body: JSON.stringify({ service: "sts", code: "ExpiredToken", message: "expired", status: 400, times: 2 }) });
    expect((await hook("faults")).faults).toEqual([{ service: "sts", code: "ExpiredToken", message: "expired", status: 400, times: 2 }]);
    expect((await rejection(aws.sts.send(new GetCallerIdentityCommand({})))).name).toBe("ExpiredToken");
    expect((await rejection(aws.sts.send(new GetCallerIdentityCommand({})))).name).toBe("ExpiredToken");
    await aws.sts.send(new GetCallerIdentityCommand({}));

    await aws.iam.send(new CreateRoleCommand({ RoleName: "r", AssumeRolePolicyDocument: TRUST }));
    await hook("reset", { method: "POST" });
    expect(await hook("calls")).toEqual({ calls: [] });
    expect((await rejection(aws.iam.send(new GetRoleCommand({ RoleName: "r" })))).name).toBe("NoSuchEntityException");

    expect(await hook("default-vpc", { method: "POST", body: JSON.stringify({ present: false }) })).toEqual({ present: false });
    expect(await hook("default-vpc")).toEqual({ present: false });
    const bad = await fetch(`${local.endpoint}/__aws-local/default-vpc`, { method: "POST", body: "{}" });
    expect(bad.status).toBe(400);
    expect((await fetch(`${local.endpoint}/__aws-local/nope`)).status).toBe(404);
  });

  it("answers a request without a SigV4 signature with MissingAuthenticationToken", async () => {
    const local = await start();
    const response = await fetch(local.endpoint, { method: "POST", body: "Action=GetCallerIdentity&Version=2011-06-15" });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("<Code>MissingAuthenticationToken</Code>");
  });
});

describe("configuration", () => {
  it("takes a root key and account from the options", async () => {
    const local = await start({ rootAccessKeyId: "AKIAOTHERROOTKEY0000", accountId: "000000000000" });
    expect(local.credentials.accessKeyId).toBe("AKIAOTHERROOTKEY0000");
    const identity = await clientsFor(local).sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe("000000000000");
  });

  it("refuses bad options with a message naming the option", async () => {
    await expect(startAwsLocal({ taskNetwork: "overlay" as "host" })).rejects.toMatchObject({ code: "invalid_options", message: expect.stringContaining("taskNetwork") });
  });

  it("keeps its state across a restart with a state file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aws-local-"));
    try {
      const stateFile = join(dir, "state.json");
      const first = await startAwsLocal({ docker: null, stateFile });
      await clientsFor(first).ecs.send(new CreateClusterCommand({ clusterName: "kept" }));
      await first.close();
      const second = await startAwsLocal({ docker: null, stateFile });
      try {
        expect((await clientsFor(second).ecs.send(new ListClustersCommand({}))).clusterArns).toEqual(["arn:aws:ecs:us-east-1:123456789012:cluster/kept"]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is reached through AWS_ENDPOINT_URL, as the SDK honours it", async () => {
    const local = await start();
    const script = `
      import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
      const identity = await new STSClient({ region: "eu-central-1" }).send(new GetCallerIdentityCommand({}));
      console.log(identity.Arn);`;
    const env = { ...process.env, AWS_ENDPOINT_URL: local.endpoint, AWS_ACCESS_KEY_ID: local.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: "x", AWS_PROFILE: "", AWS_MAX_ATTEMPTS: "1" };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { env, cwd: fileURLToPath(new URL("..", import.meta.url)) }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(stdout.trim()).toBe("arn:aws:iam::123456789012:root");
    expect(local.calls()).toMatchObject([{ service: "sts", region: "eu-central-1" }]);
  });
});

describe("the CLI", () => {
  it("starts on the given port and prints its endpoint", async () => {
    const cli = spawn(process.execPath, [fileURLToPath(new URL("../dist/cli.js", import.meta.url)), "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        cli.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString()));
        cli.once("exit", (code) => reject(new Error(`the CLI exited with ${code}`)));
      });
      const { endpoint } = JSON.parse(line) as { endpoint: string };
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${endpoint}/__aws-local/health`)).status).toBe(200);
    } finally {
      cli.kill("SIGTERM");
    }
  });
});
