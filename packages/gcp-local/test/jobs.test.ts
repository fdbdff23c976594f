import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protos, v2 } from "@google-cloud/run";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { loadSync } from "@grpc/proto-loader";
import { grpc } from "google-gax";
import { startGcpLocal, type GcpLocal } from "../src/index.js";
import { channelCredentials, clientOptions } from "./helpers.js";

/** google.longrunning.Operations as generated from google-gax's own .proto (no client wraps WaitOperation). */
function operationsStub(local: GcpLocal): grpc.Client & Record<string, (request: object, callback: (error: grpc.ServiceError | null, answer: { done: boolean; name: string }) => void) => void> {
  const protos = join(dirname(createRequire(import.meta.url).resolve("google-gax")), "..", "..", "build", "protos");
  const definition = grpc.loadPackageDefinition(loadSync("google/longrunning/operations.proto", { includeDirs: [protos] })) as unknown as { google: { longrunning: { Operations: new (address: string, credentials: grpc.ChannelCredentials) => never } } };
  return new definition.google.longrunning.Operations(`${local.apiEndpoint}:${local.grpcPort}`, channelCredentials(local, local.ownerKey));
}

describe("Cloud Run jobs with the official @google-cloud/run clients (no container engine)", () => {
  let local: GcpLocal;
  let jobs: v2.JobsClient;
  let executions: v2.ExecutionsClient;
  let tasks: v2.TasksClient;
  let parent: string;

  beforeAll(async () => {
    local = await startGcpLocal({ docker: null });
    const options = clientOptions(local, local.serviceAccountKey());
    jobs = new v2.JobsClient(options);
    executions = new v2.ExecutionsClient(options);
    tasks = new v2.TasksClient(options);
    parent = `projects/${local.projectId}/locations/us-central1`;
  });

  afterAll(async () => {
    await Promise.all([jobs?.close(), executions?.close(), tasks?.close()]);
    await local?.close();
  });

  it("creates a job through the operation, with Cloud Run's defaults, and finds the existing one instead of a second", async () => {
    const [operation] = await jobs.createJob({ parent, jobId: "flow-run-1", job: { labels: { pool: "p1" }, template: { template: { containers: [{ image: "ferry-engine:latest", env: [{ name: "A", value: "1" }] }], maxRetries: 0 } } } });
    const [job] = await operation.promise();
    expect(job.name).toBe(`${parent}/jobs/flow-run-1`);
    expect(job.labels).toEqual({ pool: "p1" });
    expect(job.template?.taskCount).toBe(1);
    expect(job.template?.template?.maxRetries).toBe(0);
    expect(String(job.template?.template?.timeout?.seconds)).toBe("600");
    expect(job.template?.template?.containers?.[0]?.resources?.limits).toEqual({ cpu: "1000m", memory: "512Mi" });
    // An operation's result is decoded as a message (enums as numbers); a unary answer with names.
    expect(job.terminalCondition?.state).toBe(protos.google.cloud.run.v2.Condition.State.CONDITION_SUCCEEDED);
    await expect(jobs.createJob({ parent, jobId: "flow-run-1", job: { template: { template: { containers: [{ image: "x" }] } } } })).rejects.toMatchObject({ code: 6 });
    const [got] = await jobs.getJob({ name: job.name });
    expect(got.uid).toBe(job.uid);
    expect(got.creator).toMatch(/^ferry-test@/);
    expect(got.terminalCondition?.state).toBe("CONDITION_SUCCEEDED");
  });

  it("answers NOT_FOUND in Cloud Run's words for a missing job, and INVALID_ARGUMENT for a bad job id", async () => {
    await expect(jobs.getJob({ name: `${parent}/jobs/nope` })).rejects.toMatchObject({ code: 5, details: "Resource 'nope' of kind 'JOB' in region 'us-central1' in project 'ferry-local' does not exist." });
    await expect(jobs.createJob({ parent, jobId: "Bad_Name", job: { template: { template: { containers: [{ image: "x" }] } } } })).rejects.toMatchObject({ code: 3 });
  });

  it("defaults max_retries to 3 when the template leaves it out", async () => {
    const [operation] = await jobs.createJob({ parent, jobId: "retries-default", job: { template: { template: { containers: [{ image: "x" }] } } } });
    const [job] = await operation.promise();
    expect(job.template?.template?.maxRetries).toBe(3);
  });

  it("runs a job with overrides: the execution and its task are listed, and fail saying why no container could run", async () => {
    const [operation] = await jobs.runJob({ name: `${parent}/jobs/flow-run-1`, overrides: { containerOverrides: [{ env: [{ name: "FERRY_RUN_TOKEN", value: "secret-token" }], args: ["run"] }], timeout: { seconds: 60 } } });
    // The first answer is not done and carries the new execution as metadata.
    expect(operation.done).toBe(false);
    const metadata = operation.metadata as protos.google.cloud.run.v2.IExecution as { name: string };
    expect(metadata.name).toMatch(new RegExp(`^${parent}/jobs/flow-run-1/executions/flow-run-1-[a-z0-9]{5}$`));
    await expect(operation.promise()).rejects.toThrow(/cannot run containers: Docker is disabled/);
    const progress = await jobs.checkRunJobProgress(operation.name!);
    expect(progress.done).toBe(true);
    expect(progress.error?.message).toMatch(/cannot run containers/);
    const [list] = await executions.listExecutions({ parent: `${parent}/jobs/flow-run-1` });
    expect(list.map((e) => e.name)).toEqual([metadata.name]);
    const [execution] = await executions.getExecution({ name: metadata.name });
    expect(execution.template?.containers?.[0]?.env?.map(({ name, value }) => ({ name, value }))).toEqual([
      { name: "A", value: "1" },
      { name: "FERRY_RUN_TOKEN", value: "secret-token" },
    ]);
    expect(execution.template?.containers?.[0]?.args).toEqual(["run"]);
    expect(String(execution.template?.timeout?.seconds)).toBe("60");
    const completed = execution.conditions?.find((c) => c.type === "Completed");
    expect(completed?.state).toBe("CONDITION_FAILED");
    expect(execution.completionTime).toBeTruthy();
    const [taskList] = await tasks.listTasks({ parent: metadata.name });
    expect(taskList.map((t) => t.name)).toEqual([`${metadata.name}/tasks/${metadata.name.split("/").pop()}-task0`]);
    const [task] = await tasks.getTask({ name: taskList[0]!.name });
    expect(task.maxRetries).toBe(0);
    const [job] = await jobs.getJob({ name: `${parent}/jobs/flow-run-1` });
    expect(job.executionCount).toBe(1);
    expect(job.latestCreatedExecution?.name).toBe(metadata.name);
    expect(job.latestCreatedExecution?.completionStatus).toBe("EXECUTION_FAILED");
  });

  it("WaitOperation answers once the operation is done; ListExecutions pages", async () => {
    const [operation] = await jobs.runJob({ name: `${parent}/jobs/flow-run-1` });
    expect(operation.done).toBe(false);
    const stub = operationsStub(local);
    const waited = await new Promise<{ done: boolean; name: string }>((resolve, reject) => stub.WaitOperation!({ name: operation.name, timeout: { seconds: 10 } }, (error, answer) => (error ? reject(error) : resolve(answer))));
    stub.close();
    expect(waited).toMatchObject({ name: operation.name, done: true });
    const [firstPage, , response] = await executions.listExecutions({ parent: `${parent}/jobs/flow-run-1`, pageSize: 1 }, { autoPaginate: false });
    expect(firstPage).toHaveLength(1);
    expect(response?.nextPageToken).toBeTruthy();
    const [all] = await executions.listExecutions({ parent: `${parent}/jobs/flow-run-1`, pageSize: 1 });
    expect(all).toHaveLength(2);
  });

  it("deletes a job and its executions disappear with it", async () => {
    const name = `${parent}/jobs/flow-run-1`;
    const [list] = await executions.listExecutions({ parent: name });
    const [operation] = await jobs.deleteJob({ name });
    await operation.promise();
    await expect(jobs.getJob({ name })).rejects.toMatchObject({ code: 5 });
    await expect(executions.getExecution({ name: list[0]!.name })).rejects.toMatchObject({ code: 5 });
  });

  it("records who made each call", () => {
    const createCalls = local.calls().filter((call) => call.method === "CreateJob");
    expect(createCalls.map((call) => call.status)).toEqual(["OK", "ALREADY_EXISTS", "INVALID_ARGUMENT", "OK"]);
    expect(new Set(createCalls.map((call) => call.principal))).toEqual(new Set([`ferry-test@${local.projectId}.iam.gserviceaccount.com`]));
    expect(local.calls().some((call) => call.service === "Operations" && call.method === "GetOperation")).toBe(true);
  });
});
