import { CreateClusterCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import {
  idempotencyKeyForRun,
  isFerryError,
  isFinalStatus,
  renderJobConfiguration,
  resolveJobVariables,
  type Deployment,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type SubmitResult,
} from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { captureLogger, describeProviderConformance } from "@ferry/provider-kit/conformance";
import { startAwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test-support/services.js";
import { ECS_BASE_JOB_TEMPLATE, EcsProvider } from "../src/index.js";

// The official SDK, through EcsProvider, against @ferry/aws-local: ECS tasks become Docker containers
// of images on this host, so nothing here needs AWS or a registry.
const REGION = "us-east-1";
const CLUSTER = "ferry-it";
const SECRET = "ferry-conformance-secret-5e1f0c";
// aws-local's root key, accepted with any secret: the secret is one the suite can recognise anywhere.
const credentials = { aws_access_key_id: "AKIAFERRYLOCALROOT", aws_secret_access_key: SECRET, region_name: REGION };
const quickJob = { image: "ferry-base:bookworm", command: ["python3", "-c", "print('hi')"], cluster: CLUSTER };
const longJob = { image: "ferry-base:bookworm", command: ["sleep", "600"], cluster: CLUSTER };

type AwsLocal = Awaited<ReturnType<typeof startAwsLocal>>;
let local: AwsLocal;

function request(variables: Record<string, unknown>, deployment: Deployment = fixtureDeployment()): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(ECS_BASE_JOB_TEMPLATE, resolveJobVariables(ECS_BASE_JOB_TEMPLATE, variables));
  const flowRun = fixtureFlowRun("ecs:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment,
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_RUN_TOKEN: "run-token" },
  };
}

const refOf = (req: SubmitRequest, infrastructureId: string): InfrastructureRef => ({ infrastructureId, jobConfiguration: req.jobConfiguration, credentials });

