import { CreateLogGroupCommand, CreateLogStreamCommand, DeleteLogGroupCommand, DescribeLogGroupsCommand, GetLogEventsCommand, PutLogEventsCommand, PutRetentionPolicyCommand, ResourceAlreadyExistsException, ResourceNotFoundException } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeSubnetsCommand } from "@aws-sdk/client-ec2";
import { CreateRepositoryCommand, DeleteRepositoryCommand, DescribeRepositoriesCommand, GetAuthorizationTokenCommand, RepositoryAlreadyExistsException, RepositoryNotFoundException } from "@aws-sdk/client-ecr";
import { ClientException, ClusterNotFoundException, CreateClusterCommand, DeleteClusterCommand, DeleteTaskDefinitionsCommand, DeregisterTaskDefinitionCommand, DescribeClustersCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, InvalidParameterException, ListTaskDefinitionsCommand, ListTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, TagResourceCommand, type RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientsFor, rejection, waitFor, type Clients } from "./helpers.js";

let local: AwsLocal;
let aws: Clients;

// No container engine here: these cases are about the API. Tasks on Docker are in ecs-tasks-docker.e2e.test.ts.
beforeAll(async () => {
  local = await startAwsLocal({ docker: null, registryUrl: "http://127.0.0.1:5000", registryPassword: "s3cret" });
  aws = clientsFor(local);
});
afterAll(() => local.close());
beforeEach(() => local.reset());

const fargateDefinition = (family: string): RegisterTaskDefinitionCommandInput => ({
  family,
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  executionRoleArn: "arn:aws:iam::123456789012:role/exec",
  containerDefinitions: [{ name: "flow", image: "ferry-engine:latest", essential: true, command: ["run"], logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ferry/runs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ferry" } } }],
  tags: [{ key: "ferry:pool", value: "p1" }],
});

describe("ECS clusters and task definitions", () => {
  it("creates, describes and deletes a cluster; an unknown one is a failure, not an error", async () => {
    const { cluster } = await aws.ecs.send(new CreateClusterCommand({ clusterName: "ferry", tags: [{ key: "k", value: "v" }] }));
    expect(cluster).toMatchObject({ clusterName: "ferry", clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/ferry", status: "ACTIVE" });
    const described = await aws.ecs.send(new DescribeClustersCommand({ clusters: ["ferry", "nope"], include: ["TAGS"] }));
    expect(described.clusters).toMatchObject([{ clusterName: "ferry", tags: [{ key: "k", value: "v" }] }]);
    expect(described.failures).toEqual([{ arn: "arn:aws:ecs:us-east-1:123456789012:cluster/nope", reason: "MISSING" }]);
    await aws.ecs.send(new DeleteClusterCommand({ cluster: cluster!.clusterArn }));
    expect((await aws.ecs.send(new DescribeClustersCommand({ clusters: ["ferry"] }))).clusters).toMatchObject([{ status: "INACTIVE" }]);
    const error = await rejection(aws.ecs.send(new ListTasksCommand({ cluster: "ferry" })));
    expect(error).toBeInstanceOf(ClusterNotFoundException);
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it("registers revisions, describes by family, family:revision and ARN, lists and deregisters", async () => {
    const first = await aws.ecs.send(new RegisterTaskDefinitionCommand(fargateDefinition("ferry-flow")));
    const second = await aws.ecs.send(new RegisterTaskDefinitionCommand(fargateDefinition("ferry-flow")));
    expect(first.taskDefinition).toMatchObject({ family: "ferry-flow", revision: 1, status: "ACTIVE", compatibilities: ["EC2", "FARGATE"], cpu: "256", memory: "512" });
    expect(second.taskDefinition?.taskDefinitionArn).toBe("arn:aws:ecs:us-east-1:123456789012:task-definition/ferry-flow:2");
    expect(first.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    expect(first.tags).toEqual([{ key: "ferry:pool", value: "p1" }]);
    expect((await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "ferry-flow" }))).taskDefinition?.revision).toBe(2);
    expect((await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "ferry-flow:1", include: ["TAGS"] }))).tags).toEqual([{ key: "ferry:pool", value: "p1" }]);
    expect((await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "ferry" }))).taskDefinitionArns).toHaveLength(2);
    await aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "ferry-flow:2" }));
    expect((await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "ferry-flow" }))).taskDefinition?.revision).toBe(1);
    expect((await aws.ecs.send(new ListTaskDefinitionsCommand({ status: "INACTIVE" }))).taskDefinitionArns).toEqual([second.taskDefinition!.taskDefinitionArn]);
    const missing = await rejection(aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "nope" })));
    expect(missing).toBeInstanceOf(ClientException);
    // Only a deregistered revision may be deleted; an active one is a failure, not an error.
    const deleted = await aws.ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ["ferry-flow:1", "ferry-flow:2"] }));
    expect(deleted.taskDefinitions?.map((d) => [d.revision, d.status])).toEqual([[2, "DELETE_IN_PROGRESS"]]);
    expect(deleted.failures).toMatchObject([{ arn: first.taskDefinition!.taskDefinitionArn, reason: expect.stringContaining("still in ACTIVE status") }]);
    expect((await aws.ecs.send(new ListTaskDefinitionsCommand({ status: "INACTIVE" }))).taskDefinitionArns).toEqual([]);
  });

  it("refuses the task definitions Fargate refuses", async () => {
    const noRole = { ...fargateDefinition("f"), executionRoleArn: undefined };
    expect((await rejection(aws.ecs.send(new RegisterTaskDefinitionCommand(noRole)))).message).toBe("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
    const bridge = { ...fargateDefinition("f"), networkMode: "bridge" as const };
    expect(await rejection(aws.ecs.send(new RegisterTaskDefinitionCommand(bridge)))).toBeInstanceOf(ClientException);
  });

  it("answers an injected ThrottlingException once, then succeeds", async () => {
    await fetch(`${local.endpoint}/__aws-local/faults`, { method: "POST", body: JSON.stringify({ service: "ecs", operation: "RegisterTaskDefinition", code: "ThrottlingException", message: "Rate exceeded", times: 1 }) });
    const error = await rejection(aws.ecs.send(new RegisterTaskDefinitionCommand(fargateDefinition("f"))));
    expect(error).toMatchObject({ name: "ThrottlingException", message: "Rate exceeded", $metadata: { httpStatusCode: 400 } });
    await aws.ecs.send(new RegisterTaskDefinitionCommand(fargateDefinition("f")));
    const calls = local.calls().filter((c) => c.operation === "RegisterTaskDefinition");
    expect(calls.map((c) => c.error ?? "ok")).toEqual(["ThrottlingException", "ok"]);
  });

  it("refuses an unknown key with UnrecognizedClientException", async () => {
    const stranger = clientsFor(local, { accessKeyId: "AKIASTRANGER0000000", secretAccessKey: "x" });
    const error = await rejection(stranger.ecs.send(new ListTasksCommand({})));
    expect(error.name).toBe("UnrecognizedClientException");
  });
});

