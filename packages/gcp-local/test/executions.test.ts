import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { v2 as logging } from "@google-cloud/logging";
import type { protos } from "@google-cloud/run";
import { v2 } from "@google-cloud/run";
import { startGcpLocal, type GcpLocal } from "../src/index.js";
import { FakeRuntime } from "./fake-runtime.js";
import { clientOptions, eventually } from "./helpers.js";

type Execution = protos.google.cloud.run.v2.IExecution;

/**
 * The execution lifecycle through the official clients, on a hand-written container runtime: the
 * container's env `BEHAVE` says what it does (`exit:N`, `exits:1,0` per attempt, `hang`, `oom`).
 */
describe("Cloud Run executions: what Cloud Run reports, on a fake container runtime", () => {
  let local: GcpLocal;
  let runtime: FakeRuntime;
  let jobs: v2.JobsClient;
  let executions: v2.ExecutionsClient;
  let tasks: v2.TasksClient;
  const parent = "projects/ferry-local/locations/us-central1";

  beforeAll(async () => {
    runtime = new FakeRuntime(new Set(["ferry-engine:latest"]), (launch) => {
      const behave = launch.env.BEHAVE ?? "exit:0";
      const attempt = Number(launch.env.CLOUD_RUN_TASK_ATTEMPT);
      if (behave === "hang") return { exitCode: null, lines: ["started"] };
      if (behave === "oom") return { exitCode: 137, oomKilled: true };
      if (behave.startsWith("exits:")) return { exitCode: Number(behave.slice(6).split(",")[attempt] ?? 1), lines: [`attempt ${attempt}`] };
      return { exitCode: Number(behave.slice(5)), lines: ["hello from the task", `token=${launch.env.FERRY_RUN_TOKEN ?? ""}`] };
    });
    local = await startGcpLocal({ runtime, stopGraceSeconds: 2 });
    const options = clientOptions(local, local.serviceAccountKey());
    jobs = new v2.JobsClient(options);
    executions = new v2.ExecutionsClient(options);
    tasks = new v2.TasksClient(options);
  });

  afterAll(async () => {
    await Promise.all([jobs?.close(), executions?.close(), tasks?.close()]);
    await local?.close();
  });

  async function createJob(jobId: string, behave: string, template: protos.google.cloud.run.v2.ITaskTemplate = {}, image = "ferry-engine:latest"): Promise<string> {
    const [operation] = await jobs.createJob({ parent, jobId, job: { template: { template: { maxRetries: 0, ...template, containers: [{ image, command: ["ferry-engine"], args: ["execute"], env: [{ name: "BEHAVE", value: behave }] }] } } } });
    await operation.promise();
    return `${parent}/jobs/${jobId}`;
  }

  async function run(job: string, env: Record<string, string> = {}): Promise<string> {
    const [operation] = await jobs.runJob({ name: job, overrides: { containerOverrides: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } });
    return (operation.metadata as protos.google.cloud.run.v2.IExecution).name!;
  }

  async function ended(name: string): Promise<Execution> {
    return eventually(
      async () => (await executions.getExecution({ name }))[0],
      (execution) => execution.completionTime !== null && execution.completionTime !== undefined,
    );
  }

  const completed = (execution: Execution) => execution.conditions?.find((c) => c.type === "Completed");

  it("runs the task's container with the job's command and args, the override's env and Cloud Run's variables, and succeeds", async () => {
    const job = await createJob("ok-job", "exit:0");
    const name = await run(job, { FERRY_RUN_TOKEN: "t0k3n" });
    const execution = await ended(name);
    expect(completed(execution)).toMatchObject({ state: "CONDITION_SUCCEEDED" });
    expect(completed(execution)?.message).toMatch(/^Execution completed successfully in /);
    expect(execution).toMatchObject({ succeededCount: 1, failedCount: 0, runningCount: 0, cancelledCount: 0 });
    const launch = runtime.containers.at(-1)!.launch;
    expect(launch).toMatchObject({ image: "ferry-engine:latest", entryPoint: ["ferry-engine"], command: ["execute"], memoryMib: 512, init: true });
    expect(launch.env).toMatchObject({ BEHAVE: "exit:0", FERRY_RUN_TOKEN: "t0k3n", CLOUD_RUN_JOB: "ok-job", CLOUD_RUN_EXECUTION: name.split("/").pop(), CLOUD_RUN_TASK_INDEX: "0", CLOUD_RUN_TASK_ATTEMPT: "0", CLOUD_RUN_TASK_COUNT: "1" });
    const [[task]] = await tasks.listTasks({ parent: name });
    expect(task?.lastAttemptResult).toMatchObject({ exitCode: 0 });
    expect(runtime.containers.at(-1)!.removed).toBe(true);
    // The newest line first, though both were printed in the same millisecond: what a crashed run's last lines are read with.
    const logs = new logging.LoggingServiceV2Client(clientOptions(local, local.serviceAccountKey()));
    const filter = `resource.type="cloud_run_job" AND resource.labels.job_name="ok-job" AND labels."run.googleapis.com/execution_name"="${name.split("/").pop()!}"`;
    const [newest] = await logs.listLogEntries({ resourceNames: ["projects/ferry-local"], filter, orderBy: "timestamp desc", pageSize: 1 }, { autoPaginate: false });
    expect(newest.map((entry: { textPayload?: string }) => entry.textPayload)).toEqual(["token=t0k3n"]);
    const [all] = await logs.listLogEntries({ resourceNames: ["projects/ferry-local"], filter, orderBy: "timestamp asc" });
    expect(all.map((entry: { textPayload?: string }) => entry.textPayload)).toEqual(["hello from the task", "token=t0k3n"]);
    await logs.close();
  });

  it("puts the exit code on the task's last attempt and the reason on the execution's Completed condition", async () => {
    const job = await createJob("failing-job", "exit:3");
    const execution = await ended(await run(job));
    expect(completed(execution)).toMatchObject({ state: "CONDITION_FAILED", executionReason: "NON_ZERO_EXIT_CODE" });
    expect(completed(execution)?.message).toMatch(/^Task failing-job-[a-z0-9]{5}-task0 failed with message: The container exited with an error\.$/);
    expect(execution).toMatchObject({ succeededCount: 0, failedCount: 1 });
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task?.lastAttemptResult).toMatchObject({ exitCode: 3, status: { code: 2, message: "The container exited with an error." } });
  });

  it("retries a failed attempt up to max_retries as Cloud Run does, counting the retries", async () => {
    const job = await createJob("retry-job", "exits:1,1,0", { maxRetries: 2 });
    const execution = await ended(await run(job));
    expect(completed(execution)?.state).toBe("CONDITION_SUCCEEDED");
    expect(execution.retriedCount).toBe(2);
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task).toMatchObject({ retried: 2, lastAttemptResult: { exitCode: 0 } });
    expect(runtime.containers.filter((c) => c.launch.env.CLOUD_RUN_JOB === "retry-job").map((c) => c.launch.env.CLOUD_RUN_TASK_ATTEMPT)).toEqual(["0", "1", "2"]);
  });

  it("with max_retries 0 a failed attempt is final", async () => {
    const job = await createJob("no-retry-job", "exits:1,0");
    const execution = await ended(await run(job));
    expect(completed(execution)?.state).toBe("CONDITION_FAILED");
    expect(runtime.containers.filter((c) => c.launch.env.CLOUD_RUN_JOB === "no-retry-job")).toHaveLength(1);
  });

  it("says the memory limit was exceeded when the container is OOM-killed", async () => {
    const job = await createJob("oom-job", "oom");
    const execution = await ended(await run(job));
    expect(completed(execution)?.message).toMatch(/Memory limit of 512Mi exceeded/);
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task?.lastAttemptResult).toMatchObject({ exitCode: 137, termSignal: 9 });
  });

  it("is pending, then running, then cancelled: the container gets SIGTERM with the grace, and the operation says CANCELLED", async () => {
    const job = await createJob("hang-job", "hang");
    const name = await run(job);
    const running = await eventually(async () => (await executions.getExecution({ name }))[0], (e) => e.runningCount === 1);
    expect(running.conditions?.find((c) => c.type === "Started")?.state).toBe("CONDITION_SUCCEEDED");
    expect(completed(running)?.state).toBe("CONDITION_PENDING");
    const [cancel] = await executions.cancelExecution({ name });
    await cancel.promise();
    const [execution] = await executions.getExecution({ name });
    expect(completed(execution)).toMatchObject({ state: "CONDITION_FAILED", executionReason: "CANCELLED" });
    expect(execution).toMatchObject({ cancelledCount: 1, runningCount: 0 });
    expect(runtime.containers.at(-1)!.stoppedWith).toBe(2);
  });

  it("stops a task at its timeout", async () => {
    const job = await createJob("slow-job", "hang", { timeout: { seconds: 1 } });
    const execution = await ended(await run(job));
    expect(completed(execution)?.state).toBe("CONDITION_FAILED");
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task?.lastAttemptResult?.status?.message).toBe("The task timed out and was terminated.");
  });

  it("refuses an image the host does not have as Cloud Run does: Image 'X' not found.", async () => {
    await expect(createJob("missing-image", "exit:0", {}, "registry.example/nope:1")).rejects.toMatchObject({ code: 9, message: expect.stringContaining("Image 'registry.example/nope:1' not found.") });
    const [job] = await jobs.getJob({ name: `${parent}/jobs/missing-image` });
    expect(job.terminalCondition).toMatchObject({ state: "CONDITION_FAILED", reason: "CONTAINER_MISSING", message: "Image 'registry.example/nope:1' not found." });
    await expect(jobs.runJob({ name: job.name })).rejects.toMatchObject({ code: 9 });
  });

  it("fails an execution whose image went away after the job was made", async () => {
    runtime.images.add("ephemeral:1");
    const job = await createJob("vanishing-image", "exit:0", {}, "ephemeral:1");
    runtime.images.delete("ephemeral:1");
    const execution = await ended(await run(job));
    expect(completed(execution)).toMatchObject({ state: "CONDITION_FAILED", reason: "CONTAINER_MISSING", message: "Image 'ephemeral:1' not found." });
  });

  it("an injected resource failure (permission, quota) fails the next execution of that job with Cloud Run's reason, starting no container", async () => {
    const job = await createJob("denied-job", "exit:0");
    const other = await createJob("other-job", "exit:0");
    local.injectExecutionFailure({ job: "denied-job", reason: "CONTAINER_PERMISSION_DENIED", message: "Permission 'artifactregistry.repositories.downloadArtifacts' denied on resource." });
    const started = runtime.containers.length;
    expect(completed(await ended(await run(other)))?.state).toBe("CONDITION_SUCCEEDED");
    const execution = await ended(await run(job));
    expect(execution.conditions?.find((c) => c.type === "ResourcesAvailable")).toMatchObject({ state: "CONDITION_FAILED", reason: "CONTAINER_PERMISSION_DENIED" });
    expect(completed(execution)).toMatchObject({ state: "CONDITION_FAILED", reason: "CONTAINER_PERMISSION_DENIED", message: "Permission 'artifactregistry.repositories.downloadArtifacts' denied on resource." });
    expect(execution.failedCount).toBe(1);
    expect(runtime.containers.length).toBe(started + 1);
    expect(completed(await ended(await run(job)))?.state).toBe("CONDITION_SUCCEEDED");
  });

  it("starts the execution named by a job's start_execution_token once, with CreateJob", async () => {
    const [operation] = await jobs.createJob({ parent, jobId: "token-job", job: { startExecutionToken: "r1", template: { template: { maxRetries: 0, containers: [{ image: "ferry-engine:latest" }] } } } });
    await operation.promise();
    const execution = await ended(`${parent}/jobs/token-job/executions/token-job-r1`);
    expect(completed(execution)?.state).toBe("CONDITION_SUCCEEDED");
  });

  it("a 429 on RunJob after the execution started leaves that one execution to be found", async () => {
    const job = await createJob("throttled-job", "exit:0");
    local.injectFault({ service: "Jobs", method: "RunJob", code: 429, after: true });
    await expect(jobs.runJob({ name: job }, { retry: null as never })).rejects.toMatchObject({ code: 8 });
    const [list] = await executions.listExecutions({ parent: job });
    expect(list).toHaveLength(1);
    local.injectFault({ service: "Jobs", method: "RunJob", code: "RESOURCE_EXHAUSTED" });
    await expect(jobs.runJob({ name: job }, { retry: null as never })).rejects.toMatchObject({ code: 8 });
    expect((await executions.listExecutions({ parent: job }))[0]).toHaveLength(1);
  });

  it("resolves Secret Manager references in the env, and refuses a job naming a secret that is not there", async () => {
    local.setSecret("db-password", "s3cr3t");
    const env = [{ name: "BEHAVE", value: "exit:0" }, { name: "DB_PASSWORD", valueSource: { secretKeyRef: { secret: "db-password", version: "latest" } } }];
    const [operation] = await jobs.createJob({ parent, jobId: "secret-job", job: { template: { template: { maxRetries: 0, containers: [{ image: "ferry-engine:latest", env }] } } } });
    await operation.promise();
    await ended(await run(`${parent}/jobs/secret-job`));
    expect(runtime.containers.at(-1)!.launch.env.DB_PASSWORD).toBe("s3cr3t");
    const missing = [{ name: "TOKEN", valueSource: { secretKeyRef: { secret: "projects/ferry-local/secrets/nope", version: "3" } } }];
    const [refused] = await jobs.createJob({ parent, jobId: "missing-secret", job: { template: { template: { containers: [{ image: "ferry-engine:latest", env: missing }] } } } });
    await expect(refused.promise()).rejects.toThrow("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret projects/123456789012/secrets/nope/versions/3 was not found");
    const [job] = await jobs.getJob({ name: `${parent}/jobs/missing-secret` });
    expect(job.terminalCondition?.reason).toBe("SECRETS_ACCESS_CHECK_FAILED");
  });

  it("deleting an execution stops its container and it disappears", async () => {
    const job = await createJob("delete-me", "hang");
    const name = await run(job);
    await eventually(async () => (await executions.getExecution({ name }))[0], (e) => e.runningCount === 1);
    const [operation] = await executions.deleteExecution({ name });
    await operation.promise();
    await expect(executions.getExecution({ name })).rejects.toMatchObject({ code: 5 });
    expect(runtime.containers.at(-1)!.stoppedWith).toBe(0);
  });
});

