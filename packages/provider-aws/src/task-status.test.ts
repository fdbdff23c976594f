import type { Task } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { explainStop, infrastructureIdFor, parseInfrastructureId, taskStatus } from "./task-status.js";

const arn = "arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d";

describe("infrastructure ids", () => {
  it("round-trips cluster::taskArn, cluster ARNs included", () => {
    expect(parseInfrastructureId(infrastructureIdFor("prod", arn))).toEqual({ cluster: "prod", taskArn: arn });
    const clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
    expect(parseInfrastructureId(`${clusterArn}::${arn}`)).toEqual({ cluster: clusterArn, taskArn: arn });
  });

  it("refuses what is not one", () => {
    expect(parseInfrastructureId("does-not-exist")).toBeNull();
    expect(parseInfrastructureId("::arn")).toBeNull();
    expect(parseInfrastructureId("prod::")).toBeNull();
  });
});

describe("taskStatus", () => {
  const task = (t: Partial<Task>): Task => ({ taskArn: arn, ...t });

  it.each(["PROVISIONING", "PENDING", "ACTIVATING"])("%s is pending, with a message", (lastStatus) => {
    const s = taskStatus(task({ lastStatus }), "ferry");
    expect(s.phase).toBe("pending");
    expect(s.message).toContain(lastStatus);
  });

  it("RUNNING is running", () => {
    expect(taskStatus(task({ lastStatus: "RUNNING" }), "ferry")).toEqual({ phase: "running" });
  });

  it("a started task on its way to STOPPED is still running", () => {
    expect(taskStatus(task({ lastStatus: "DEACTIVATING", startedAt: new Date() }), "ferry")).toEqual({ phase: "running" });
    expect(taskStatus(task({ lastStatus: "DEPROVISIONING" }), "ferry").phase).toBe("pending");
  });

  it("STOPPED with the flow container's exit code is exited with it", () => {
    const s = taskStatus(
      task({
        lastStatus: "STOPPED",
        stopCode: "EssentialContainerExited",
        stoppedReason: "Essential container in task exited",
        containers: [
          { name: "sidecar", exitCode: 0 },
          { name: "ferry", exitCode: 3 },
        ],
      }),
      "ferry",
    );
    expect(s).toEqual({ phase: "exited", exitCode: 3, message: "Essential container in task exited" });
  });

  it("exit code 0 is a clean exit", () => {
    expect(taskStatus(task({ lastStatus: "STOPPED", containers: [{ name: "ferry", exitCode: 0 }] }), "ferry")).toEqual({ phase: "exited", exitCode: 0 });
  });

  it("an out-of-memory kill says to raise memory", () => {
    const s = taskStatus(task({ lastStatus: "STOPPED", containers: [{ name: "ferry", exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" }] }), "ferry");
    expect(s).toEqual({ phase: "exited", exitCode: 137, message: "the container ran out of memory: raise the memory job variable" });
  });

  it("STOPPED without an exit code (image pull failed) is failed in plain words (Prefect #22410)", () => {
    const s = taskStatus(
      task({
        lastStatus: "STOPPED",
        stopCode: "TaskFailedToStart",
        stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/nope:1: not found",
        containers: [{ name: "ferry" }],
      }),
      "ferry",
    );
    expect(s.phase).toBe("failed");
    expect(s.message).toMatch(/^the image could not be pulled: pull image manifest has been retried 5 time\(s\): failed to resolve ref docker.io\/library\/nope:1: not found/);
  });

  it("falls back to the first container when the name does not match", () => {
    expect(taskStatus(task({ lastStatus: "STOPPED", containers: [{ name: "other", exitCode: 1 }] }), "ferry")).toMatchObject({ phase: "exited", exitCode: 1 });
  });
});

describe("explainStop", () => {
  it.each([
    [{ stopCode: "TaskFailedToStart", stoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed" }, /^the task's resources could not be set up: unable to pull secrets.*execution role/],
    [{ stopCode: "TaskFailedToStart", stoppedReason: "Task failed to start" }, /^the task failed to start: Task failed to start$/],
    [{ stopCode: "TaskFailedToStart" }, /^the task failed to start: ECS gave no reason$/],
    [{ stoppedReason: "CannotStartContainerError: Error response from daemon: exec: \"nope\": not found" }, /^the container could not start: Error response from daemon/],
    [{ stopCode: "SpotInterruption", stoppedReason: "Your Spot Task was interrupted." }, /^the Fargate Spot capacity was reclaimed by AWS: Your Spot Task was interrupted\.$/],
    [{ stopCode: "UserInitiated", stoppedReason: "cancelled by the user" }, /^the task was stopped: cancelled by the user$/],
    [{ stopCode: "ServiceSchedulerInitiated", stoppedReason: "x" }, /^ECS stopped the task: x$/],
    [{}, /^the task stopped without an exit code$/],
  ] as const)("%o", (task, expected) => {
    expect(explainStop(task)).toMatch(expected);
  });

  it("reads the container's reason too", () => {
    expect(explainStop({ stopCode: "TaskFailedToStart" }, { reason: "CannotPullContainerError: access denied" })).toMatch(/^the image could not be pulled: access denied/);
  });
});

describe("reasons repeated by ECS", () => {
  it("are said once", () => {
    const reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref x:1: not found";
    const message = explainStop({ stopCode: "TaskFailedToStart", stoppedReason: reason }, { reason: reason.replace("CannotPullContainerError: ", "") });
    expect(message).toBe("the image could not be pulled: pull image manifest has been retried 5 time(s): failed to resolve ref x:1: not found (check the image name and tag, that the execution role may pull it, and that the subnets reach the registry)");
    expect(explainStop({ stoppedReason: "same" }, { reason: "same" })).toBe("the task stopped without an exit code: same");
  });
});
