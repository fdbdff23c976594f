import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Logging } from "@google-cloud/logging";
import type { protos } from "@google-cloud/run";
import { v2 } from "@google-cloud/run";
import { docker as dockerService } from "../../../test-support/services.js";
import { GCP_LOCAL_LABELS, startGcpLocal, type GcpLocal } from "../src/index.js";
import { clientOptions, eventually } from "./helpers.js";

const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const docker = new Dockerode();
const needsDocker = await dockerService({ images: [IMAGE] });

describe("Cloud Run executions as Docker containers, followed with the official clients", needsDocker, () => {
  let local: GcpLocal;
  let jobs: v2.JobsClient;
  let executions: v2.ExecutionsClient;
  let tasks: v2.TasksClient;
  let logging: Logging;
  const parent = "projects/ferry-local/locations/us-central1";

  beforeAll(async () => {
    local = await startGcpLocal({ docker, stopGraceSeconds: 2 });
    const options = clientOptions(local, local.serviceAccountKey());
    jobs = new v2.JobsClient(options);
    executions = new v2.ExecutionsClient(options);
    tasks = new v2.TasksClient(options);
    logging = new Logging(options);
  });

  afterAll(async () => {
    await Promise.all([jobs?.close(), executions?.close(), tasks?.close()]);
    await local?.close();
  });

  async function runScript(jobId: string, script: string, env: Record<string, string> = {}, maxRetries = 0): Promise<string> {
    const [create] = await jobs.createJob({ parent, jobId, job: { template: { template: { maxRetries, containers: [{ image: IMAGE, command: ["sh", "-c"], args: [script], resources: { limits: { memory: "256Mi" } } }] } } } });
    await create.promise();
    const [operation] = await jobs.runJob({ name: `${parent}/jobs/${jobId}`, overrides: { containerOverrides: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } });
    return (operation.metadata as protos.google.cloud.run.v2.IExecution).name!;
  }

  const ended = (name: string) => eventually(async () => (await executions.getExecution({ name }))[0], (e) => Boolean(e.completionTime), 90_000);

  it("runs a task to completion; its output is in Cloud Logging under the job and execution", async () => {
    // A pause between the two streams: entries are ordered by time, and lines of two streams printed within the same millisecond have no order.
    const name = await runScript("hello-docker", 'echo "hello $GREETING"; sleep 0.2; echo "task $CLOUD_RUN_TASK_INDEX" >&2', { GREETING: "world" });
    const execution = await ended(name);
    expect(execution.conditions?.find((c) => c.type === "Completed")?.state).toBe("CONDITION_SUCCEEDED");
    const [[task]] = await tasks.listTasks({ parent: name });
    expect(task?.lastAttemptResult?.exitCode).toBe(0);
    const [entries] = await logging.getEntries({
      resourceNames: [`projects/${local.projectId}`],
      filter: `resource.type="cloud_run_job" AND resource.labels.job_name="hello-docker" AND labels."run.googleapis.com/execution_name"="${name.split("/").pop()}"`,
      orderBy: "timestamp asc",
    });
    expect(entries.map((entry) => entry.data)).toEqual(["hello world", "task 0"]);
    expect(entries.map((entry) => entry.metadata.severity)).toEqual(["DEFAULT", "ERROR"]);
  });

  it("reports a failing container's exit code on the task", async () => {
    const execution = await ended(await runScript("exit-docker", "echo failing; exit 7"));
    expect(execution.conditions?.find((c) => c.type === "Completed")).toMatchObject({ state: "CONDITION_FAILED", executionReason: "NON_ZERO_EXIT_CODE" });
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task?.lastAttemptResult?.exitCode).toBe(7);
  });

  it("retries a failed attempt in a new container, which sees its attempt number", async () => {
    const execution = await ended(await runScript("retry-docker", 'echo "attempt $CLOUD_RUN_TASK_ATTEMPT"; [ "$CLOUD_RUN_TASK_ATTEMPT" = 1 ]', {}, 1));
    expect(execution.conditions?.find((c) => c.type === "Completed")?.state).toBe("CONDITION_SUCCEEDED");
    expect(execution.retriedCount).toBe(1);
    const [[task]] = await tasks.listTasks({ parent: execution.name });
    expect(task).toMatchObject({ retried: 1, lastAttemptResult: { exitCode: 0 } });
  });

  it("refuses a job whose image is not on the Docker host: Image 'X' not found.", async () => {
    const [create] = await jobs.createJob({ parent, jobId: "no-image", job: { template: { template: { containers: [{ image: "gcp-local-test/absent:1" }] } } } });
    await expect(create.promise()).rejects.toMatchObject({ code: 9, message: expect.stringContaining("Image 'gcp-local-test/absent:1' not found.") });
  });

  it("runs the container with the job's memory limit on the host network; a cancel stops and removes it", async () => {
    const name = await runScript("sleep-docker", "echo sleeping; sleep 300");
    await eventually(async () => (await executions.getExecution({ name }))[0], (e) => e.runningCount === 1, 60_000);
    const [running] = (await docker.listContainers({ filters: { label: [GCP_LOCAL_LABELS.key] } })).filter((c) => c.Labels[GCP_LOCAL_LABELS.key]?.startsWith(`${name}/`));
    const inspected = await docker.getContainer(running!.Id).inspect();
    expect(inspected.HostConfig).toMatchObject({ Memory: 256 * 2 ** 20, NetworkMode: "host", Init: true });
    const [cancel] = await executions.cancelExecution({ name });
    await cancel.promise();
    const [execution] = await executions.getExecution({ name });
    expect(execution.conditions?.find((c) => c.type === "Completed")?.executionReason).toBe("CANCELLED");
    const left = await docker.listContainers({ all: true, filters: { label: [GCP_LOCAL_LABELS.key] } });
    expect(left.filter((c) => c.Labels[GCP_LOCAL_LABELS.key]?.startsWith(name))).toEqual([]);
  });
});
