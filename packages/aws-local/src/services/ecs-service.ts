import { randomUUID } from "node:crypto";
import { AwsError } from "../aws-error.js";
import type { EcsTaskLifecycle } from "../ecs-task-lifecycle.js";
import { JsonInput } from "../json-input.js";
import { tagList, type JsonService, type ServiceContext } from "../service.js";
import { ids, type EcsCluster, type EcsContainerDefinition, type EcsState, type EcsTask, type EcsTaskDefinition, type EcsTaskDefinitionInput, type EcsTaskOverrides } from "../state.js";
import { ec2State } from "./ec2-service.js";

const clientError = (message: string): AwsError => new AwsError("ClientException", message);
const invalidParameter = (message: string): AwsError => new AwsError("InvalidParameterException", message);
const clusterNotFound = (): AwsError => new AwsError("ClusterNotFoundException", "Cluster not found.");

const seconds = (date: Date): number => date.getTime() / 1000;
const lastSegment = (nameOrArn: string): string => nameOrArn.split("/").pop()!;

function ecs(ctx: ServiceContext): EcsState {
  return ctx.state.region(ctx.region).ecs;
}

function activeCluster(ctx: ServiceContext, nameOrArn: string | undefined): EcsCluster {
  const cluster = ecs(ctx).clusters[lastSegment(nameOrArn ?? "default")];
  if (cluster === undefined || cluster.status !== "ACTIVE") throw clusterNotFound();
  return cluster;
}

function clusterJson(ctx: ServiceContext, cluster: EcsCluster, includeTags: boolean): Record<string, unknown> {
  const tasks = Object.values(ecs(ctx).tasks).filter((t) => t.clusterArn === cluster.arn);
  return {
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    status: cluster.status,
    registeredContainerInstancesCount: 0,
    runningTasksCount: tasks.filter((t) => t.lastStatus === "RUNNING").length,
    pendingTasksCount: tasks.filter((t) => t.lastStatus === "PENDING" || t.lastStatus === "PROVISIONING").length,
    activeServicesCount: 0,
    statistics: [],
    settings: [{ name: "containerInsights", value: "disabled" }],
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
    ...(includeTags ? { tags: tagList(cluster.tags).map(({ Key, Value }) => ({ key: Key, value: Value })) } : {}),
  };
}

const ecsTags = (tags: Record<string, string>): { key: string; value: string }[] => Object.entries(tags).map(([key, value]) => ({ key, value }));

/** `family`, `family:revision` or an ARN → the task definition (the latest ACTIVE revision for a bare family). */
function findTaskDefinition(ctx: ServiceContext, reference: string): EcsTaskDefinition | undefined {
  const state = ecs(ctx);
  if (reference.startsWith("arn:")) return state.taskDefinitions[reference];
  const [family, revision] = reference.split(":");
  const candidates = Object.values(state.taskDefinitions).filter((d) => d.family === family);
  if (revision !== undefined) return candidates.find((d) => d.revision === Number(revision));
  return candidates.filter((d) => d.status === "ACTIVE").sort((a, b) => b.revision - a.revision)[0];
}

function taskDefinitionJson(d: EcsTaskDefinition): Record<string, unknown> {
  const compatibilities = d.definition.requiresCompatibilities ?? [];
  return {
    ...d.definition,
    taskDefinitionArn: d.arn,
    revision: d.revision,
    status: d.status,
    networkMode: d.definition.networkMode ?? "bridge",
    volumes: d.definition.volumes ?? [],
    placementConstraints: d.definition.placementConstraints ?? [],
    compatibilities: ["EC2", ...(compatibilities.includes("FARGATE") || d.definition.networkMode === "awsvpc" ? ["FARGATE"] : [])],
    requiresAttributes: [],
    registeredAt: d.registeredAt,
    ...(d.deregisteredAt === undefined ? {} : { deregisteredAt: d.deregisteredAt }),
    registeredBy: d.definition.registeredBy,
    containerDefinitions: d.definition.containerDefinitions.map((c) => ({ essential: true, environment: [], mountPoints: [], volumesFrom: [], portMappings: [], ...c })),
  };
}