describe("ECS RunTask without a container engine", () => {
  it("checks the network configuration, honours clientToken, and fails the task with the reason", async () => {
    await aws.ecs.send(new CreateClusterCommand({ clusterName: "ferry" }));
    await aws.ecs.send(new RegisterTaskDefinitionCommand(fargateDefinition("flow")));
    const noNetwork = await rejection(aws.ecs.send(new RunTaskCommand({ cluster: "ferry", taskDefinition: "flow", launchType: "FARGATE" })));
    expect(noNetwork).toBeInstanceOf(InvalidParameterException);
    expect(noNetwork.message).toBe("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    const badSubnet = await rejection(aws.ecs.send(new RunTaskCommand({ cluster: "ferry", taskDefinition: "flow", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0000"] } } })));
    expect(badSubnet.message).toContain("The subnet ID 'subnet-0000' does not exist");
    expect(await rejection(aws.ecs.send(new RunTaskCommand({ cluster: "ferry", taskDefinition: "nope" })))).toBeInstanceOf(ClientException);

    const subnet = (await aws.ec2.send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
    const request = { cluster: "ferry", taskDefinition: "flow", launchType: "FARGATE" as const, clientToken: "run-1", networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], assignPublicIp: "ENABLED" as const } }, tags: [{ key: "ferry:flow-run", value: "r1" }] };
    const first = await aws.ecs.send(new RunTaskCommand(request));
    const again = await aws.ecs.send(new RunTaskCommand(request));
    expect(first.tasks).toHaveLength(1);
    expect(again.tasks?.map((t) => t.taskArn)).toEqual(first.tasks?.map((t) => t.taskArn));
    const taskArn = first.tasks![0]!.taskArn!;
    expect(taskArn).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/ferry\/[0-9a-f]{32}$/);
    expect(first.tasks![0]).toMatchObject({ lastStatus: "PROVISIONING", desiredStatus: "RUNNING", launchType: "FARGATE", cpu: "256", memory: "512", tags: [{ key: "ferry:flow-run", value: "r1" }] });

    const stopped = await waitFor(
      () => aws.ecs.send(new DescribeTasksCommand({ cluster: "ferry", tasks: [taskArn, "0123456789abcdef0123456789abcdef"] })),
      (r) => r.tasks?.[0]?.lastStatus === "STOPPED",
    );
    expect(stopped.tasks![0]).toMatchObject({ stopCode: "TaskFailedToStart", stoppedReason: expect.stringContaining("Docker is disabled") });
    expect(stopped.failures).toEqual([{ arn: "0123456789abcdef0123456789abcdef", reason: "MISSING" }]);
    await aws.ecs.send(new TagResourceCommand({ resourceArn: taskArn, tags: [{ key: "more", value: "1" }] }));
    const withTags = await aws.ecs.send(new DescribeTasksCommand({ cluster: "ferry", tasks: [taskArn], include: ["TAGS"] }));
    expect(withTags.tasks?.[0]?.tags).toEqual([{ key: "ferry:flow-run", value: "r1" }, { key: "more", value: "1" }]);
    expect((await aws.ecs.send(new ListTasksCommand({ cluster: "ferry", desiredStatus: "STOPPED" }))).taskArns).toEqual([taskArn]);
    expect((await rejection(aws.ecs.send(new StopTaskCommand({ cluster: "ferry", task: "0123456789abcdef0123456789abcdef" })))).name).toBe("InvalidParameterException");
  });
});

