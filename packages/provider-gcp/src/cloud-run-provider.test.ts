import { idempotencyKeyForRun, renderJobConfiguration, resolveJobVariables, type InfrastructureRef, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import type { protos } from "@google-cloud/run";
import { beforeEach, describe, expect, it } from "vitest";
import type { CloudRunApi } from "./cloud-run-api.js";
import { CLOUD_RUN_BASE_JOB_TEMPLATE } from "./cloud-run-template.js";
import { CloudRunProvider } from "./cloud-run-provider.js";

type IExecution = protos.google.cloud.run.v2.IExecution;
type ITask = protos.google.cloud.run.v2.ITask;

const PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nsecret-7c1e\n-----END PRIVATE KEY-----\n";
const credentials = { type: "service_account", project_id: "proj-1", private_key_id: "k1", private_key: PRIVATE_KEY, client_email: "ferry@proj-1.iam.gserviceaccount.com" };

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code}: ${details}`), { code, details });

/** A hand-written Cloud Run that keeps jobs and executions in memory: enough behaviour for the provider's rules. */
class FakeCloudRun implements CloudRunApi {
  readonly calls: { op: string; arg: unknown }[] = [];
  readonly jobs = new Map<string, protos.google.cloud.run.v2.IJob>();
  readonly executions = new Map<string, IExecution>();
  readonly tasks = new Map<string, ITask>();
  readonly runRequests: protos.google.cloud.run.v2.IRunJobRequest[] = [];
  faults: { op: string; error: unknown; times: number; after?: boolean }[] = [];
  logLines: { timestamp: string; message: string }[] = [];
  closed = 0;

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  private fault(op: string, after = false): void {
    const f = this.faults.find((x) => x.op === op && x.times > 0 && Boolean(x.after) === after);
    if (f) {
      f.times--;
      throw f.error;
    }
  }

  private record(op: string, arg: unknown): void {
    this.calls.push({ op, arg });
    this.fault(op);
  }

  async createJob(parent: string, jobId: string, job: protos.google.cloud.run.v2.IJob) {
    this.record("CreateJob", { parent, jobId, job });
    const name = `${parent}/jobs/${jobId}`;
    if (this.jobs.has(name)) throw grpcError(6, `Resource '${jobId}' already exists.`);
    const image = job.template?.template?.containers?.[0]?.image ?? "";
    if (image.startsWith("missing/")) {
      // As Cloud Run: the job is made, its terminal condition fails, and CreateJob's operation fails with it.
      this.jobs.set(name, { ...job, name, terminalCondition: { type: "Ready", state: "CONDITION_FAILED", reason: "CONTAINER_MISSING", message: `Image '${image}' not found.` } });
      throw grpcError(9, `Image '${image}' not found.`);
    }
    this.jobs.set(name, { ...job, name });
  }
  async getJob(name: string) {
    this.record("GetJob", name);
    const job = this.jobs.get(name);
    if (!job) throw grpcError(5, `Resource '${name}' was not found`);
    return job;
  }
  async deleteJob(name: string) {
    this.record("DeleteJob", name);
    if (!this.jobs.delete(name)) throw grpcError(5, `Resource '${name}' was not found`);
    for (const e of [...this.executions.keys()]) if (e.startsWith(`${name}/`)) this.executions.delete(e);
  }
  async runJob(request: protos.google.cloud.run.v2.IRunJobRequest) {
    this.record("RunJob", request);
    const job = this.jobs.get(request.name!);
    if (!job) throw grpcError(5, "job not found");
    if (job.terminalCondition?.state === "CONDITION_FAILED") throw grpcError(9, job.terminalCondition.message!);
    this.runRequests.push(request);
    const name = `${request.name}/executions/e${this.runRequests.length}`;
    this.executions.set(name, { name, createTime: { seconds: this.runRequests.length }, conditions: [] });
    this.fault("RunJob", true);
    return name;
  }
  async listExecutions(jobName: string) {
    this.record("ListExecutions", jobName);
    return [...this.executions.values()].filter((e) => e.name!.startsWith(`${jobName}/executions/`));
  }
  async getExecution(name: string) {
    this.record("GetExecution", name);
    const e = this.executions.get(name);
    if (!e) throw grpcError(5, `Resource '${name}' was not found`);
    return e;
  }
  async cancelExecution(name: string) {
    this.record("CancelExecution", name);
    const e = this.executions.get(name);
    if (!e) throw grpcError(5, "not found");
    if (e.completionTime) throw grpcError(9, "execution already completed");
    this.executions.set(name, { ...e, runningCount: 0, cancelledCount: 1, completionTime: { seconds: 9 } });
  }
  async listTasks(executionName: string) {
    this.record("ListTasks", executionName);
    const t = this.tasks.get(executionName);
    return t ? [t] : [];
  }
  async listLogEntries(project: string, filter: string, limit: number) {
    this.record("ListLogEntries", { project, filter, limit });
    return this.logLines.slice(-limit);
  }
  async close() {
    this.closed++;
  }

  finish(name: string, exitCode: number, message = "") {
    const e = this.executions.get(name)!;
    this.executions.set(name, {
      ...e,
      completionTime: { seconds: 5 },
      ...(exitCode === 0 ? { succeededCount: 1 } : { failedCount: 1 }),
      conditions: [{ type: "Completed", state: exitCode === 0 ? "CONDITION_SUCCEEDED" : "CONDITION_FAILED", message }],
    } as IExecution);
    this.tasks.set(name, { lastAttemptResult: { exitCode, status: { code: exitCode === 0 ? 0 : 2, message } } });
  }
}

function request(variables: Record<string, unknown> = {}, creds: Record<string, string> | null = credentials): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(CLOUD_RUN_BASE_JOB_TEMPLATE, resolveJobVariables(CLOUD_RUN_BASE_JOB_TEMPLATE, variables));
  const flowRun = fixtureFlowRun("cloud-run:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials: creds,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "https://ferry.example", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_BOOTSTRAP_TOKEN: "fbt_one_use" },
  };
}

const refOf = (r: SubmitRequest, infrastructureId: string): InfrastructureRef => ({ infrastructureId, jobConfiguration: r.jobConfiguration, credentials: r.credentials });

let cloud: FakeCloudRun;
const provider = (extra: Record<string, unknown> = {}) => new CloudRunProvider({ api: () => cloud, retryBaseDelayMs: 1, ...extra });

beforeEach(() => {
  cloud = new FakeCloudRun();
});

describe("CloudRunProvider.submit", () => {
  it("creates the run's job in the key's project and region, then runs it once with the run's environment as an override", async () => {
    const r = request();
    const { infrastructureId } = await provider().submit(r);
    const job = `projects/proj-1/locations/us-central1/jobs/ferry-${r.flowRun.id}`;
    expect(infrastructureId).toBe(`${job}/executions/e1`);
    expect(cloud.calls.find((c) => c.op === "CreateJob")!.arg).toMatchObject({ parent: "projects/proj-1/locations/us-central1", jobId: `ferry-${r.flowRun.id}` });
    expect(cloud.runRequests).toHaveLength(1);
    expect(cloud.runRequests[0]!.overrides!.containerOverrides![0]!.env).toContainEqual({ name: "FERRY_BOOTSTRAP_TOKEN", value: "fbt_one_use" });
    expect(JSON.stringify(cloud.jobs.get(job))).not.toContain("fbt_one_use");
  });

  it("uses the project job variable over the key's", async () => {
    const { infrastructureId } = await provider().submit(request({ project: "other-proj", region: "europe-west1" }));
    expect(infrastructureId).toMatch(/^projects\/other-proj\/locations\/europe-west1\/jobs\//);
  });

  it("a restarted provider finds the job and its execution, and starts nothing", async () => {
    const r = request();
    const first = await provider().submit(r);
    const second = await provider().submit({ ...r });
    expect(second.infrastructureId).toBe(first.infrastructureId);
    expect(cloud.runRequests).toHaveLength(1);
  });

  it("a 429 on RunJob after Cloud Run started the execution is retried without a second execution", async () => {
    cloud.faults.push({ op: "RunJob", error: grpcError(8, "Too many requests"), times: 1, after: true });
    const r = request();
    const { infrastructureId } = await provider().submit(r);
    expect(cloud.runRequests).toHaveLength(1);
    expect(infrastructureId).toMatch(/executions\/e1$/);
    // The job was new: no look before the first RunJob, one before the retry.
    expect(cloud.count("ListExecutions")).toBe(1);
  });

  it("a 429 on RunJob before anything started is retried and starts one", async () => {
    cloud.faults.push({ op: "RunJob", error: grpcError(8, "Too many requests"), times: 2 });
    await provider().submit(request());
    expect(cloud.runRequests).toHaveLength(1);
    expect(cloud.count("RunJob")).toBe(3);
  });

  it("a submission throttled past its attempts fails retryable, and the dispatcher's retry starts one", async () => {
    cloud.faults.push({ op: "RunJob", error: grpcError(8, "Too many requests"), times: 3 });
    const r = request();
    const p = provider();
    await expect(p.submit(r)).rejects.toMatchObject({ code: "provider_throttled", retryable: true });
    await p.submit({ ...r });
    expect(cloud.runRequests).toHaveLength(1);
  });

  it("refuses a pool without credentials, naming the fixes", async () => {
    await expect(provider().submit(request({}, null))).rejects.toMatchObject({ code: "provider_auth", message: expect.stringMatching(/provision-infra/) });
    expect(cloud.calls).toEqual([]);
  });

  it("refuses memory outside Cloud Run's limits before any call", async () => {
    const r = request();
    r.jobConfiguration = { ...r.jobConfiguration, memory: "64Mi" };
    await expect(provider().submit(r)).rejects.toMatchObject({ code: "validation_failed" });
    expect(cloud.calls).toEqual([]);
  });

  it("refuses a linux/arm64-only image before submitting, saying how to rebuild", async () => {
    const config = { architecture: "arm64", os: "linux" };
    const fetch = (async (url: string) => {
      if (url.includes("/manifests/")) return new Response(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { digest: "sha256:c" } }), { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
      return new Response(JSON.stringify(config));
    }) as typeof globalThis.fetch;
    const error = await provider({ fetch }).submit(request({ image: "localhost:5000/flows:arm" })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "validation_failed" });
    expect((error as Error).message).toMatch(/Cloud Run runs linux\/amd64 images only: build it for linux\/amd64 \(docker build --platform linux\/amd64/);
    expect(cloud.count("CreateJob")).toBe(0);
  });

  it("keeps the key out of every error", async () => {
    cloud.faults.push({ op: "CreateJob", error: grpcError(3, `bad request ${PRIVATE_KEY}`), times: 1 });
    const error = await provider().submit(request()).catch((e: unknown) => e);
    expect(JSON.stringify({ m: (error as Error).message, s: (error as Error).stack })).not.toContain("secret-7c1e");
  });
});

describe("a job Cloud Run cannot make ready (its image is missing)", () => {
  it("is submitted, then failed with Cloud Run's reason, and its job deleted", async () => {
    const r = request({ image: "missing/flows:1" });
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    expect(infrastructureId).toBe(`projects/proj-1/locations/us-central1/jobs/ferry-${r.flowRun.id}`);
    expect(cloud.runRequests).toHaveLength(0);
    const status = await p.status(refOf(r, infrastructureId));
    expect(status).toEqual({ phase: "failed", message: expect.stringMatching(/^the image could not be pulled: Image 'missing\/flows:1' not found\./) });
    expect(cloud.jobs.size).toBe(0);
    expect(await p.status(refOf(r, infrastructureId))).toEqual(status);
    await expect(p.cancel(refOf(r, infrastructureId), "nothing runs")).resolves.toBeUndefined();
    // Resubmitted by a restarted server: the same job, still nothing started.
    const again = request({ image: "missing/flows:2" });
    const first = await provider().submit(again);
    expect((await provider().submit({ ...again })).infrastructureId).toBe(first.infrastructureId);
    expect(cloud.runRequests).toHaveLength(0);
  });

  it("a refused CreateJob that made no job is a submission error", async () => {
    cloud.faults.push({ op: "CreateJob", error: grpcError(9, "Image 'x' not found."), times: 1 });
    await expect(provider().submit(request())).rejects.toMatchObject({ code: "provider_error", retryable: false, message: expect.stringMatching(/Image 'x' not found/) });
  });
});

describe("CloudRunProvider.status", () => {
  it("follows pending → running → exited 0, then deletes the job and still knows the end", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    expect((await p.status(refOf(r, infrastructureId))).phase).toBe("pending");
    cloud.executions.set(infrastructureId, { ...cloud.executions.get(infrastructureId)!, runningCount: 1 });
    expect(await p.status(refOf(r, infrastructureId))).toEqual({ phase: "running" });
    cloud.finish(infrastructureId, 0);
    expect(await p.status(refOf(r, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
    expect(cloud.jobs.size).toBe(0);
    expect(cloud.count("ListLogEntries")).toBe(0);
    expect(await p.status(refOf(r, infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
  });

  it("deletes the job of a run that ended after the server stopped asking (its engine had reported already)", async () => {
    const r = request();
    const p = provider({ jobCleanupIntervalMs: 20 });
    const { infrastructureId } = await p.submit(r);
    cloud.executions.set(infrastructureId, { ...cloud.executions.get(infrastructureId)!, runningCount: 1 });
    expect(await p.status(refOf(r, infrastructureId))).toEqual({ phase: "running" });
    cloud.finish(infrastructureId, 0);
    await expect.poll(() => cloud.jobs.size, { timeout: 5_000 }).toBe(0);
    expect(cloud.count("DeleteJob")).toBe(1);
    await p.close();
  });

  it("keeps the job with keep_job", async () => {
    const r = request({ keep_job: true });
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.finish(infrastructureId, 0);
    await p.status(refOf(r, infrastructureId));
    expect(cloud.jobs.size).toBe(1);
    expect(cloud.count("DeleteJob")).toBe(0);
  });

  it("reads a failed execution's last lines before deleting its job, and gives them to logs()", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.logLines = [
      { timestamp: "2026-01-01T00:00:01.000Z", message: "installing" },
      { timestamp: "2026-01-01T00:00:02.000Z", message: "Killed" },
    ];
    cloud.finish(infrastructureId, 137, "Memory limit of 512 MiB exceeded with 600 MiB used.");
    const status = await p.status(refOf(r, infrastructureId));
    expect(status).toMatchObject({ phase: "exited", exitCode: 137, message: expect.stringMatching(/ran out of memory/) });
    const readAt = cloud.calls.findIndex((c) => c.op === "ListLogEntries");
    expect(readAt).toBeGreaterThan(-1);
    expect(readAt).toBeLessThan(cloud.calls.findIndex((c) => c.op === "DeleteJob"));
    expect((cloud.calls[readAt]!.arg as { filter: string }).filter).toMatch(/resource.type="cloud_run_job" AND resource.labels.job_name="ferry-/);
    expect(cloud.jobs.size).toBe(0);
    expect((await p.logs(refOf(r, infrastructureId), { limit: 50 })).map((l) => l.message)).toEqual(["installing", "Killed"]);
  });

  it("keeps a failed job whose lines could not be read, so they can be read later", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.finish(infrastructureId, 1);
    cloud.faults.push({ op: "ListLogEntries", error: grpcError(7, "denied"), times: 5 });
    expect(await p.status(refOf(r, infrastructureId))).toMatchObject({ phase: "exited", exitCode: 1 });
    expect(cloud.jobs.size).toBe(1);
  });

  it("reports a job deleted behind Ferry's back as missing", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.jobs.clear();
    cloud.executions.clear();
    expect(await p.status(refOf(r, infrastructureId))).toMatchObject({ phase: "missing", message: expect.stringMatching(/its job was deleted/) });
    expect(await p.status(refOf(r, "not-an-execution"))).toMatchObject({ phase: "missing" });
  });

  it("retries 429, 500 and 503 on polls", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.faults.push({ op: "GetExecution", error: grpcError(8, "slow down"), times: 1 }, { op: "GetExecution", error: grpcError(14, "unavailable"), times: 1 });
    expect((await p.status(refOf(r, infrastructureId))).phase).toBe("pending");
    expect(cloud.count("GetExecution")).toBe(3);
  });
});

describe("CloudRunProvider.cancel", () => {
  it("cancels the execution; an execution already ended or gone is stopped", async () => {
    const r = request();
    const p = provider({ attempts: 1 });
    const { infrastructureId } = await p.submit(r);
    await p.cancel(refOf(r, infrastructureId), "by a test");
    expect(cloud.count("CancelExecution")).toBe(1);
    await expect(p.cancel(refOf(r, infrastructureId), "again")).resolves.toBeUndefined();
    expect(await p.status(refOf(r, infrastructureId))).toEqual({ phase: "failed", message: "the execution was cancelled" });
    await expect(p.cancel(refOf(r, infrastructureId), "after the job was deleted")).resolves.toBeUndefined();
  });

  it("rejects a cancel Cloud Run refuses, so the run stays CANCELLING", async () => {
    const r = request();
    const p = provider();
    const { infrastructureId } = await p.submit(r);
    cloud.faults.push({ op: "CancelExecution", error: grpcError(7, "Permission 'run.executions.cancel' denied"), times: 1 });
    await expect(p.cancel(refOf(r, infrastructureId), "refused")).rejects.toMatchObject({ code: "provider_auth", retryable: false });
    expect(cloud.executions.get(infrastructureId)!.cancelledCount).toBeFalsy();
  });
});