/** The checks RegisterTaskDefinition makes that a Ferry bug could trip. */
function validateTaskDefinition(input: EcsTaskDefinitionInput): void {
  if (!Array.isArray(input.containerDefinitions) || input.containerDefinitions.length === 0) throw clientError("Container list cannot be empty.");
  const names = new Set<string>();
  for (const c of input.containerDefinitions) {
    if (typeof c.name !== "string" || c.name === "") throw clientError("Container.name should not be null or empty.");
    if (typeof c.image !== "string" || c.image === "") throw clientError("Container.image should not be null or empty.");
    if (names.has(c.name)) throw clientError(`Duplicate container name: ${c.name}`);
    names.add(c.name);
  }
  if (!input.containerDefinitions.some((c) => c.essential !== false)) throw clientError("A task definition must have at least one essential container.");
  if ((input.requiresCompatibilities ?? []).includes("FARGATE")) {
    if (input.networkMode !== "awsvpc") throw clientError("Fargate only supports network mode 'awsvpc'.");
    if (input.cpu === undefined) throw clientError("Fargate requires that 'cpu' be defined at the task level.");
    if (input.memory === undefined) throw clientError("Fargate requires that 'memory' be defined at the task level.");
    for (const c of input.containerDefinitions) {
      if (c.logConfiguration?.logDriver !== "awslogs") continue;
      if (input.executionRoleArn === undefined) throw clientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
      if ((c.logConfiguration.options?.["awslogs-stream-prefix"] ?? "") === "") throw clientError("Log driver awslogs option 'awslogs-stream-prefix' should not be null or empty.");
    }
  }
  for (const c of input.containerDefinitions) {
    if (c.logConfiguration?.logDriver === "awslogs" && (c.logConfiguration.options?.["awslogs-group"] ?? "") === "") throw clientError("Log driver awslogs option 'awslogs-group' should not be null or empty.");
  }
}

function taskJson(task: EcsTask, includeTags: boolean): Record<string, unknown> {
  const { arn, id: _id, region: _region, tags, containers, networkConfiguration: _network, eniAttachmentId: _eni, ...rest } = task;
  const attachments = attachmentsOf(task);
  return {
    ...rest,
    taskArn: arn,
    containers: containers.map((c) => ({ containerArn: c.arn, taskArn: arn, name: c.name, image: c.image, lastStatus: c.lastStatus, exitCode: c.exitCode, reason: c.reason, runtimeId: c.runtimeId, networkInterfaces: [] })),
    attachments,
    availabilityZone: task.availabilityZone,
    ...(includeTags ? { tags: ecsTags(tags) } : {}),
  };
}

function attachmentsOf(task: EcsTask): Record<string, unknown>[] {
  const config = (task.networkConfiguration as { awsvpcConfiguration?: { subnets?: string[] } } | undefined)?.awsvpcConfiguration;
  const subnet = config?.subnets?.[0];
  if (subnet === undefined) return [];
  const status = task.lastStatus === "STOPPED" ? "DELETED" : task.lastStatus === "RUNNING" ? "ATTACHED" : "PRECREATED";
  return [
    {
      id: task.eniAttachmentId,
      type: "ElasticNetworkInterface",
      status,
      details: [
        { name: "subnetId", value: subnet },
        { name: "networkInterfaceId", value: `eni-${task.id.slice(0, 17)}` },
        { name: "privateIPv4Address", value: "127.0.0.1" },
      ],
    },
  ];
}

function findTask(ctx: ServiceContext, cluster: EcsCluster, reference: string): EcsTask | undefined {
  const state = ecs(ctx);
  if (reference.startsWith("arn:")) {
    const task = state.tasks[reference];
    return task?.clusterArn === cluster.arn ? task : undefined;
  }
  return Object.values(state.tasks).find((t) => t.id === reference && t.clusterArn === cluster.arn);
}

function taggedResource(ctx: ServiceContext, arn: string): { tags: Record<string, string> } {
  const state = ecs(ctx);
  const resource = state.tasks[arn] ?? state.taskDefinitions[arn] ?? Object.values(state.clusters).find((c) => c.arn === arn);
  if (resource === undefined) throw new AwsError("ResourceNotFoundException", "The specified resource could not be found.");
  return resource;
}

