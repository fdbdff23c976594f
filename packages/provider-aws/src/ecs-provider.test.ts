import { CreateLogGroupCommand, GetLogEventsCommand, ResourceAlreadyExistsException } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeSubnetsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import {
  ClientException,
  ClusterNotFoundException,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSServiceException,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type RegisterTaskDefinitionCommandInput,
  type RunTaskCommandInput,
  type Task,
} from "@aws-sdk/client-ecs";
import { idempotencyKeyForRun, renderJobConfiguration, resolveJobVariables, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun, rejection } from "@ferry/core/testing";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AwsClientSettings, AwsClients } from "./aws-clients.js";
import { ECS_BASE_JOB_TEMPLATE } from "./ecs-template.js";
import { EcsProvider } from "./ecs-provider.js";

const credentials = { aws_access_key_id: "AKIAFAKE", aws_secret_access_key: "secret-4f2a9b", region_name: "eu-west-1" };

/** A hand-written ECS/EC2/Logs that records every command: enough behaviour for the provider's logic. */
class FakeAws {
  readonly calls: { op: string; input: unknown; region: string }[] = [];
  readonly settings: AwsClientSettings[] = [];
  readonly definitions: { arn: string; input: RegisterTaskDefinitionCommandInput; status: string }[] = [];
  readonly tasks = new Map<string, Task>();
  readonly byToken = new Map<string, string>();
  defaultVpc: string | null = "vpc-default";
  subnets: Record<string, string[]> = { "vpc-default": ["subnet-b", "subnet-a"] };
  faults: { op: string; error: unknown; times: number }[] = [];
  runTaskFailures: { reason: string }[] = [];
  logEvents: { timestamp: number; message: string }[] = [];
  logGroupExists = false;
  destroyed = 0;

  factory = (settings: AwsClientSettings): AwsClients => {
    this.settings.push(settings);
    const send = (command: { input: unknown }) => this.send(command, settings.region);
    const client = { send } as never;
    return { ecs: client, ec2: client, logs: client, ecr: client, destroy: () => void this.destroyed++ };
  };

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  private async send(command: { input: unknown }, region: string): Promise<unknown> {
    const op = command.constructor.name.replace(/Command$/, "");
    this.calls.push({ op, input: command.input, region });
    const fault = this.faults.find((f) => f.op === op && f.times > 0);
    if (fault) {
      fault.times--;
      throw fault.error;
    }
    if (command instanceof DescribeTaskDefinitionCommand) {
      const family = command.input.taskDefinition;
      const latest = this.definitions.filter((d) => d.input.family === family && d.status === "ACTIVE").at(-1);
      if (!latest) throw new ClientException({ message: "Unable to describe task definition.", $metadata: { httpStatusCode: 400 } });
      return { taskDefinition: { taskDefinitionArn: latest.arn, status: "ACTIVE" }, tags: latest.input.tags };
    }
    if (command instanceof RegisterTaskDefinitionCommand) {
      const n = this.definitions.filter((d) => d.input.family === command.input.family).length + 1;
      const arn = `arn:aws:ecs:${region}:123456789012:task-definition/${command.input.family}:${n}`;
      this.definitions.push({ arn, input: command.input, status: "ACTIVE" });
      return { taskDefinition: { taskDefinitionArn: arn, status: "ACTIVE" } };
    }
    if (command instanceof DeregisterTaskDefinitionCommand) {
      const d = this.definitions.find((x) => x.arn === command.input.taskDefinition);
      if (d) d.status = "INACTIVE";
      return {};
    }
    if (command instanceof RunTaskCommand) {
      const input = command.input as RunTaskCommandInput;
      if (input.cluster === "missing") throw new ClusterNotFoundException({ message: "Cluster not found.", $metadata: { httpStatusCode: 400 } });
      if (this.runTaskFailures.length) return { tasks: [], failures: this.runTaskFailures };
      const def = this.definitions.find((d) => d.arn === input.taskDefinition);
      if (!def || def.status !== "ACTIVE") throw new ClientException({ message: "TaskDefinition is inactive", $metadata: { httpStatusCode: 400 } });
      const existing = input.clientToken && this.byToken.get(input.clientToken);
      if (existing) return { tasks: [this.tasks.get(existing)], failures: [] };
      const taskArn = `arn:aws:ecs:${region}:123456789012:task/${input.cluster}/${this.tasks.size + 1}`;
      this.tasks.set(taskArn, { taskArn, lastStatus: "PROVISIONING", containers: [{ name: "ferry" }] });
      if (input.clientToken) this.byToken.set(input.clientToken, taskArn);
      return { tasks: [this.tasks.get(taskArn)], failures: [] };
    }
    if (command instanceof DescribeTasksCommand) {
      const task = this.tasks.get(command.input.tasks![0]!);
      return task ? { tasks: [task], failures: [] } : { tasks: [], failures: [{ arn: command.input.tasks![0], reason: "MISSING" }] };
    }
    if (command instanceof StopTaskCommand) {
      const task = this.tasks.get(command.input.task!);
      if (task) Object.assign(task, { lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: command.input.reason, containers: [{ name: "ferry", exitCode: 143 }] });
      return { task };
    }
    if (command instanceof DescribeVpcsCommand) return { Vpcs: this.defaultVpc ? [{ VpcId: this.defaultVpc, IsDefault: true }] : [] };
    if (command instanceof DescribeSubnetsCommand) {
      const vpc = command.input.Filters?.[0]?.Values?.[0] ?? "";
      return { Subnets: (this.subnets[vpc] ?? []).map((SubnetId) => ({ SubnetId })) };
    }
    if (command instanceof CreateLogGroupCommand) {
      if (this.logGroupExists) throw new ResourceAlreadyExistsException({ message: "exists", $metadata: { httpStatusCode: 400 } });
      this.logGroupExists = true;
      return {};
    }
    if (command instanceof GetLogEventsCommand) return { events: this.logEvents };
    if (command instanceof GetAuthorizationTokenCommand) return { authorizationData: [{ authorizationToken: "QVdTOnRvaw==" }] };
    throw new Error(`FakeAws: no ${op}`);
  }
}

