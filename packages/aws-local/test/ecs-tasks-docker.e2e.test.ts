import { CreateLogGroupCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeSubnetsCommand } from "@aws-sdk/client-ec2";
import { CreateClusterCommand, DescribeTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type ContainerDefinition, type Task } from "@aws-sdk/client-ecs";
import { AWS_LOCAL_LABELS, startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";
import { clientsFor, waitFor, type Clients } from "./helpers.js";

const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const docker = new Dockerode();
const needsDocker = await dockerService({ images: [IMAGE] });

describe("ECS tasks as Docker containers", needsDocker, () => {
  let local: AwsLocal;
  let aws: Clients;
  let subnet: string;
  const LOG_GROUP = "/ferry/tasks";

  beforeAll(async () => {
    local = await startAwsLocal({ docker, taskEnvironment: { FERRY_FROM_SERVER: "yes" } });
    aws = clientsFor(local);
    await aws.ecs.send(new CreateClusterCommand({ clusterName: "ferry" }));
    await aws.logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
    subnet = (await aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }))).Subnets![0]!.SubnetId!;
  });
  afterAll(() => local?.close());

  async function run(family: string, container: Partial<ContainerDefinition>, logGroup = LOG_GROUP, overrides?: RunTaskOverrides): Promise<string> {
    await aws.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        executionRoleArn: "arn:aws:iam::123456789012:role/exec",
        containerDefinitions: [{ name: "flow", image: IMAGE, essential: true, logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logGroup, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ferry" } }, ...container }],
      }),
    );
    const { tasks } = await aws.ecs.send(new RunTaskCommand({ cluster: "ferry", taskDefinition: family, launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: [subnet] } }, overrides }));
    return tasks![0]!.taskArn!;
  }

  const describeTask = async (arn: string): Promise<Task> => (await aws.ecs.send(new DescribeTasksCommand({ cluster: "ferry", tasks: [arn] }))).tasks![0]!;
  const untilStopped = (arn: string): Promise<Task> => waitFor(() => describeTask(arn), (t) => t.lastStatus === "STOPPED", 90_000);
  const logLines = async (arn: string): Promise<string[]> => {
    const taskId = arn.split("/").pop()!;
    const { events } = await aws.logs.send(new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: `ferry/flow/${taskId}`, startFromHead: true }));
    return events!.map((e) => e.message!);
  };

  it("runs a task to STOPPED with exit code 0 and its output in CloudWatch Logs", async () => {
    const arn = await run("hello", { command: ["python3", "-c", "print('hi')"] });
    const statuses = new Set<string>();
    const task = await waitFor(() => describeTask(arn), (t) => (statuses.add(t.lastStatus!), t.lastStatus === "STOPPED"), 90_000);
    expect(task).toMatchObject({ lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" });
    expect(task.containers).toMatchObject([{ name: "flow", exitCode: 0, lastStatus: "STOPPED" }]);
    expect(task.startedAt).toBeInstanceOf(Date);
    expect(task.stoppedAt!.getTime()).toBeGreaterThanOrEqual(task.startedAt!.getTime());
    expect([...statuses].every((s) => ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"].includes(s))).toBe(true);
    expect(await logLines(arn)).toEqual(["hi"]);
  });

  it("applies the container overrides (command, environment) and reports a non-zero exit", async () => {
    const arn = await run("overrides", { command: ["false"], environment: [{ name: "A", value: "from-definition" }, { name: "B", value: "kept" }] }, LOG_GROUP, {
      containerOverrides: [{ name: "flow", command: ["python3", "-c", "import os,sys; print(os.environ['A'], os.environ['B'], os.environ['FERRY_FROM_SERVER'], os.environ['AWS_REGION']); sys.exit(3)"], environment: [{ name: "A", value: "from-override" }] }],
    });
    const task = await untilStopped(arn);
    expect(task.containers?.[0]?.exitCode).toBe(3);
    expect(await logLines(arn)).toEqual(["from-override kept yes us-east-1"]);
  });

  it("gives tasks the host's network by default: a task reaches a service on 127.0.0.1", async () => {
    const script = `import urllib.request; print(urllib.request.urlopen('${local.endpoint}/__aws-local/health').status)`;
    const arn = await run("host-network", { command: ["python3", "-c", script] });
    const task = await untilStopped(arn);
    expect(task.containers?.[0]?.exitCode).toBe(0);
    expect(await logLines(arn)).toEqual(["200"]);
  });

  it("fails a task whose image is not on the host with CannotPullContainerError, without pulling", async () => {
    const arn = await run("missing-image", { image: "ferry-no-such-image:0.0.0" });
    const task = await untilStopped(arn);
    expect(task.stopCode).toBe("TaskFailedToStart");
    expect(task.stoppedReason).toBe("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ferry-no-such-image:0.0.0: not found");
    expect(task.containers?.[0]?.exitCode).toBeUndefined();
  });

  it("fails a task whose log group does not exist, as ECS does", async () => {
    const arn = await run("missing-group", { command: ["true"] }, "/ferry/absent");
    const task = await untilStopped(arn);
    expect(task.stopCode).toBe("TaskFailedToStart");
    expect(task.stoppedReason).toMatch(/^ResourceInitializationError: failed to validate logger args: .*The specified log group does not exist/);
  });

  it("stops a running task on StopTask (UserInitiated) and labels its container with the task ARN", async () => {
    const arn = await run("sleeper", { command: ["python3", "-c", "import time; print('up', flush=True); time.sleep(600)"], stopTimeout: 2 });
    await waitFor(() => describeTask(arn), (t) => t.lastStatus === "RUNNING", 60_000);
    const containers = await docker.listContainers({ filters: { label: [`${AWS_LOCAL_LABELS.key}=${arn}`] } });
    expect(containers).toHaveLength(1);
    await waitFor(() => logLines(arn), (lines) => lines.includes("up"), 30_000);

    const { task } = await aws.ecs.send(new StopTaskCommand({ cluster: "ferry", task: arn, reason: "Cancelled by Ferry" }));
    expect(task).toMatchObject({ desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "Cancelled by Ferry" });
    const stopped = await untilStopped(arn);
    expect(stopped).toMatchObject({ stopCode: "UserInitiated", stoppedReason: "Cancelled by Ferry" });
    expect([137, 143]).toContain(stopped.containers?.[0]?.exitCode);
    expect(await docker.listContainers({ all: true, filters: { label: [`${AWS_LOCAL_LABELS.key}=${arn}`] } })).toEqual([]);
  });
});

describe("ECS tasks on the bridge network", needsDocker, () => {
  it("resolves host.docker.internal to the host", async () => {
    const local = await startAwsLocal({ docker, taskNetwork: "bridge" });
    try {
      const aws = clientsFor(local);
      await aws.ecs.send(new CreateClusterCommand({}));
      await aws.logs.send(new CreateLogGroupCommand({ logGroupName: "/bridge" }));
      await aws.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "bridge",
          containerDefinitions: [{ name: "flow", image: IMAGE, command: ["python3", "-c", "import socket; print(socket.gethostbyname('host.docker.internal'))"], logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/bridge", "awslogs-stream-prefix": "b" } } }],
        }),
      );
      const arn = (await aws.ecs.send(new RunTaskCommand({ taskDefinition: "bridge" }))).tasks![0]!.taskArn!;
      const { tasks } = await waitFor(() => aws.ecs.send(new DescribeTasksCommand({ tasks: [arn] })), (r) => r.tasks?.[0]?.lastStatus === "STOPPED", 60_000);
      expect(tasks?.[0]?.containers?.[0]?.exitCode).toBe(0);
      const { events } = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/bridge", logStreamName: `b/flow/${arn.split("/").pop()}` }));
      expect(events?.[0]?.message).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    } finally {
      await local.close();
    }
  });
});

describe("ECS tasks across a server restart", needsDocker, () => {
  it("lets a restarted server (same state file) take over a running task and see it stop", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aws-local-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await startAwsLocal({ docker, stateFile });
      let aws = clientsFor(first);
      await aws.ecs.send(new CreateClusterCommand({ clusterName: "ferry" }));
      await aws.logs.send(new CreateLogGroupCommand({ logGroupName: "/restart" }));
      await aws.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "restart",
          containerDefinitions: [{ name: "flow", image: IMAGE, command: ["python3", "-c", "import time; print('before', flush=True); time.sleep(4); print('after', flush=True)"], logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/restart", "awslogs-stream-prefix": "p" } } }],
        }),
      );
      const arn = (await aws.ecs.send(new RunTaskCommand({ cluster: "ferry", taskDefinition: "restart" }))).tasks![0]!.taskArn!;
      await waitFor(() => aws.ecs.send(new DescribeTasksCommand({ cluster: "ferry", tasks: [arn] })), (r) => r.tasks?.[0]?.lastStatus === "RUNNING", 60_000);
      await first.close();

      const second = await startAwsLocal({ docker, stateFile });
      try {
        aws = clientsFor(second);
        const { tasks } = await waitFor(() => aws.ecs.send(new DescribeTasksCommand({ cluster: "ferry", tasks: [arn] })), (r) => r.tasks?.[0]?.lastStatus === "STOPPED", 60_000);
        expect(tasks?.[0]).toMatchObject({ stopCode: "EssentialContainerExited", containers: [{ exitCode: 0 }] });
        const { events } = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/restart", logStreamName: `p/flow/${arn.split("/").pop()}`, startFromHead: true }));
        expect(events?.map((e) => e.message)).toEqual(["before", "after"]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

type RunTaskOverrides = NonNullable<ConstructorParameters<typeof RunTaskCommand>[0]["overrides"]>;
