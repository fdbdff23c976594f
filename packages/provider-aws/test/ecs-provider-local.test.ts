import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { idempotencyKeyForRun, isFerryError, renderJobConfiguration, resolveJobVariables, type ComputeProvider, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { captureLogger } from "@ferry/provider-kit/conformance";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import plugin from "../src/index.js";
import { ECS_BASE_JOB_TEMPLATE, EcsProvider } from "../src/index.js";

// EcsProvider through the official SDK against @ferry/aws-local without a container engine: a task is
// recorded (and fails to start), which is all that submitting, stopping and AWS's errors need here.
const REGION = "us-east-1";
const CLUSTER = "ferry-local";
const credentials = { aws_access_key_id: "AKIAFERRYLOCALROOT", aws_secret_access_key: "local-secret-0b7e", region_name: REGION };
const job = { image: "ferry-base:bookworm", command: ["true"], cluster: CLUSTER };
let local: AwsLocal;

beforeAll(async () => {
  local = await startAwsLocal({ docker: null, rootAccessKeyId: credentials.aws_access_key_id });
  const ecs = new ECSClient({ region: REGION, endpoint: local.endpoint, credentials: { accessKeyId: credentials.aws_access_key_id, secretAccessKey: "x" } });
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  ecs.destroy();
});

afterAll(async () => {
  await local?.close();
});

function request(variables: Record<string, unknown>, options: { credentials?: Record<string, string> | null; apiUrl?: string; pool?: string } = {}): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(ECS_BASE_JOB_TEMPLATE, resolveJobVariables(ECS_BASE_JOB_TEMPLATE, variables));
  const flowRun = { ...fixtureFlowRun("ecs:push", variables, jobConfiguration), work_pool: options.pool ?? "aws-pool" };
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials: options.credentials === undefined ? credentials : options.credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: options.apiUrl ?? "https://ferry.example.com", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_RUN_TOKEN: "run-token" },
  };
}

const calls = (operation: string) => local.calls().filter((c) => c.service === "ecs" && c.operation === operation).length;

async function failure(promise: Promise<unknown>): Promise<Error & { code: string; details?: Record<string, unknown>; retryable: boolean }> {
  try {
    await promise;
  } catch (error) {
    expect(isFerryError(error), String(error)).toBe(true);
    return error as Error & { code: string; details?: Record<string, unknown>; retryable: boolean };
  }
  throw new Error("expected the call to fail");
}

/** The provider as the server makes it: through the plugin, with the server's context. */
function fromPlugin(context: { allowAmbientCredentials: boolean }, logger = captureLogger()): ComputeProvider {
  const made = plugin.create({ endpoint: local.endpoint }, { ...context, logger: logger.logger });
  return made.providers![0]!;
}