describe("ECR", () => {
  it("creates, describes and deletes a repository and gives a login for the configured registry", async () => {
    const { repository } = await aws.ecr.send(new CreateRepositoryCommand({ repositoryName: "ferry/flows", imageScanningConfiguration: { scanOnPush: true } }));
    expect(repository).toMatchObject({ repositoryName: "ferry/flows", registryId: "123456789012", repositoryUri: "127.0.0.1:5000/ferry/flows", repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/ferry/flows", imageScanningConfiguration: { scanOnPush: true } });
    expect(await rejection(aws.ecr.send(new CreateRepositoryCommand({ repositoryName: "ferry/flows" })))).toBeInstanceOf(RepositoryAlreadyExistsException);
    expect((await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["ferry/flows"] }))).repositories).toHaveLength(1);
    const token = await aws.ecr.send(new GetAuthorizationTokenCommand({}));
    const data = token.authorizationData![0]!;
    expect(Buffer.from(data.authorizationToken!, "base64").toString()).toBe("AWS:s3cret");
    expect(data.proxyEndpoint).toBe("http://127.0.0.1:5000");
    expect(data.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    await aws.ecr.send(new DeleteRepositoryCommand({ repositoryName: "ferry/flows" }));
    const error = await rejection(aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["ferry/flows"] })));
    expect(error).toBeInstanceOf(RepositoryNotFoundException);
  });
});

describe("CloudWatch Logs", () => {
  it("creates a group and a stream, pages events forward and back, and deletes the group", async () => {
    await aws.logs.send(new CreateLogGroupCommand({ logGroupName: "/ferry/runs", tags: { k: "v" } }));
    expect(await rejection(aws.logs.send(new CreateLogGroupCommand({ logGroupName: "/ferry/runs" })))).toBeInstanceOf(ResourceAlreadyExistsException);
    await aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: "/ferry/runs", retentionInDays: 7 }));
    expect((await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ferry" }))).logGroups).toMatchObject([{ logGroupName: "/ferry/runs", retentionInDays: 7 }]);
    await aws.logs.send(new CreateLogStreamCommand({ logGroupName: "/ferry/runs", logStreamName: "s" }));
    const now = Date.now();
    await aws.logs.send(new PutLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "s", logEvents: [1, 2, 3].map((i) => ({ timestamp: now + i, message: `line ${i}` })) }));
    const head = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "s", startFromHead: true, limit: 2 }));
    expect(head.events?.map((e) => e.message)).toEqual(["line 1", "line 2"]);
    const rest = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "s", nextToken: head.nextForwardToken }));
    expect(rest.events?.map((e) => e.message)).toEqual(["line 3"]);
    const end = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "s", nextToken: rest.nextForwardToken }));
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(rest.nextForwardToken);
    const tail = await aws.logs.send(new GetLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "s", limit: 1 }));
    expect(tail.events?.map((e) => e.message)).toEqual(["line 3"]);
    expect(await rejection(aws.logs.send(new GetLogEventsCommand({ logGroupName: "/ferry/runs", logStreamName: "nope" })))).toBeInstanceOf(ResourceNotFoundException);
    await aws.logs.send(new DeleteLogGroupCommand({ logGroupName: "/ferry/runs" }));
    const gone = await rejection(aws.logs.send(new DeleteLogGroupCommand({ logGroupName: "/ferry/runs" })));
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect(gone.message).toBe("The specified log group does not exist.");
  });
});