function request(variables: Record<string, unknown> = {}, deployment = fixtureDeployment()): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(ECS_BASE_JOB_TEMPLATE, resolveJobVariables(ECS_BASE_JOB_TEMPLATE, variables));
  const flowRun = fixtureFlowRun("ecs:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment,
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://ferry", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_RUN_TOKEN: "tok" },
  };
}

const refOf = (req: SubmitRequest, infrastructureId: string) => ({ infrastructureId, jobConfiguration: req.jobConfiguration, credentials: req.credentials });

describe("EcsProvider", () => {
  let aws: FakeAws;
  let provider: EcsProvider;
  beforeEach(() => {
    aws = new FakeAws();
    provider = new EcsProvider({ clients: aws.factory, retryBaseDelayMs: 1 });
  });

  it("registers a definition, resolves the default VPC's subnets and runs the task", async () => {
    const req = request({ cluster: "prod" });
    const { infrastructureId } = await provider.submit(req);
    expect(infrastructureId).toBe("prod::arn:aws:ecs:eu-west-1:123456789012:task/prod/1");
    expect(aws.calls.map((c) => c.op)).toEqual(["DescribeTaskDefinition", "RegisterTaskDefinition", "DescribeVpcs", "DescribeSubnets", "RunTask"]);
    const run = aws.calls.find((c) => c.op === "RunTask")!.input as RunTaskCommandInput;
    expect(run.clientToken).toBe(req.idempotencyKey);
    expect(run.networkConfiguration?.awsvpcConfiguration?.subnets).toEqual(["subnet-a", "subnet-b"]);
    expect(run.overrides?.containerOverrides?.[0]?.environment).toContainEqual({ name: "FERRY_RUN_TOKEN", value: "tok" });
    expect(aws.settings[0]).toMatchObject({ region: "eu-west-1", credentials: { accessKeyId: "AKIAFAKE", secretAccessKey: "secret-4f2a9b" } });
    expect(aws.destroyed).toBe(aws.settings.length);
  });

  it("uses the job's region over the credentials'", async () => {
    await provider.submit(request({ region: "ap-south-1" }));
    expect(new Set(aws.calls.map((c) => c.region))).toEqual(new Set(["ap-south-1"]));
  });

  it("passes the plugin's endpoint to every client", async () => {
    provider = new EcsProvider({ clients: aws.factory, endpoint: "http://127.0.0.1:4566" });
    await provider.submit(request());
    expect(aws.settings.every((s) => s.endpoint === "http://127.0.0.1:4566")).toBe(true);
  });

  it("registers equal definitions once, and later runs cost no Describe", async () => {
    const deployment = fixtureDeployment();
    await provider.submit(request({}, deployment));
    await provider.submit(request({}, deployment));
    await Promise.all([provider.submit(request({}, deployment)), provider.submit(request({}, deployment))]);
    expect(aws.count("RegisterTaskDefinition")).toBe(1);
    expect(aws.count("DescribeTaskDefinition")).toBe(1);
    expect(aws.count("RunTask")).toBe(4);
    // Subnets looked up once too.
    expect(aws.count("DescribeSubnets")).toBe(1);
  });

  it("reuses the family's latest ACTIVE revision when its content tag matches (a new process)", async () => {
    const deployment = fixtureDeployment();
    await provider.submit(request({}, deployment));
    const restarted = new EcsProvider({ clients: aws.factory });
    await restarted.submit(request({}, deployment));
    expect(aws.count("RegisterTaskDefinition")).toBe(1);
    expect(aws.count("DescribeTaskDefinition")).toBe(2);
  });

  it("registers a new revision when the content changed", async () => {
    const deployment = fixtureDeployment();
    await provider.submit(request({}, deployment));
    await provider.submit(request({ memory: 4096 }, deployment));
    expect(aws.count("RegisterTaskDefinition")).toBe(2);
    expect(aws.definitions.map((d) => d.arn.split(":").at(-1))).toEqual(["1", "2"]);
  });

  it("registers again when a cached definition was deregistered behind its back", async () => {
    const deployment = fixtureDeployment();
    await provider.submit(request({}, deployment));
    aws.definitions[0]!.status = "INACTIVE";
    await provider.submit(request({}, deployment));
    expect(aws.count("RegisterTaskDefinition")).toBe(2);
    expect(aws.count("RunTask")).toBe(3);
  });

  it("a repeated or concurrent submit of one run starts one task", async () => {
    const req = request();
    const [a, b] = await Promise.all([provider.submit(req), provider.submit({ ...req })]);
    const c = await provider.submit({ ...req });
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(aws.count("RunTask")).toBe(1);
  });

  it("a new process resubmitting a run gets the first task through the client token", async () => {
    const req = request();
    const first = await provider.submit(req);
    const second = await new EcsProvider({ clients: aws.factory }).submit(req);
    expect(second).toEqual(first);
    expect(aws.tasks.size).toBe(1);
  });

  const throttling = () => new ECSServiceException({ name: "ThrottlingException", message: "Rate exceeded", $fault: "client", $metadata: { httpStatusCode: 400 } });

  it("retries a throttled call within the submission", async () => {
    aws.faults.push({ op: "RegisterTaskDefinition", error: throttling(), times: 2 });
    await expect(provider.submit(request())).resolves.toMatchObject({ infrastructureId: expect.stringContaining("::") });
    expect(aws.count("RegisterTaskDefinition")).toBe(3);
    expect(aws.count("RunTask")).toBe(1);
  });

  it("fails a submission throttled on every attempt as retryable, and the next submission succeeds", async () => {
    aws.faults.push({ op: "RegisterTaskDefinition", error: throttling(), times: 3 });
    const req = request();
    const error = await rejection(provider.submit(req));
    expect(error).toMatchObject({ code: "provider_throttled", retryable: true });
    expect(error.message).toMatch(/^RegisterTaskDefinition: AWS is throttling requests in eu-west-1/);
    expect(aws.count("RegisterTaskDefinition")).toBe(3);
    await expect(provider.submit(req)).resolves.toMatchObject({ infrastructureId: expect.stringContaining("::") });
    expect(aws.count("RunTask")).toBe(1);
  });

  it("stops retrying when the submission's signal aborts", async () => {
    aws.faults.push({ op: "RegisterTaskDefinition", error: throttling(), times: 3 });
    const controller = new AbortController();
    // Full jitter would sometimes pick a short backoff; the top of the range keeps the second attempt a minute away.
    const random = vi.spyOn(Math, "random").mockReturnValue(0.999);
    try {
      provider = new EcsProvider({ clients: aws.factory, retryBaseDelayMs: 60_000 });
      const submitting = provider.submit({ ...request(), signal: controller.signal });
      await expect.poll(() => aws.count("RegisterTaskDefinition")).toBe(1);
      controller.abort(new Error("the server is stopping"));
      await expect(submitting).rejects.toThrow("the server is stopping");
      expect(aws.count("RegisterTaskDefinition")).toBe(1);
      expect(aws.count("RunTask")).toBe(0);
    } finally {
      random.mockRestore();
    }
  });

  it("does not retry what retrying cannot mend", async () => {
    aws.faults.push({ op: "RegisterTaskDefinition", error: new ClientException({ message: "Invalid 'cpu' setting for task.", $metadata: { httpStatusCode: 400 } }), times: 1 });
    expect(await rejection(provider.submit(request()))).toMatchObject({ code: "provider_error", retryable: false });
    expect(aws.count("RegisterTaskDefinition")).toBe(1);
  });

  it("keeps the pool's secret out of its errors, even when AWS repeats it", async () => {
    aws.faults.push({ op: "DescribeTaskDefinition", error: new ClientException({ message: `bad signature for secret ${credentials.aws_secret_access_key}`, $metadata: { httpStatusCode: 400 } }), times: 1 });
    const error = await rejection(provider.submit(request()));
    expect(JSON.stringify({ message: error.message, details: error.details, cause: String(error.cause) })).not.toContain(credentials.aws_secret_access_key);
  });

  it("turns a RunTask failure entry into a classified error, and retrying is possible", async () => {
    aws.runTaskFailures = [{ reason: "Capacity is unavailable at this time." }];
    const req = request();
    expect(await rejection(provider.submit(req))).toMatchObject({ code: "provider_quota", retryable: true });
    aws.runTaskFailures = [];
    await expect(provider.submit(req)).resolves.toBeDefined();
  });

  it("names the fix for a missing cluster", async () => {
    const error = await rejection(provider.submit(request({ cluster: "missing" })));
    expect(error.code).toBe("provider_not_found");
    expect(error.message).toContain("the ECS cluster 'missing' does not exist in eu-west-1: run 'ferry work-pool provision-infra conformance-pool' or set the cluster job variable");
  });

  it("without a default VPC and without subnets refuses before RunTask", async () => {
    aws.defaultVpc = null;
    const error = await rejection(provider.submit(request()));
    expect(error.message).toMatch(/no default VPC in eu-west-1/);
    expect(aws.count("RunTask")).toBe(0);
  });

  it("EC2 tasks without subnets need no EC2 lookups", async () => {
    await provider.submit(request({ launch_type: "EC2" }));
    expect(aws.count("DescribeVpcs")).toBe(0);
  });

  it("creates the log group with the pool's credentials, tolerating an existing one", async () => {
    aws.logGroupExists = true;
    await provider.submit(request({ configure_cloudwatch_logs: true, execution_role_arn: "arn:exec" }));
    expect(aws.count("CreateLogGroup")).toBe(1);
    expect((aws.calls.find((c) => c.op === "CreateLogGroup")!.input as { logGroupName: string }).logGroupName).toBe("/ferry/ecs");
  });

  it("with auto_deregister_task_definition registers per run and deregisters once the task started", async () => {
    const deployment = fixtureDeployment();
    await provider.submit(request({ auto_deregister_task_definition: true }, deployment));
    await provider.submit(request({ auto_deregister_task_definition: true }, deployment));
    expect(aws.count("RegisterTaskDefinition")).toBe(2);
    expect(aws.count("DeregisterTaskDefinition")).toBe(2);
    expect(aws.definitions.every((d) => d.status === "INACTIVE")).toBe(true);
  });

  it("follows a task: pending, running, exited with the container's code", async () => {
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    const ref = refOf(req, infrastructureId);
    const task = [...aws.tasks.values()][0]!;
    expect((await provider.status(ref)).phase).toBe("pending");
    task.lastStatus = "RUNNING";
    expect(await provider.status(ref)).toEqual({ phase: "running" });
    Object.assign(task, { lastStatus: "STOPPED", containers: [{ name: "ferry", exitCode: 0 }] });
    expect(await provider.status(ref)).toEqual({ phase: "exited", exitCode: 0 });
  });

  it("reports a task that never started as failed in plain words", async () => {
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    Object.assign([...aws.tasks.values()][0]!, { lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: "CannotPullContainerError: not found", containers: [{ name: "ferry" }] });
    expect(await provider.status(refOf(req, infrastructureId))).toMatchObject({ phase: "failed", message: expect.stringMatching(/^the image could not be pulled: not found/) });
  });

  it("reports unknown and malformed ids as missing", async () => {
    const req = request();
    expect((await provider.status(refOf(req, "prod::arn:aws:ecs:eu-west-1:1:task/prod/nope"))).phase).toBe("missing");
    expect((await provider.status(refOf(req, "not-an-id"))).phase).toBe("missing");
  });

  it("cancels with StopTask and the reason; cancelling twice is harmless", async () => {
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    const ref = refOf(req, infrastructureId);
    await provider.cancel(ref, "cancelled by alice");
    await provider.cancel(ref, "again");
    expect(aws.calls.filter((c) => c.op === "StopTask").map((c) => (c.input as { reason: string }).reason)).toEqual(["cancelled by alice", "again"]);
    expect(await provider.status(ref)).toMatchObject({ phase: "exited", exitCode: 143 });
  });

  it("reads the container's CloudWatch stream when logs are configured", async () => {
    const req = request({ configure_cloudwatch_logs: true, execution_role_arn: "arn:exec" });
    const { infrastructureId } = await provider.submit(req);
    aws.logEvents = [{ timestamp: 0, message: "hello\n" }];
    expect(await provider.logs(refOf(req, infrastructureId), { limit: 50 })).toEqual([{ timestamp: "1970-01-01T00:00:00.000Z", message: "hello" }]);
    const get = aws.calls.find((c) => c.op === "GetLogEvents")!.input;
    expect(get).toEqual({ logGroupName: "/ferry/ecs", logStreamName: "ferry/ferry/1", limit: 50, startFromHead: false });
  });

  it("has no logs without CloudWatch", async () => {
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    expect(await provider.logs(refOf(req, infrastructureId), { limit: 10 })).toEqual([]);
    expect(aws.count("GetLogEvents")).toBe(0);
  });

  describe("image architecture", () => {
    const registry = (architecture: string | null) => {
      const urls: string[] = [];
      const fetchImpl = (async (url: string | URL) => {
        urls.push(String(url));
        if (architecture === null) throw new TypeError("fetch failed");
        if (String(url).includes("/manifests/")) return new Response(JSON.stringify({ config: { digest: "sha256:c" } }));
        return new Response(JSON.stringify({ architecture }));
      }) as typeof fetch;
      return { urls, fetchImpl };
    };

    it("refuses an arm64 image for an X86_64 task before touching ECS", async () => {
      const { fetchImpl } = registry("arm64");
      provider = new EcsProvider({ clients: aws.factory, fetch: fetchImpl });
      const error = await rejection(provider.submit(request({ image: "localhost:5000/app:1" })));
      expect(error).toMatchObject({ code: "validation_failed", retryable: false });
      expect(error.message).toContain("docker build --platform linux/amd64");
      expect(aws.count("RunTask")).toBe(0);
    });

    it("passes a matching image and checks it once", async () => {
      const { fetchImpl, urls } = registry("arm64");
      provider = new EcsProvider({ clients: aws.factory, fetch: fetchImpl });
      await provider.submit(request({ image: "localhost:5000/app:1", cpu_architecture: "ARM64" }));
      await provider.submit(request({ image: "localhost:5000/app:1", cpu_architecture: "ARM64" }));
      expect(urls).toHaveLength(2);
    });

    it("does not block when the registry cannot be read, and says so in a debug log", async () => {
      const { fetchImpl } = registry(null);
      const debug: string[] = [];
      provider = new EcsProvider({ clients: aws.factory, fetch: fetchImpl, logger: { debug: (_o, m) => void debug.push(m), warn() {} } });
      await expect(provider.submit(request({ image: "localhost:5000/app:1" }))).resolves.toBeDefined();
      expect(debug).toEqual([expect.stringContaining("architecture is not checked")]);
    });

    it("reads an ECR image with a registry token from the registry's region, made with the pool's credentials", async () => {
      const seen: string[] = [];
      const fetchImpl = (async (url: string | URL, init?: RequestInit) => {
        seen.push(`${String(url)} ${new Headers(init?.headers).get("authorization")}`);
        if (String(url).includes("/manifests/")) return new Response(JSON.stringify({ config: { digest: "sha256:c" } }));
        return new Response(JSON.stringify({ architecture: "amd64" }));
      }) as typeof fetch;
      provider = new EcsProvider({ clients: aws.factory, fetch: fetchImpl });
      await provider.submit(request({ image: "123456789012.dkr.ecr.ap-south-1.amazonaws.com/app:1", execution_role_arn: "arn:exec" }));
      expect(aws.calls.filter((c) => c.op === "GetAuthorizationToken").map((c) => c.region)).toEqual(["ap-south-1"]);
      expect(seen[0]).toBe("https://123456789012.dkr.ecr.ap-south-1.amazonaws.com/v2/app/manifests/1 Basic QVdTOnRvaw==");
    });

    it("does not ask Docker Hub images' registry", async () => {
      const { fetchImpl, urls } = registry("arm64");
      provider = new EcsProvider({ clients: aws.factory, fetch: fetchImpl });
      await provider.submit(request({ image: "python:3.12" }));
      expect(urls).toEqual([]);
    });
  });
});