/** Retries retryable FerryErrors as the server's dispatcher does. */
async function submitLikeDispatcher(provider: EcsProvider, req: SubmitRequest, attempts = 4): Promise<SubmitResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await provider.submit(req);
    } catch (error) {
      if (!isFerryError(error) || !error.retryable || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

async function untilFinal(provider: EcsProvider, ref: InfrastructureRef, timeoutMs = 90_000): Promise<InfrastructureStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await provider.status(ref);
    if (isFinalStatus(status)) return status;
    if (Date.now() > deadline) throw new Error(`${ref.infrastructureId} did not finish; last status ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function countCalls(operation: string, service = "ecs"): number {
  return local.calls().filter((c) => c.service === service && c.operation === operation).length;
}

async function tasksInCluster(): Promise<number> {
  const ecs = new ECSClient({ region: REGION, endpoint: local.endpoint, credentials: { accessKeyId: credentials.aws_access_key_id, secretAccessKey: credentials.aws_secret_access_key } });
  try {
    const running = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "RUNNING" }));
    const stopped = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "STOPPED" }));
    return (running.taskArns?.length ?? 0) + (stopped.taskArns?.length ?? 0);
  } finally {
    ecs.destroy();
  }
}

describe("EcsProvider on @ferry/aws-local", await docker({ images: ["ferry-base:bookworm"] }), () => {
  beforeAll(async () => {
    // `sleep` as PID 1 ignores SIGTERM: a short grace keeps the cancel test from waiting ECS's 30 s.
    local = await startAwsLocal({ defaultStopTimeoutSeconds: 2, rootAccessKeyId: credentials.aws_access_key_id });
    if (local.runtimeUnavailable) throw new Error(`aws-local cannot run ECS tasks: ${local.runtimeUnavailable}`);
    const ecs = new ECSClient({ region: REGION, endpoint: local.endpoint, credentials: { accessKeyId: credentials.aws_access_key_id, secretAccessKey: credentials.aws_secret_access_key } });
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    ecs.destroy();
  });
  afterAll(async () => {
    await local?.close();
  });

  describeProviderConformance("EcsProvider", async () => {
    const log = captureLogger();
    const make = () => new EcsProvider({ endpoint: local.endpoint, logger: log.logger, retryBaseDelayMs: 20 });
    return {
      provider: make(),
      restart: make,
      jobs: {
        quick: quickJob,
        long: longJob,
        failing: { variables: { ...quickJob, command: ["python3", "-c", "import sys; sys.exit(3)"] }, exitCode: 3 },
        unstartable: { variables: { ...quickJob, image: "ferry-image-that-does-not-exist:nope" }, reason: /the image could not be pulled/ },
        refused: { ...quickJob, cluster: "ferry-no-such-cluster" },
      },
      credentials,
      secret: SECRET,
      badCredentials: { ...credentials, aws_access_key_id: "AKIAFERRYUNKNOWNKEY0" },
      startedJobs: async () => Object.values(local.state.data.regions).reduce((n, region) => n + Object.keys(region.ecs.tasks).length, 0),
      throttle: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ service: "ecs", operation: "*", code: "ThrottlingException", message: "Rate exceeded", times: calls });
      },
      refuseCancel: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ service: "ecs", operation: "StopTask", code: "AccessDeniedException", message: "not authorized to perform: ecs:StopTask", times: calls });
      },
      logLines: log.lines,
      timeoutMs: 90_000,
    };
  });

  describe("ECS behaviour", () => {
    it("retries a throttled RegisterTaskDefinition and starts one task", async () => {
      const provider = new EcsProvider({ endpoint: local.endpoint });
      const registersBefore = countCalls("RegisterTaskDefinition");
      const runsBefore = countCalls("RunTask");
      local.injectFault({ service: "ecs", operation: "RegisterTaskDefinition", code: "ThrottlingException", times: 1 });
      const req = request(quickJob);
      const { infrastructureId } = await submitLikeDispatcher(provider, req);
      expect(countCalls("RegisterTaskDefinition") - registersBefore).toBeGreaterThanOrEqual(2);
      expect(countCalls("RunTask") - runsBefore).toBe(1);
      expect(await untilFinal(provider, refOf(req, infrastructureId))).toMatchObject({ phase: "exited", exitCode: 0 });
    });

    it("reports an image that is not on the host as failed: could not be pulled", async () => {
      const provider = new EcsProvider({ endpoint: local.endpoint });
      const req = request({ ...quickJob, image: "ferry-image-that-does-not-exist:nope" });
      const { infrastructureId } = await submitLikeDispatcher(provider, req);
      const final = await untilFinal(provider, refOf(req, infrastructureId));
      expect(final.phase).toBe("failed");
      expect(final.message).toContain("could not be pulled");
    });

    it("starts one task for the same idempotency key, even from a second process", async () => {
      const req = request(quickJob);
      const before = await tasksInCluster();
      const first = await new EcsProvider({ endpoint: local.endpoint }).submit(req);
      const second = await new EcsProvider({ endpoint: local.endpoint }).submit({ ...req });
      expect(second.infrastructureId).toBe(first.infrastructureId);
      expect((await tasksInCluster()) - before).toBe(1);
      await untilFinal(new EcsProvider({ endpoint: local.endpoint }), refOf(req, first.infrastructureId));
    });

    it("registers equal task definitions once, across runs and processes", async () => {
      const deployment = fixtureDeployment();
      const before = countCalls("RegisterTaskDefinition");
      const provider = new EcsProvider({ endpoint: local.endpoint });
      const runs = [request(quickJob, deployment), request(quickJob, deployment)];
      const ids = [await provider.submit(runs[0]!), await provider.submit(runs[1]!)];
      const restarted = new EcsProvider({ endpoint: local.endpoint });
      const third = request(quickJob, deployment);
      ids.push(await restarted.submit(third));
      expect(countCalls("RegisterTaskDefinition") - before).toBe(1);
      expect(new Set(ids.map((i) => i.infrastructureId)).size).toBe(3);
      for (const [i, req] of [...runs, third].entries()) {
        expect(await untilFinal(provider, refOf(req, ids[i]!.infrastructureId))).toMatchObject({ phase: "exited", exitCode: 0 });
      }
    });

    it("sends the container's output to CloudWatch Logs and reads it back", async () => {
      const provider = new EcsProvider({ endpoint: local.endpoint });
      const req = request({ ...quickJob, configure_cloudwatch_logs: true, execution_role_arn: "arn:aws:iam::123456789012:role/ferry-execution" });
      const { infrastructureId } = await provider.submit(req);
      const ref = refOf(req, infrastructureId);
      expect(await untilFinal(provider, ref)).toMatchObject({ phase: "exited", exitCode: 0 });
      expect(countCalls("CreateLogGroup", "logs")).toBe(1);
      const deadline = Date.now() + 10_000;
      let lines = await provider.logs(ref, { limit: 10 });
      while (!lines.some((l) => l.message === "hi") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        lines = await provider.logs(ref, { limit: 10 });
      }
      expect(lines.map((l) => l.message)).toContain("hi");
    });

    it("refuses to run without a default VPC or subnets, naming the fix", async () => {
      local.setDefaultVpc(false);
      try {
        const provider = new EcsProvider({ endpoint: local.endpoint });
        await expect(provider.submit(request(quickJob))).rejects.toThrow(/no default VPC in us-east-1.*subnets/);
      } finally {
        local.setDefaultVpc(true);
      }
    });
  });
});
