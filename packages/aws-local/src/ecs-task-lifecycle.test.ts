import { describe, expect, it } from "vitest";
import type { ContainerExit, ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { awslogsTarget, buildContainerLaunch, EcsTaskLifecycle } from "./ecs-task-lifecycle.js";
import { AwsLocalState, type EcsTask, type EcsTaskDefinition } from "./state.js";

/** A container that prints `lines` and exits with `exitCode` when told to, or when stopped. */
class FakeContainer implements ContainerHandle {
  readonly id = "fake-container";
  stoppedWith: number | null = null;
  removed = false;
  private exit!: (exit: ContainerExit) => void;
  private readonly exited = new Promise<ContainerExit>((resolve) => (this.exit = resolve));

  constructor(private readonly lines: string[]) {}

  async follow(onLine: (line: OutputLine) => void): Promise<void> {
    for (const message of this.lines) onLine({ stream: "stdout", timestamp: 1_000, message });
    await this.exited;
  }
  wait(): Promise<ContainerExit> {
    return this.exited;
  }
  finish(exitCode: number): void {
    this.exit({ exitCode, oomKilled: false });
  }
  async stop(graceSeconds: number): Promise<void> {
    this.stoppedWith = graceSeconds;
    this.finish(143);
  }
  async remove(): Promise<void> {
    this.removed = true;
  }
}

class FakeRuntime implements ContainerRuntime {
  launches: ContainerLaunch[] = [];
  container = new FakeContainer(["hello", "world"]);
  constructor(private readonly images: string[]) {}
  async hasImage(image: string): Promise<boolean> {
    return this.images.includes(image);
  }
  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    this.launches.push(launch);
    return this.container;
  }
  async find(): Promise<ContainerHandle | null> {
    return null;
  }
  async removeAll(): Promise<void> {}
}