describe("cancel", () => {
  it("rejects, classified, when AWS refuses StopTask; resolves once AWS accepts it", async () => {
    const provider = new EcsProvider({ endpoint: local.endpoint, retryBaseDelayMs: 1 });
    const req = request(job);
    const { infrastructureId } = await provider.submit(req);
    const ref = { infrastructureId, jobConfiguration: req.jobConfiguration, credentials };
    local.injectFault({ service: "ecs", operation: "StopTask", code: "AccessDeniedException", message: "User is not authorized to perform: ecs:StopTask", times: 1 });
    const error = await failure(provider.cancel(ref, "cancelled by a test"));
    expect(error.code).toBe("provider_auth");
    expect(error.message).toMatch(/^StopTask: the pool's AWS credentials are not allowed to do this \(User is not authorized to perform: ecs:StopTask\)/);
    await expect(provider.cancel(ref, "cancelled by a test")).resolves.toBeUndefined();
  });

  it("resolves for a task ECS no longer knows (stopped long ago), rejects for a cluster that does not exist", async () => {
    const provider = new EcsProvider({ endpoint: local.endpoint, retryBaseDelayMs: 1 });
    const jobConfiguration = request(job).jobConfiguration;
    const gone = `${CLUSTER}::arn:aws:ecs:${REGION}:000000000000:task/${CLUSTER}/0123456789abcdef0123456789abcdef`;
    await expect(provider.cancel({ infrastructureId: gone, jobConfiguration, credentials }, "cancelled by a test")).resolves.toBeUndefined();
    const noCluster = `no-such-cluster::arn:aws:ecs:${REGION}:000000000000:task/no-such-cluster/0123456789abcdef0123456789abcdef`;
    const error = await failure(provider.cancel({ infrastructureId: noCluster, jobConfiguration, credentials }, "cancelled by a test"));
    expect(error.code).toBe("provider_not_found");
    expect(error.message).toContain("the ECS cluster 'no-such-cluster' does not exist");
  });
});

describe("AWS's errors in plain words", () => {
  it("names the missing cluster, the fix and AWS's request id", async () => {
    const provider = new EcsProvider({ endpoint: local.endpoint, retryBaseDelayMs: 1 });
    const error = await failure(provider.submit(request({ ...job, cluster: "no-such-cluster" }, { pool: "p9" })));
    expect(error.code).toBe("provider_not_found");
    expect(error.message).toMatch(
      /^RunTask: the ECS cluster 'no-such-cluster' does not exist in us-east-1: run 'ferry work-pool provision-infra p9' or set the cluster job variable \(AWS request id [0-9a-f-]{36}\)$/,
    );
    expect(error.details).toMatchObject({ aws_error: "ClusterNotFoundException", request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it("keeps AWS's own words and request id for a refusal it has no special words for", async () => {
    const provider = new EcsProvider({ endpoint: local.endpoint, retryBaseDelayMs: 1 });
    local.injectFault({ service: "ecs", operation: "RunTask", code: "InvalidParameterException", message: "Task definition does not support launch_type FARGATE." });
    const error = await failure(provider.submit(request(job)));
    expect(error.message).toMatch(/^RunTask: AWS refused the request in us-east-1: Task definition does not support launch_type FARGATE\. \(AWS request id [0-9a-f-]{36}\)$/);
  });
});

describe("replies that are not AWS's", () => {
  it.each([
    [403, "provider_error", false],
    [502, "provider_error", true],
  ])("an HTML page with HTTP %i (a proxy, a firewall) is said in plain words, without the SDK's parser text", async (status, code, retryable) => {
    const proxy = createServer((_req, res) => {
      res.writeHead(status, { "content-type": "text/html" });
      res.end("<html><body>Access blocked by the office proxy</body></html>");
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const provider = new EcsProvider({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, attempts: 1 });
      const req = request(job);
      const error = await failure(provider.cancel({ infrastructureId: `${CLUSTER}::arn:aws:ecs:${REGION}:000000000000:task/${CLUSTER}/abc`, jobConfiguration: req.jobConfiguration, credentials }, "test"));
      expect({ code: error.code, retryable: error.retryable }).toEqual({ code, retryable });
      expect(error.message).toBe(
        `StopTask: HTTP ${status} in us-east-1 was not an answer of AWS (the SDK could not read it): something between Ferry and AWS answered instead. ` +
          "Fix: check the proxy (HTTPS_PROXY), firewall or captive portal on the way, or the endpoint Ferry is configured with",
      );
      expect(error.message).not.toMatch(/Unexpected token|Deserialization|hidden field/);
    } finally {
      proxy.close();
    }
  });
});

describe("a pool without credentials", () => {
  it("is refused before anything reaches AWS, naming the fixes, unless the operator allowed the server's own identity", async () => {
    const provider = fromPlugin({ allowAmbientCredentials: false });
    const runsBefore = calls("RunTask");
    const registersBefore = calls("RegisterTaskDefinition");
    const error = await failure(provider.submit(request(job, { credentials: null, pool: "shared" })));
    expect(error.code).toBe("provider_auth");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("pool 'shared' has no aws credentials, and this server does not run pools with its own AWS identity");
    expect(error.message).toContain("FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1");
    await failure(provider.status({ infrastructureId: `${CLUSTER}::arn:aws:ecs:${REGION}:000000000000:task/${CLUSTER}/x`, jobConfiguration: request(job).jobConfiguration, credentials: null }));
    expect(calls("RunTask")).toBe(runsBefore);
    expect(calls("RegisterTaskDefinition")).toBe(registersBefore);
  });

  it("runs with the SDK's default chain when the operator allowed it", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = credentials.aws_access_key_id;
    process.env.AWS_SECRET_ACCESS_KEY = "ambient-secret";
    try {
      const provider = fromPlugin({ allowAmbientCredentials: true });
      const runsBefore = calls("RunTask");
      await provider.submit(request(job, { credentials: null }));
      expect(calls("RunTask")).toBe(runsBefore + 1);
    } finally {
      for (const [key, value] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.secret]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe("a loopback FERRY_API_URL", () => {
  it("warns in the server's log once per pool that the task cannot reach it, and still submits", async () => {
    const log = captureLogger();
    const provider = fromPlugin({ allowAmbientCredentials: false }, log);
    await provider.submit(request(job, { apiUrl: "http://127.0.0.1:4200", pool: "laptop" }));
    await provider.submit(request(job, { apiUrl: "http://127.0.0.1:4200", pool: "laptop" }));
    await provider.submit(request(job, { apiUrl: "https://ferry.example.com", pool: "public" }));
    const warnings = log.lines().filter((l) => l.includes("loopback"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("runs of pool 'laptop' get FERRY_API_URL=http://127.0.0.1:4200, a loopback address");
    expect(warnings[0]).toContain("Set FERRY_PUBLIC_URL");
  });
});
