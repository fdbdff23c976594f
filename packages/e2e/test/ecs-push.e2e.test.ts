import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from "@aws-sdk/client-ecs";
import { GetPolicyCommand, GetPolicyVersionCommand, IAMClient, ListAttachedUserPoliciesCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAwsLocal, type AwsLocal, type CallRecord } from "@ferry/aws-local";
import { clientPluginModules, loadClientPlugins } from "@ferry/client-node";
import { DEFAULT_ENGINE_IMAGE, FerryClient, idempotencyKeyForRun, type BaseJobTemplate, type Deployment, type FlowRun, type ProvisionResult, type ProvisionStep } from "@ferry/core";
import { clientTokenFor } from "@ferry/provider-aws";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { docker as dockerService } from "../../../test-support/services.js";
import { startAwsProxy, type AwsProxy } from "./support/aws-proxy.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";
import { allowingStatement, grantedActions, parsePolicy, type AuthorizationRequest, type PolicyStatement } from "./support/iam-policy.js";

/**
 * The `ecs:push` path end to end: a server that loads @ferry/provider-aws (FERRY_PROVIDERS), the
 * infrastructure made by the provider's client plugin found the way the CLI finds it (the server's pool
 * type names its plugin; `<plugin>/client` is loaded), the pool created as `ferry work-pool create --type
 * ecs:push --provision-infra` creates it, and ECS tasks that are real containers of the engine image
 * (aws-local runs them on the host network, so the engine reaches the server at 127.0.0.1). Every AWS
 * call of push execution is made with the provisioned IAM user's key, so the last cases can hold its
 * policy against them.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const REGION = "us-east-1";
const POOL = "ecs";

const FLOWS: Record<string, string> = {
  "flows/hello.py": `def main(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}", "length": len(name)}
`,
  "flows/raises.py": `def main():
    raise ValueError("bad day")
`,
  "flows/sleepy.py": `import time

def main(seconds: int = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}
`,
};

/**
 * Which IAM actions a call needs besides its own `service:Operation`. ECS authorizes tag-on-create
 * separately (ecs:TagResource), and registering a definition that names roles passes them (iam:PassRole).
 */
const TAGGED_CREATES = new Set(["ecs:RunTask", "ecs:RegisterTaskDefinition"]);

/**
 * Actions the policy grants that these runs do not make, each with the configuration that makes it.
 * An action here must also be sent by the provider's code, which the last case checks.
 */
/**
 * `needle` must appear in `file` (under packages/; default the provider's ecs-provider.ts): proof the
 * provider really does what the action allows.
 */
const NEEDED_ELSEWHERE: Record<string, { reason: string; needle: string; file?: string }> = {
  "ecs:DeregisterTaskDefinition": { reason: "auto_deregister_task_definition: true deregisters each run's definition once its task started", needle: "new DeregisterTaskDefinitionCommand(" },
  "ec2:DescribeVpcs": { reason: "an account with a default VPC and a job without subnets or vpc_id: the default VPC is looked up", needle: "new DescribeVpcsCommand(" },
  "ec2:DescribeSubnets": { reason: "a job without subnets (vpc_id given, or the default VPC): the VPC's subnets are looked up", needle: "new DescribeSubnetsCommand(" },
  "ecr:GetAuthorizationToken": { reason: "an ECR image: its manifest is read to check the architecture, with a registry token", needle: "new GetAuthorizationTokenCommand(" },
  "ecr:BatchGetImage": { reason: "an ECR image: the architecture check reads its manifest (ECR authorises that as BatchGetImage); aws-local has no registry", needle: "/manifests/", file: "provider-kit/src/image-platform.ts" },
  "ecr:GetDownloadUrlForLayer": { reason: "an ECR image: the architecture check reads its config blob (authorised as GetDownloadUrlForLayer)", needle: "/blobs/", file: "provider-kit/src/image-platform.ts" },
};