function definition(overrides: Partial<EcsTaskDefinition["definition"]["containerDefinitions"][number]> = {}): EcsTaskDefinition {
  return {
    arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1",
    family: "f",
    revision: 1,
    status: "ACTIVE",
    registeredAt: 0,
    tags: {},
    definition: {
      family: "f",
      memory: "512",
      containerDefinitions: [
        { name: "sidecar", image: "side", essential: false },
        { name: "flow", image: "img", command: ["run"], environment: [{ name: "A", value: "def" }, { name: "B", value: "def" }], stopTimeout: 5, logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/g", "awslogs-stream-prefix": "p" } }, ...overrides },
      ],
    },
  };
}

function task(overrides: Partial<EcsTask> = {}): EcsTask {
  return {
    arn: "arn:aws:ecs:us-east-1:123456789012:task/c/t1",
    id: "t1",
    region: "us-east-1",
    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/c",
    taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1",
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    launchType: "FARGATE",
    memory: "512",
    createdAt: 0,
    overrides: {},
    tags: {},
    containers: [{ name: "flow", arn: "c1", image: "img", lastStatus: "PENDING" }],
    version: 1,
    ...overrides,
  };
}

function setup(images: string[], withGroup = true) {
  const state = new AwsLocalState(null, false);
  if (withGroup) state.region("us-east-1").logs.groups["/g"] = { name: "/g", arn: "arn", creationTime: 0, tags: {}, streams: {} };
  const runtime = new FakeRuntime(images);
  const changes: string[] = [];
  const lifecycle = new EcsTaskLifecycle({ state, accountId: "123456789012", runtime, runtimeUnavailable: "none", taskEnvironment: { SERVER: "1" }, defaultStopTimeoutSeconds: 30, provisioningDelayMs: 0, keepContainersOnClose: false, now: () => new Date(5_000), changed: () => changes.push("changed"), outputAppended: () => changes.push("output") });
  return { state, runtime, lifecycle, changes };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe("buildContainerLaunch", () => {
  it("runs the first essential container, with overrides over the definition over the server's variables", () => {
    const launch = buildContainerLaunch(task({ overrides: { containerOverrides: [{ name: "flow", command: ["other"], environment: [{ name: "A", value: "override" }] }] } }), definition(), { SERVER: "1", A: "server" });
    expect(launch).toMatchObject({ name: "aws-local-t1", image: "img", command: ["other"], memoryMib: 512, init: false });
    expect(launch.env).toMatchObject({ A: "override", B: "def", SERVER: "1", AWS_REGION: "us-east-1", AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" });
  });

  it("names the awslogs stream <prefix>/<container>/<task id>", () => {
    expect(awslogsTarget(definition().definition.containerDefinitions[1]!, task())).toEqual({ region: "us-east-1", group: "/g", stream: "p/flow/t1", createGroup: false });
    expect(awslogsTarget({ name: "x", image: "i" }, task())).toBeNull();
  });
});

describe("EcsTaskLifecycle", () => {
  it("runs a task to STOPPED with the exit code, copying its output to the log stream and removing the container", async () => {
    const { state, runtime, lifecycle } = setup(["img"]);
    const t = task();
    lifecycle.launch(t, definition());
    await settle();
    expect(t.lastStatus).toBe("RUNNING");
    expect(t.startedAt).toBe(5);
    runtime.container.finish(0);
    await settle();
    expect(t).toMatchObject({ lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", stoppedAt: 5 });
    expect(t.containers[0]).toMatchObject({ exitCode: 0, lastStatus: "STOPPED", runtimeId: "fake-container" });
    expect(state.region("us-east-1").logs.groups["/g"]!.streams["p/flow/t1"]!.events.map((e) => e.message)).toEqual(["hello", "world"]);
    expect(runtime.container.removed).toBe(true);
  });

  it("fails the task to start when the image is missing or the log group is", async () => {
    const missingImage = setup([]);
    const a = task();
    missingImage.lifecycle.launch(a, definition());
    await settle();
    expect(a).toMatchObject({ lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: expect.stringMatching(/^CannotPullContainerError: .*failed to resolve ref img: not found$/) });
    expect(missingImage.runtime.launches).toEqual([]);

    const missingGroup = setup(["img"], false);
    const b = task();
    missingGroup.lifecycle.launch(b, definition());
    await settle();
    expect(b).toMatchObject({ lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: expect.stringContaining("The specified log group does not exist") });
  });

  it("creates the log group when awslogs-create-group is true", async () => {
    const { state, lifecycle } = setup(["img"], false);
    lifecycle.launch(task(), definition({ logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/new", "awslogs-stream-prefix": "p", "awslogs-create-group": "true" } } }));
    await settle();
    expect(state.region("us-east-1").logs.groups["/new"]).toBeDefined();
  });

  it("stops a running container with the definition's stopTimeout and records the user's reason", async () => {
    const { runtime, lifecycle } = setup(["img"]);
    const t = task();
    lifecycle.launch(t, definition());
    await settle();
    await lifecycle.stop(t, "Cancelled");
    await settle();
    expect(runtime.container.stoppedWith).toBe(5);
    expect(t).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Cancelled", containers: [{ exitCode: 143 }] });
  });

  it("never starts a task stopped while it was provisioning", async () => {
    const { runtime, lifecycle } = setup(["img"]);
    const t = task();
    await lifecycle.stop(t, "early");
    lifecycle.launch(t, definition());
    await settle();
    expect(runtime.launches).toEqual([]);
    expect(t).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "early" });
  });

  it("fails tasks with the runtime's reason when no container engine answers", async () => {
    const state = new AwsLocalState(null, false);
    const lifecycle = new EcsTaskLifecycle({ state, accountId: "1", runtime: null, runtimeUnavailable: "ResourceInitializationError: no Docker", taskEnvironment: {}, defaultStopTimeoutSeconds: 30, provisioningDelayMs: 0, keepContainersOnClose: false, now: () => new Date(0), changed: () => undefined, outputAppended: () => undefined });
    const t = task();
    lifecycle.launch(t, definition());
    await settle();
    expect(t).toMatchObject({ lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: "ResourceInitializationError: no Docker" });
  });
});