describe("an execution waiting for resources", () => {
  it("is pending (nothing started, no task running) until its containers start, and a cancel then starts none", async () => {
    const runtime = new FakeRuntime(new Set(["ferry-engine:latest"]), () => ({ exitCode: 0 }));
    const local = await startGcpLocal({ runtime, executionStartDelayMs: 1_000 });
    const options = clientOptions(local, local.serviceAccountKey());
    const jobs = new v2.JobsClient(options);
    const executions = new v2.ExecutionsClient(options);
    try {
      const parent = "projects/ferry-local/locations/us-central1";
      const [create] = await jobs.createJob({ parent, jobId: "waiting", job: { template: { template: { maxRetries: 0, containers: [{ image: "ferry-engine:latest" }] } } } });
      await create.promise();
      const [operation] = await jobs.runJob({ name: `${parent}/jobs/waiting` });
      const name = (operation.metadata as protos.google.cloud.run.v2.IExecution).name!;
      const [pending] = await executions.getExecution({ name });
      expect(pending.conditions?.map((c) => [c.type, c.state])).toEqual([
        ["Completed", "CONDITION_PENDING"],
        ["ResourcesAvailable", "CONDITION_PENDING"],
        ["Started", "CONDITION_PENDING"],
      ]);
      expect(pending).toMatchObject({ runningCount: 0, succeededCount: 0, failedCount: 0 });
      expect(pending.startTime).toBeFalsy();
      const [cancel] = await executions.cancelExecution({ name });
      await cancel.promise();
      const [cancelled] = await executions.getExecution({ name });
      expect(cancelled.conditions?.find((c) => c.type === "Completed")).toMatchObject({ state: "CONDITION_FAILED", executionReason: "CANCELLED" });
      expect(cancelled.cancelledCount).toBe(1);
      expect(runtime.containers).toHaveLength(0);
    } finally {
      await Promise.all([jobs.close(), executions.close()]);
      await local.close();
    }
  });
});