export function createEcsService(lifecycle: EcsTaskLifecycle): JsonService {
  const runTask = (ctx: ServiceContext, body: Record<string, unknown>): unknown => {
    const input = new JsonInput(body);
    const state = ecs(ctx);
    const cluster = activeCluster(ctx, input.string("cluster"));
    const clientToken = input.string("clientToken");
    const previous = clientToken === undefined ? undefined : state.clientTokens[clientToken];
    if (previous !== undefined) return { tasks: previous.map((arn) => taskJson(state.tasks[arn]!, true)), failures: [] };

    const reference = input.required("taskDefinition");
    const definition = findTaskDefinition(ctx, reference);
    if (definition === undefined) throw clientError("TaskDefinition not found.");
    if (definition.status !== "ACTIVE") throw clientError(`TaskDefinition is inactive`);
    const launchType = input.string("launchType") ?? (body.capacityProviderStrategy === undefined ? "EC2" : undefined);
    const compatible = taskDefinitionJson(definition).compatibilities as string[];
    if (launchType !== undefined && !compatible.includes(launchType)) throw invalidParameter(`Task definition does not support launch_type ${launchType}.`);
    const count = input.number("count") ?? 1;
    if (count < 1 || count > 10) throw invalidParameter("count must be between 1 and 10.");

    const networkConfiguration = body.networkConfiguration as { awsvpcConfiguration?: { subnets?: string[]; securityGroups?: string[] } } | undefined;
    let availabilityZone: string | undefined;
    if (definition.definition.networkMode === "awsvpc") {
      const subnets = networkConfiguration?.awsvpcConfiguration?.subnets ?? [];
      if (subnets.length === 0) throw invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      const ec2 = ec2State(ctx);
      for (const subnet of subnets) {
        if (ec2.subnets[subnet] === undefined) throw invalidParameter(`Error retrieving subnet information for [${subnet}]: The subnet ID '${subnet}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)`);
      }
      for (const group of networkConfiguration?.awsvpcConfiguration?.securityGroups ?? []) {
        if (ec2.securityGroups[group] === undefined) throw invalidParameter(`Error retrieving security group information for [${group}]: The security group '${group}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroup.NotFound)`);
      }
      availabilityZone = ec2.subnets[subnets[0]!]!.availabilityZone;
    }

    const overrides = (body.overrides as EcsTaskOverrides | undefined) ?? {};
    const tags = { ...(input.string("propagateTags") === "TASK_DEFINITION" ? definition.tags : {}), ...input.tags() };
    const now = seconds(ctx.now());
    const tasks: EcsTask[] = [];
    for (let i = 0; i < count; i++) {
      const id = ids.hex(32);
      const arn = `arn:aws:ecs:${ctx.region}:${ctx.accountId}:task/${cluster.name}/${id}`;
      const task: EcsTask = {
        arn,
        id,
        region: ctx.region,
        clusterArn: cluster.arn,
        taskDefinitionArn: definition.arn,
        lastStatus: "PROVISIONING",
        desiredStatus: "RUNNING",
        launchType,
        cpu: overrides.cpu ?? definition.definition.cpu,
        memory: overrides.memory ?? definition.definition.memory,
        group: input.string("group") ?? `family:${definition.family}`,
        startedBy: input.string("startedBy"),
        createdAt: now,
        overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...overrides },
        tags,
        networkConfiguration,
        availabilityZone,
        eniAttachmentId: randomUUID(),
        containers: definition.definition.containerDefinitions.map((c: EcsContainerDefinition) => ({
          name: c.name,
          arn: `arn:aws:ecs:${ctx.region}:${ctx.accountId}:container/${cluster.name}/${id}/${randomUUID()}`,
          image: c.image,
          lastStatus: "PENDING",
        })),
        version: 1,
      };
      state.tasks[arn] = task;
      tasks.push(task);
    }
    if (clientToken !== undefined) state.clientTokens[clientToken] = tasks.map((t) => t.arn);
    const output = { tasks: tasks.map((t) => taskJson(t, true)), failures: [] };
    for (const task of tasks) lifecycle.launch(task, definition);
    return output;
  };

  return {
    protocol: "json",
    signingName: "ecs",
    targetPrefix: "AmazonEC2ContainerServiceV20141113",
    operations: {
      CreateCluster(ctx, body) {
        const input = new JsonInput(body);
        const name = input.string("clusterName") ?? "default";
        const clusters = ecs(ctx).clusters;
        const existing = clusters[name];
        if (existing?.status === "ACTIVE") return { cluster: clusterJson(ctx, existing, true) };
        const cluster: EcsCluster = { name, arn: `arn:aws:ecs:${ctx.region}:${ctx.accountId}:cluster/${name}`, status: "ACTIVE", tags: input.tags() };
        clusters[name] = cluster;
        return { cluster: clusterJson(ctx, cluster, true) };
      },
      DescribeClusters(ctx, body) {
        const input = new JsonInput(body);
        const references = input.strings("clusters");
        const includeTags = input.strings("include").includes("TAGS");
        const clusters = [];
        const failures = [];
        for (const reference of references.length > 0 ? references : ["default"]) {
          const cluster = ecs(ctx).clusters[lastSegment(reference)];
          if (cluster === undefined) failures.push({ arn: reference.startsWith("arn:") ? reference : `arn:aws:ecs:${ctx.region}:${ctx.accountId}:cluster/${reference}`, reason: "MISSING" });
          else clusters.push(clusterJson(ctx, cluster, includeTags));
        }
        return { clusters, failures };
      },
      ListClusters: (ctx) => ({ clusterArns: Object.values(ecs(ctx).clusters).filter((c) => c.status === "ACTIVE").map((c) => c.arn) }),
      DeleteCluster(ctx, body) {
        const cluster = activeCluster(ctx, new JsonInput(body).required("cluster"));
        if (Object.values(ecs(ctx).tasks).some((t) => t.clusterArn === cluster.arn && t.lastStatus !== "STOPPED")) throw new AwsError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.");
        cluster.status = "INACTIVE";
        return { cluster: clusterJson(ctx, cluster, false) };
      },

      RegisterTaskDefinition(ctx, body) {
        const { tags: _tags, ...definition } = body as unknown as EcsTaskDefinitionInput & { tags?: unknown };
        const input = new JsonInput(body, clientError);
        const family = input.required("family");
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) throw clientError("Family contains invalid characters.");
        validateTaskDefinition(definition);
        const state = ecs(ctx);
        const revision = (state.families[family] ?? 0) + 1;
        state.families[family] = revision;
        const arn = `arn:aws:ecs:${ctx.region}:${ctx.accountId}:task-definition/${family}:${revision}`;
        const registered: EcsTaskDefinition = {
          arn,
          family,
          revision,
          status: "ACTIVE",
          registeredAt: seconds(ctx.now()),
          tags: input.tags(),
          definition: { ...definition, registeredBy: ctx.principal.arn },
        };
        state.taskDefinitions[arn] = registered;
        return { taskDefinition: taskDefinitionJson(registered), tags: ecsTags(registered.tags) };
      },
      DescribeTaskDefinition(ctx, body) {
        const input = new JsonInput(body, clientError);
        const definition = findTaskDefinition(ctx, input.required("taskDefinition"));
        if (definition === undefined) throw clientError("Unable to describe task definition.");
        return { taskDefinition: taskDefinitionJson(definition), ...(input.strings("include").includes("TAGS") ? { tags: ecsTags(definition.tags) } : {}) };
      },
      DeregisterTaskDefinition(ctx, body) {
        const reference = new JsonInput(body, clientError).required("taskDefinition");
        if (!reference.includes(":")) throw clientError("Invalid revision number. Number: " + reference);
        const definition = findTaskDefinition(ctx, reference);
        if (definition === undefined) throw clientError("The specified task definition does not exist.");
        if (definition.status === "ACTIVE") {
          definition.status = "INACTIVE";
          definition.deregisteredAt = seconds(ctx.now());
        }
        return { taskDefinition: taskDefinitionJson(definition) };
      },
      DeleteTaskDefinitions(ctx, body) {
        // As AWS: only a deregistered (INACTIVE) revision may be deleted, ten at most per call; the rest are failures.
        const references = new JsonInput(body, clientError).strings("taskDefinitions");
        if (references.length === 0 || references.length > 10) throw clientError("taskDefinitions must hold between 1 and 10 task definitions.");
        const deleted = [];
        const failures = [];
        for (const reference of references) {
          const definition = reference.includes(":") ? findTaskDefinition(ctx, reference) : undefined;
          if (definition === undefined) failures.push({ arn: reference, reason: "The specified task definition does not exist." });
          else if (definition.status === "ACTIVE") failures.push({ arn: definition.arn, reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again." });
          else {
            definition.status = "DELETE_IN_PROGRESS";
            deleted.push(taskDefinitionJson(definition));
          }
        }
        return { taskDefinitions: deleted, failures };
      },
      ListTaskDefinitions(ctx, body) {
        const input = new JsonInput(body);
        const prefix = input.string("familyPrefix");
        const status = input.string("status") ?? "ACTIVE";
        const definitions = Object.values(ecs(ctx).taskDefinitions)
          .filter((d) => (prefix === undefined || d.family.startsWith(prefix)) && (status === "ALL" || d.status === status))
          .sort((a, b) => a.family.localeCompare(b.family) || a.revision - b.revision);
        if (input.string("sort") === "DESC") definitions.reverse();
        return { taskDefinitionArns: definitions.map((d) => d.arn) };
      },

      RunTask: runTask,
      DescribeTasks(ctx, body) {
        const input = new JsonInput(body);
        const cluster = activeCluster(ctx, input.string("cluster"));
        const includeTags = input.strings("include").includes("TAGS");
        const references = input.strings("tasks");
        if (references.length === 0) throw invalidParameter("Tasks cannot be empty.");
        const tasks = [];
        const failures = [];
        for (const reference of references) {
          const task = findTask(ctx, cluster, reference);
          if (task === undefined) failures.push({ arn: reference, reason: "MISSING" });
          else tasks.push(taskJson(task, includeTags));
        }
        return { tasks, failures };
      },
      async StopTask(ctx, body) {
        const input = new JsonInput(body);
        const cluster = activeCluster(ctx, input.string("cluster"));
        const task = findTask(ctx, cluster, input.required("task"));
        if (task === undefined) throw invalidParameter("The referenced task was not found.");
        await lifecycle.stop(task, input.string("reason") ?? "Task stopped by user");
        return { task: taskJson(task, false) };
      },
      ListTasks(ctx, body) {
        const input = new JsonInput(body);
        const cluster = activeCluster(ctx, input.string("cluster"));
        const desired = input.string("desiredStatus") ?? "RUNNING";
        const family = input.string("family");
        const startedBy = input.string("startedBy");
        const launchType = input.string("launchType");
        const state = ecs(ctx);
        const tasks = Object.values(state.tasks).filter(
          (t) =>
            t.clusterArn === cluster.arn &&
            t.desiredStatus === desired &&
            (family === undefined || state.taskDefinitions[t.taskDefinitionArn]?.family === family) &&
            (startedBy === undefined || t.startedBy === startedBy) &&
            (launchType === undefined || t.launchType === launchType),
        );
        return { taskArns: tasks.map((t) => t.arn) };
      },
      TagResource(ctx, body) {
        const input = new JsonInput(body);
        Object.assign(taggedResource(ctx, input.required("resourceArn")).tags, input.tags());
        return {};
      },
      UntagResource(ctx, body) {
        const input = new JsonInput(body);
        const resource = taggedResource(ctx, input.required("resourceArn"));
        for (const key of input.strings("tagKeys")) delete resource.tags[key];
        return {};
      },
      ListTagsForResource(ctx, body) {
        return { tags: ecsTags(taggedResource(ctx, new JsonInput(body).required("resourceArn")).tags) };
      },
    },
  };
}
