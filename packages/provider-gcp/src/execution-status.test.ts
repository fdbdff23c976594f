import type { protos } from "@google-cloud/run";
import { describe, expect, it } from "vitest";
import { executionStatus, explainFailure } from "./execution-status.js";

type IExecution = protos.google.cloud.run.v2.IExecution;
type ITask = protos.google.cloud.run.v2.ITask;

const at = { seconds: 1_800_000_000, nanos: 0 };
const cond = (type: string, state: string, message = "", extra: Record<string, unknown> = {}) => ({ type, state, message, ...extra }) as protos.google.cloud.run.v2.ICondition;
const task = (exitCode: number, message = "", termSignal = 0, code = exitCode === 0 && !termSignal ? 0 : 2): ITask => ({
  lastAttemptResult: { exitCode, termSignal, status: { code, message } },
});

describe("executionStatus", () => {
  it("is pending while the task does not run, with Cloud Run's words", () => {
    const e: IExecution = { conditions: [cond("ResourcesAvailable", "CONDITION_RECONCILING", "Provisioning resources."), cond("Completed", "CONDITION_PENDING")] };
    expect(executionStatus(e)).toEqual({ phase: "pending", message: "Cloud Run is starting the job: Provisioning resources." });
    expect(executionStatus({})).toEqual({ phase: "pending", message: "Cloud Run is starting the job" });
  });

  it("is running once a task runs", () => {
    expect(executionStatus({ runningCount: 1, conditions: [cond("Started", "CONDITION_SUCCEEDED")] })).toEqual({ phase: "running" });
  });

  it("exits 0 when the task succeeded", () => {
    const e: IExecution = { completionTime: at, succeededCount: 1, conditions: [cond("Completed", "CONDITION_SUCCEEDED", "Execution completed successfully")] };
    expect(executionStatus(e, task(0))).toEqual({ phase: "exited", exitCode: 0 });
  });

  it("takes the exit code from the task's last attempt, not the execution", () => {
    const e: IExecution = {
      completionTime: at,
      failedCount: 1,
      conditions: [cond("Completed", "CONDITION_FAILED", "Task ferry-x-abcde-task0 failed with message: The container exited with an error.", { executionReason: "NON_ZERO_EXIT_CODE" })],
    };
    expect(executionStatus(e, task(3, "The container exited with an error."))).toEqual({ phase: "exited", exitCode: 3 });
  });

  it("reports a signal as 128 + signal, and out of memory in plain words", () => {
    const e: IExecution = { completionTime: at, failedCount: 1, conditions: [cond("Completed", "CONDITION_FAILED", "Task failed")] };
    const status = executionStatus(e, task(0, "Memory limit of 512 MiB exceeded with 530 MiB used.", 9));
    expect(status).toMatchObject({ phase: "exited", exitCode: 137 });
    expect(status.message).toMatch(/ran out of memory.*raise the memory job variable/);
  });

  it("is failed with the reason when the image cannot be pulled, even before Cloud Run gives up", () => {
    const running: IExecution = { conditions: [cond("ResourcesAvailable", "CONDITION_FAILED", "Image 'gcr.io/p/nope:1' not found.", { reason: "CONTAINER_MISSING" }), cond("Completed", "CONDITION_RECONCILING")] };
    const early = executionStatus(running);
    expect(early.phase).toBe("failed");
    expect(early.message).toMatch(/^the image could not be pulled: Image 'gcr.io\/p\/nope:1' not found\. \(check the image name and tag/);
    const ended: IExecution = { completionTime: at, failedCount: 1, conditions: [cond("Completed", "CONDITION_FAILED", "Image 'gcr.io/p/nope:1' not found.")] };
    expect(executionStatus(ended)).toEqual({ phase: "failed", message: expect.stringMatching(/image could not be pulled: Image 'gcr.io\/p\/nope:1' not found/) });
  });

  it("says a cancelled execution was cancelled, with the signal's exit code when the task had one", () => {
    const e: IExecution = { completionTime: at, cancelledCount: 1, conditions: [cond("Completed", "CONDITION_FAILED", "The execution was cancelled.", { executionReason: "CANCELLED" })] };
    expect(executionStatus(e)).toEqual({ phase: "failed", message: "the execution was cancelled" });
    expect(executionStatus(e, task(0, "", 15))).toEqual({ phase: "exited", exitCode: 143, message: "the execution was cancelled" });
  });

  it("reads enums given as numbers too", () => {
    const e = { completionTime: at, succeededCount: 1, conditions: [{ type: "Completed", state: 4 }] } as unknown as IExecution;
    expect(executionStatus(e, task(0))).toEqual({ phase: "exited", exitCode: 0 });
  });
});

describe("explainFailure", () => {
  it.each([
    ["Image 'x' not found.", /image could not be pulled/],
    ["Permission denied on image x: the service account lacks artifactregistry.repositories.downloadArtifacts", /may not pull the image.*roles\/artifactregistry.reader/],
    ["Permission 'secretmanager.versions.access' denied", /a secret of env_from_secrets could not be read: .*secretmanager.secretAccessor/],
    ["Permission 'vpcaccess.connectors.use' denied", /permission denied: .*grant the role/],
    ["Quota exceeded for total allowable CPU per project per region.", /quota was reached/],
    ["Memory limit of 512M exceeded", /ran out of memory/],
    ["spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret projects/1/secrets/db/versions/latest was not found", /a secret of env_from_secrets could not be read: .*secretmanager.secretAccessor/],
    ["The configured timeout was reached.", /longer than its timeout.*raise the timeout job variable/],
    ["", /Cloud Run gave no reason/],
  ])("%s", (text, expected) => {
    expect(explainFailure(text)).toMatch(expected);
  });
});