describe("ecs:push end to end against aws-local", await dockerService({ images: [IMAGE] }), () => {
  let aws: AwsLocal;
  let repo: ServedRepo;
  let home: string;
  let server: RunningServer;
  let port = 0;
  let apiKey = "";
  let client: FerryClient;
  let proxy: AwsProxy | undefined;
  let provisioned: ProvisionResult;
  let plan: ProvisionStep[];
  let poolTemplate: BaseJobTemplate;
  let unknownDefaults: string[] = [];

  const root = () => ({ endpoint: aws.endpoint, region: REGION, credentials: aws.credentials });
  const ecs = () => new ECSClient(root());

  const start = async (onPort: number, endpoint: string) => {
    const config = parseServerConfig(
      {
        FERRY_PROVIDERS: "@ferry/provider-aws",
        FERRY_PROVIDER_OPTIONS: JSON.stringify({ "@ferry/provider-aws": { endpoint } }),
        FERRY_RUNNER: "none",
      },
      { home, port: onPort, databaseUrl: null, logLevel: "warn" },
    );
    server = await startServer(config, { logStream: process.stderr });
    port = Number(new URL(server.url).port);
    if (server.bootstrap) apiKey = server.bootstrap.apiKey;
    client = new FerryClient({ apiUrl: server.url, apiKey });
  };

  /** The pool's access key: every call push execution makes is made with it. */
  const poolKey = () => String(provisioned.credentials?.data.aws_access_key_id);
  const callsSince = (since: number, filter: Partial<CallRecord> = {}) =>
    aws.calls().slice(since).filter((c) => Object.entries(filter).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v));
  const cluster = () => String(provisioned.jobVariableDefaults.cluster);

  const deploy = async (name: string, entrypoint: string, jobVariables: Record<string, unknown> = {}, parameters: Record<string, unknown> = {}): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: {
          flow_name: "e2e", name, work_pool: POOL,
          source: { git_url: repo.url, branch: "main" },
          entrypoint, parameters,
          job_variables: { image: IMAGE, launch_type: "FARGATE", ...jobVariables },
        },
      })
    ).deployment;

  const runOf = async (d: Deployment, body: { parameters?: Record<string, unknown>; job_variables?: Record<string, unknown> } = {}) =>
    (await client.api.createFlowRun({ params: { id: d.id }, body })).flow_run;

  const logsOf = async (id: string) => (await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");

  const taskArnOf = (run: FlowRun) => {
    const [clusterName, taskArn] = (run.infrastructure_id ?? "").split("::");
    return { clusterName, taskArn: taskArn ?? "" };
  };

  const describeTask = async (taskArn: string): Promise<Task | undefined> =>
    (await ecs().send(new DescribeTasksCommand({ cluster: cluster(), tasks: [taskArn] }))).tasks?.[0];

  /** Every task of the pool's cluster, running or stopped. */
  const allTasks = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
      out.push(...((await ecs().send(new ListTasksCommand({ cluster: cluster(), desiredStatus }))).taskArns ?? []));
    }
    return out.sort();
  };

  beforeAll(async () => {
    aws = await startAwsLocal({ taskNetwork: "host", defaultVpc: false });
    repo = await serveRepo(FLOWS);
    home = mkdtempSync(join(tmpdir(), "ferry-ecs-push-"));
    await start(0, aws.endpoint);

    // What `ferry work-pool create ecs --type ecs:push --provision-infra` does (apps/cli): the server's
    // pool type names the plugin that brings it; the client loads that plugin's ./client (with the same
    // FERRY_PROVIDER_OPTIONS, here aws-local's endpoint) and provisions with the user's own identity (here
    // the root key, through the SDK's default chain), storing the pool's new key as credentials
    // '<pool>-aws' the moment it is made; the pool gets the type's template with the provisioned defaults.
    const { items } = await client.api.listWorkPoolTypes();
    const type = items.find((t) => t.type === "ecs:push");
    if (!type) throw new Error(`the server has no ecs:push pool type (types: ${items.map((t) => t.type).join(", ")})`);
    expect(type.plugin).toBe("@ferry/provider-aws");
    const plugins = await loadClientPlugins(clientPluginModules({ poolTypes: items }), {
      cwd: process.cwd(),
      options: { "@ferry/provider-aws": { endpoint: aws.endpoint } },
    });
    const provisioner = plugins.provisioner("ecs:push", type.plugin);
    const input = {
      poolName: POOL,
      options: { region: REGION },
      hasCredentials: false,
      saveCredentials: async (credentials: { type: string; data: Record<string, string> }) => {
        await client.api.createCredentials({ body: { name: `${POOL}-aws`, type: credentials.type, data: credentials.data } });
      },
    };
    const userIdentity = { AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey };
    const saved = Object.fromEntries(Object.keys(userIdentity).map((k) => [k, process.env[k]]));
    Object.assign(process.env, userIdentity);
    try {
      plan = await provisioner.plan(input);
      provisioned = await provisioner.apply(input, () => undefined);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    poolTemplate = structuredClone(type.default_base_job_template);
    unknownDefaults = [];
    for (const [key, value] of Object.entries(provisioned.jobVariableDefaults)) {
      const variable = poolTemplate.variables.properties[key];
      if (variable) poolTemplate.variables.properties[key] = { ...variable, default: value };
      else unknownDefaults.push(key);
    }
    await client.api.createWorkPool({ body: { name: POOL, type: "ecs:push", base_job_template: poolTemplate, credentials: `${POOL}-aws` } });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    // Closing aws-local removes the tasks' containers.
    await aws?.close();
    await repo?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("provisions through the provider's client plugin and creates the pool as the CLI does: credentials '<pool>-aws', the provisioned defaults", async () => {
    expect(plan.filter((s) => s.action === "create").map((s) => s.id)).toEqual(expect.arrayContaining(["execution-role", "user", "policy", "access-key", "cluster", "vpc", "subnets"]));
    expect(provisioned.credentials?.type).toBe("aws");
    expect(poolKey()).toMatch(/^AKIA/);
    expect(unknownDefaults).toEqual([]);
    expect(provisioned.jobVariableDefaults).toMatchObject({
      region: REGION,
      cluster: "ferry-ecs-cluster",
      execution_role_arn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/FerryEcsTaskExecutionRole$/),
      subnets: expect.arrayContaining([expect.stringMatching(/^subnet-/)]),
    });
    const pool = await client.api.getWorkPool({ params: { name: POOL } });
    expect(pool.credentials).toBe(`${POOL}-aws`);
    expect(pool.base_job_template.variables.properties.execution_role_arn?.default).toBe(provisioned.jobVariableDefaults.execution_role_arn);
    const credentials = await client.api.getCredentials({ params: { name: `${POOL}-aws` } });
    expect(credentials.type).toBe("aws");
    // The pool's key belongs to the provisioned user, not to the identity that provisioned.
    expect(aws.state.data.iam.accessKeys[poolKey()]).toMatchObject({ userName: "ferry-ecs-user", status: "Active" });
  });

  it("runs a Python flow to COMPLETED with its result, in a task started by RunTask with the pool's key", async () => {
    const since = aws.calls().length;
    const d = await deploy("hello", "flows/hello.py:main", {}, { name: "ferry" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello ferry", length: 5 });
    expect(await logsOf(run.id)).toContain("hello ferry");
    expect(run.job_configuration).toMatchObject({ image: IMAGE, launch_type: "FARGATE", execution_role_arn: provisioned.jobVariableDefaults.execution_role_arn, cluster: cluster() });

    const runTasks = callsSince(since, { service: "ecs", operation: "RunTask" });
    expect(runTasks).toHaveLength(1);
    expect(runTasks[0]).toMatchObject({ accessKeyId: poolKey(), userName: "ferry-ecs-user", status: 200 });
    const { clusterName, taskArn } = taskArnOf(run);
    expect(run.infrastructure_id).toBe(`${cluster()}::${taskArn}`);
    expect(clusterName).toBe(cluster());
    expect(await allTasks()).toContain(taskArn);

    // The run's secrets ride in RunTask's overrides, never in the (shared, readable) task definition.
    // The engine reports the final state, then exits: the task stops just after the run completed.
    await expect.poll(async () => (await describeTask(taskArn))?.lastStatus, { timeout: 30_000 }).toBe("STOPPED");
    const task = await describeTask(taskArn);
    expect(task).toMatchObject({ launchType: "FARGATE", stopCode: "EssentialContainerExited", containers: [expect.objectContaining({ exitCode: 0 })] });
    const overrides = Object.fromEntries((task?.overrides?.containerOverrides?.[0]?.environment ?? []).map((e) => [e.name, e.value]));
    // Not the run token: a single-use bootstrap token, which the engine exchanged at start, so whoever
    // may call DescribeTasks reads a token that is refused.
    expect(overrides).toMatchObject({ FERRY_API_URL: server.url, FERRY_FLOW_RUN_ID: run.id, FERRY_BOOTSTRAP_TOKEN: expect.stringMatching(/^frb_/) });
    expect(overrides.FERRY_RUN_TOKEN).toBeUndefined();
    const replay = await new FerryClient({ apiUrl: server.url }).api.exchangeRunBootstrapToken({ body: { bootstrap_token: overrides.FERRY_BOOTSTRAP_TOKEN! } }).then(
      () => null,
      (error: Error) => error,
    );
    expect(replay?.message).toMatch(/exchanged already/);
    const definition = await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: task?.taskDefinitionArn }));
    expect(JSON.stringify(definition.taskDefinition)).not.toMatch(/FERRY_RUN_TOKEN|FERRY_BOOTSTRAP_TOKEN/);
    expect(definition.taskDefinition?.executionRoleArn).toBe(provisioned.jobVariableDefaults.execution_role_arn);
  }, 180_000);

  it("reports a flow that raises as FAILED with the traceback in its logs", async () => {
    const run = await client.waitForRun((await runOf(await deploy("raises", "flows/raises.py:main"))).id);
    expect(run.state.type, run.state.message ?? "").toBe("FAILED");
    expect(run.state.message).toMatch(/ValueError: bad day/);
    const text = await logsOf(run.id);
    expect(text).toMatch(/Traceback \(most recent call last\)/);
    expect(text).toMatch(/raise ValueError\("bad day"\)/);
  }, 180_000);

  it("crashes a run whose image cannot be pulled, with the reason; with CloudWatch logs on, the platform's logs are looked up", async () => {
    const since = aws.calls().length;
    const d = await deploy("hello-bad-image", "flows/hello.py:main");
    const run = await client.waitForRun((await runOf(d, { job_variables: { image: "ferry-nonexistent:latest", configure_cloudwatch_logs: true } })).id);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toMatch(/could not be pulled/);
    expect(run.state.message).toContain("ferry-nonexistent:latest");
    const task = await describeTask(taskArnOf(run).taskArn);
    expect(task).toMatchObject({ lastStatus: "STOPPED", stopCode: "TaskFailedToStart" });
    const ops = callsSince(since, { accessKeyId: poolKey() }).map((c) => `${c.service}:${c.operation}`);
    expect(ops).toContain("logs:CreateLogGroup");
    expect(ops).toContain("logs:GetLogEvents");
  }, 180_000);

  it("cancels a running run: its task is stopped with StopTask and the run is CANCELLED", async () => {
    const d = await deploy("sleepy", "flows/sleepy.py:main");
    const created = await runOf(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: created.id } })).state.type, { timeout: 120_000 }).toBe("RUNNING");
    const running = await client.api.getFlowRun({ params: { id: created.id } });
    const { taskArn } = taskArnOf(running);
    expect((await describeTask(taskArn))?.lastStatus).toBe("RUNNING");
    const since = aws.calls().length;
    expect((await client.api.cancelFlowRun({ params: { id: created.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await client.waitForRun(created.id);
    expect(final.state.type, final.state.message ?? "").toBe("CANCELLED");
    expect(callsSince(since, { service: "ecs", operation: "StopTask", accessKeyId: poolKey() }).length).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await describeTask(taskArn))?.lastStatus, { timeout: 60_000 }).toBe("STOPPED");
    expect(await describeTask(taskArn)).toMatchObject({ stopCode: "UserInitiated" });
  }, 240_000);

  it("retries a throttled RegisterTaskDefinition; the run completes with one task", async () => {
    const since = aws.calls().length;
    const tasksBefore = await allTasks();
    aws.injectFault({ service: "ecs", operation: "RegisterTaskDefinition", code: "ThrottlingException", message: "Rate exceeded", times: 1 });
    const d = await deploy("throttled", "flows/hello.py:main", {}, { name: "again" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello again", length: 5 });
    expect(aws.faults()).toEqual([]);
    const registers = callsSince(since, { service: "ecs", operation: "RegisterTaskDefinition" });
    expect(registers.map((c) => c.error ?? "ok")).toEqual(["ThrottlingException", "ok"]);
    expect(callsSince(since, { service: "ecs", operation: "RunTask" })).toHaveLength(1);
    const added = (await allTasks()).filter((t) => !tasksBefore.includes(t));
    expect(added).toEqual([taskArnOf(run).taskArn]);
  }, 180_000);

  it("retries a submission whose RegisterTaskDefinition stays throttled past the provider's attempts; one task", async () => {
    const since = aws.calls().length;
    const tasksBefore = await allTasks();
    // The provider makes 3 attempts per AWS call: all three are throttled, so the dispatcher retries the submission.
    aws.injectFault({ service: "ecs", operation: "RegisterTaskDefinition", code: "ThrottlingException", message: "Rate exceeded", times: 3 });
    const d = await deploy("throttled-hard", "flows/hello.py:main", {}, { name: "third" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(await logsOf(run.id)).toMatch(/Submission attempt 1 failed .*; retrying/);
    expect(callsSince(since, { service: "ecs", operation: "RegisterTaskDefinition" }).map((c) => c.error ?? "ok")).toEqual(["ThrottlingException", "ThrottlingException", "ThrottlingException", "ok"]);
    expect(callsSince(since, { service: "ecs", operation: "RunTask" })).toHaveLength(1);
    expect((await allTasks()).filter((t) => !tasksBefore.includes(t))).toEqual([taskArnOf(run).taskArn]);
  }, 180_000);

  it("starts one task, not two, when the server stops after AWS accepted RunTask and before the server recorded it", async () => {
    // A server whose AWS calls go through a proxy that can swallow RunTask's answer.
    await server.close();
    proxy = await startAwsProxy(aws.endpoint);
    await start(port, proxy.endpoint);
    const d = await deploy("restart", "flows/hello.py:main", {}, { name: "restart" });
    const tasksBefore = await allTasks();
    const held = proxy.holdNext((r) => r.operation === "RunTask");
    const created = await runOf(d);
    const request = await held;
    const token = clientTokenFor(idempotencyKeyForRun(created.id));
    expect(request.body?.clientToken).toBe(token);
    const submitting = await client.api.getFlowRun({ params: { id: created.id } });
    expect(submitting.state.name).toBe("Submitting");
    expect(submitting.infrastructure_id).toBeNull();

    await server.close();
    // AWS accepts the first server's RunTask; its answer never reaches that server, now gone.
    const answer = await proxy.deliverHeld();
    expect(answer.status).toBe(200);
    const startedArn = (JSON.parse(answer.body) as { tasks: { taskArn: string }[] }).tasks[0]!.taskArn;

    await start(port, proxy.endpoint);
    const final = await client.waitForRun(created.id);
    expect(final.state.type, `${final.state.message ?? ""}\n${await logsOf(created.id)}`).toBe("COMPLETED");
    expect(final.result).toEqual({ greeting: "hello restart", length: 7 });
    expect(taskArnOf(final).taskArn).toBe(startedArn);

    // The new server resubmitted with the same clientToken, and ECS gave it the task already started.
    const runTasks = proxy.requests().filter((r) => r.operation === "RunTask" && r.body?.clientToken === token);
    expect(runTasks).toHaveLength(2);
    expect(aws.state.data.regions[REGION]?.ecs.clientTokens[token]).toEqual([startedArn]);
    expect((await allTasks()).filter((t) => !tasksBefore.includes(t))).toEqual([startedArn]);
    const history = (await client.api.getFlowRunHistory({ params: { id: created.id } })).items.map((s) => s.name);
    expect(history.filter((n) => n === "Submitting")).toHaveLength(1);
  }, 240_000);

  describe("the policy of the pool's IAM user", () => {
    let statements: PolicyStatement[];
    let policyArn: string;

    beforeAll(async () => {
      const iam = new IAMClient({ ...root(), region: REGION });
      const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "ferry-ecs-user" }));
      const arn = attached.AttachedPolicies?.find((p) => p.PolicyName === "ferry-ecs-policy")?.PolicyArn;
      if (!arn) throw new Error(`ferry-ecs-user has no ferry-ecs-policy attached: ${JSON.stringify(attached.AttachedPolicies)}`);
      policyArn = arn;
      const policy = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
      const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.Policy?.DefaultVersionId }));
      // IAM returns documents URL-encoded (RFC 3986).
      statements = parsePolicy(decodeURIComponent(version.PolicyVersion?.Document ?? ""));
    });

    /** Every IAM request the runs above made with the pool's key, with the resource each acted on. */
    const requestsMade = (): AuthorizationRequest[] => {
      const account = aws.accountId;
      const made = new Map<string, AuthorizationRequest>();
      const add = (r: AuthorizationRequest) => made.set(`${r.action} ${r.resource} ${JSON.stringify(r.context ?? {})}`, r);
      for (const call of aws.calls().filter((c) => c.accessKeyId === poolKey())) {
        const action = `${call.service}:${call.operation}`;
        // The only log group push runs use is the default one (every run above leaves cloudwatch_logs_options empty).
        const resource = call.service === "logs" ? `arn:aws:logs:${call.region}:${account}:log-group:/ferry/ecs` : `arn:aws:${call.service}:${call.region}:${account}:*`;
        add({ action, resource });
        if (TAGGED_CREATES.has(action)) add({ action: "ecs:TagResource", resource });
      }
      // Registering a definition that names roles passes them to ECS tasks.
      const registered = Object.values(aws.state.data.regions[REGION]?.ecs.taskDefinitions ?? {});
      for (const definition of registered) {
        for (const role of [definition.definition.executionRoleArn, definition.definition.taskRoleArn]) {
          if (role) add({ action: "iam:PassRole", resource: role, context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
        }
      }
      return [...made.values()];
    };

    it("allows every call push execution made with the pool's key", () => {
      const requests = requestsMade();
      expect(new Set(aws.calls().filter((c) => c.accessKeyId === poolKey()).map((c) => c.userName))).toEqual(new Set(["ferry-ecs-user"]));
      expect(requests.map((r) => r.action)).toEqual(expect.arrayContaining(["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask", "ecs:RegisterTaskDefinition", "iam:PassRole"]));
      const denied = requests.filter((r) => !allowingStatement(statements, r)).map((r) => `${r.action} on ${r.resource}`);
      expect(denied, `not allowed by ${policyArn}`).toEqual([]);
    });

    it("grants no action that push execution does not make", () => {
      const used = new Set(requestsMade().map((r) => r.action));
      const unexplained = grantedActions(statements).filter((a) => !used.has(a) && !NEEDED_ELSEWHERE[a]);
      expect(unexplained, `granted by ${policyArn} but neither made by these runs nor listed in NEEDED_ELSEWHERE`).toEqual([]);
      // What is listed as needed elsewhere is granted, and really sent by the provider.
      for (const [action, { needle, file }] of Object.entries(NEEDED_ELSEWHERE)) {
        expect(grantedActions(statements), action).toContain(action);
        const path = file ?? "provider-aws/src/ecs-provider.ts";
        const source = readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
        expect(source, `${action}: ${path} never does ${needle}`).toContain(needle);
      }
    });

    it("grants what reading an ECR image's manifest and config needs (the provider's architecture check)", () => {
      // For an ECR image the provider reads `GET /v2/<repository>/manifests/<tag>` and, for a one-platform
      // image, `GET /v2/<repository>/blobs/<config digest>` with the pool's registry token
      // (the kit's image-platform.ts). ECR authorizes those as ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on
      // the repository; refused, the check is silently skipped and a wrong-architecture image is no longer
      // caught before the task starts.
      const repository = `arn:aws:ecr:${REGION}:${aws.accountId}:repository/ferry-flows`;
      const missing = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].filter(
        (action) => !allowingStatement(statements, { action, resource: action === "ecr:GetAuthorizationToken" ? "*" : repository }),
      );
      expect(missing, `not allowed by ${policyArn}`).toEqual([]);
    });
  });
});
