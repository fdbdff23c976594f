import type { ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { createLogGroup, createLogStream, findLogGroup } from "./services/logs-service.js";
import type { AwsLocalState, EcsContainerDefinition, EcsTask, EcsTaskDefinition, LogStream } from "./state.js";

/** The container ECS runs for a task here: the first essential one. */
export function essentialContainer(definition: EcsTaskDefinition): EcsContainerDefinition {
  const containers = definition.definition.containerDefinitions;
  return containers.find((c) => c.essential !== false) ?? containers[0]!;
}

/** What the task's container is started with: the definition, under RunTask's overrides. */
export function buildContainerLaunch(task: EcsTask, definition: EcsTaskDefinition, taskEnvironment: Record<string, string>): ContainerLaunch {
  const container = essentialContainer(definition);
  const override = task.overrides.containerOverrides?.find((o) => o.name === container.name);
  const env: Record<string, string> = {
    AWS_REGION: task.region,
    AWS_DEFAULT_REGION: task.region,
    AWS_EXECUTION_ENV: task.launchType === "FARGATE" ? "AWS_ECS_FARGATE" : "AWS_ECS_EC2",
    ...taskEnvironment,
  };
  for (const { name, value } of [...(container.environment ?? []), ...(override?.environment ?? [])]) env[name] = value;
  const taskMemory = task.overrides.memory ?? task.memory;
  const memory = override?.memory ?? container.memory ?? (taskMemory === undefined ? undefined : Number(taskMemory));
  return {
    name: `aws-local-${task.id}`,
    key: task.arn,
    image: container.image,
    command: override?.command ?? container.command,
    entryPoint: container.entryPoint,
    env,
    memoryMib: memory !== undefined && Number.isFinite(memory) ? memory : undefined,
    workingDirectory: container.workingDirectory,
    user: container.user,
    init: container.linuxParameters?.initProcessEnabled === true,
  };
}

export interface AwslogsTarget {
  region: string;
  group: string;
  stream: string;
  createGroup: boolean;
}

/** Where the awslogs driver sends the container's output: `<prefix>/<container>/<task id>`. */
export function awslogsTarget(container: EcsContainerDefinition, task: EcsTask): AwslogsTarget | null {
  const config = container.logConfiguration;
  if (config?.logDriver !== "awslogs") return null;
  const options = config.options ?? {};
  const prefix = options["awslogs-stream-prefix"];
  return {
    region: options["awslogs-region"] ?? task.region,
    group: options["awslogs-group"] ?? "",
    stream: prefix === undefined || prefix === "" ? task.id : `${prefix}/${container.name}/${task.id}`,
    createGroup: options["awslogs-create-group"] === "true",
  };
}

/** What ECS (Fargate) says when an image cannot be pulled; nothing is ever pulled here. */
export function cannotPullReason(image: string): string {
  return `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: not found`;
}

export const MISSING_LOG_GROUP_REASON =
  "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1";

/** Read through a function: a StopTask can arrive during any await of the lifecycle. */
function stopRequested(task: EcsTask): boolean {
  return task.desiredStatus === "STOPPED";
}

export interface EcsTaskLifecycleOptions {
  state: AwsLocalState;
  accountId: string;
  /** null when no container engine answers; tasks then fail to start with `runtimeUnavailable`. */
  runtime: ContainerRuntime | null;
  runtimeUnavailable: string;
  taskEnvironment: Record<string, string>;
  defaultStopTimeoutSeconds: number;
  provisioningDelayMs: number;
  /** Leave containers running on close (a state file lets the next server take them over). */
  keepContainersOnClose: boolean;
  now(): Date;
  /** Called after every change to a task, to persist state. */
  changed(): void;
  /** Called after output lines are appended to a log stream (often: persist lazily). */
  outputAppended(): void;
}

/**
 * Drives each task through ECS's lifecycle (PROVISIONING → PENDING → RUNNING → STOPPED) on the
 * container runtime, and copies awslogs output into CloudWatch Logs.
 */
export class EcsTaskLifecycle {
  /** Running containers by task ARN, with the SIGTERM grace their definition gives. */
  private readonly handles = new Map<string, { handle: ContainerHandle; graceSeconds: number }>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: EcsTaskLifecycleOptions) {}

  launch(task: EcsTask, definition: EcsTaskDefinition): void {
    this.track(this.run(task, definition));
  }

  /** StopTask: records the user's stop and stops the container; the lifecycle records the exit. */
  async stop(task: EcsTask, reason: string): Promise<void> {
    if (task.lastStatus === "STOPPED" || task.desiredStatus === "STOPPED") return;
    this.update(task, () => {
      task.desiredStatus = "STOPPED";
      task.stopCode = "UserInitiated";
      task.stoppedReason = reason;
      task.stoppingAt = this.nowSeconds();
    });
    const running = this.handles.get(task.arn);
    if (running !== undefined) await running.handle.stop(running.graceSeconds);
  }

  /** After a restart: takes over the tasks that had not stopped. */
  resume(): void {
    for (const region of Object.values(this.options.state.data.regions)) {
      for (const task of Object.values(region.ecs.tasks)) {
        if (task.lastStatus === "STOPPED") continue;
        const definition = region.ecs.taskDefinitions[task.taskDefinitionArn];
        if (definition !== undefined) this.track(this.reattach(task, definition));
      }
    }
  }

  /** Stops and removes every container of this server's tasks (reset). */
  async removeAll(): Promise<void> {
    const running = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(running.map(({ handle }) => handle.remove().catch(() => undefined)));
    await this.options.runtime?.removeAll();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.options.keepContainersOnClose) await this.removeAll();
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch((error: unknown) => console.error("aws-local: task lifecycle failed", error));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private nowSeconds(): number {
    return this.options.now().getTime() / 1000;
  }

  private update(task: EcsTask, change: () => void): void {
    if (this.closed) return;
    change();
    task.version += 1;
    this.options.changed();
  }

  private async run(task: EcsTask, definition: EcsTaskDefinition): Promise<void> {
    if (this.options.provisioningDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.provisioningDelayMs));
    if (task.desiredStatus === "STOPPED") return this.finish(task, {});
    this.update(task, () => {
      task.lastStatus = "PENDING";
      task.pullStartedAt = this.nowSeconds();
    });
    const { runtime } = this.options;
    if (runtime === null) return this.fail(task, this.options.runtimeUnavailable);
    const launch = buildContainerLaunch(task, definition, this.options.taskEnvironment);
    let hasImage: boolean;
    try {
      hasImage = await runtime.hasImage(launch.image);
    } catch (error) {
      return this.fail(task, `CannotPullContainerError: ${(error as Error).message}`);
    }
    if (!hasImage) return this.fail(task, cannotPullReason(launch.image));
    this.update(task, () => (task.pullStoppedAt = this.nowSeconds()));

    const container = essentialContainer(definition);
    let logStream: LogStream | null = null;
    const target = awslogsTarget(container, task);
    if (target !== null) {
      let group = findLogGroup(this.options.state, target.region, target.group);
      if (group === undefined && target.createGroup) group = createLogGroup(this.options.state, target.region, this.options.accountId, target.group, Date.now());
      if (group === undefined) return this.fail(task, MISSING_LOG_GROUP_REASON);
      logStream = group.streams[target.stream] ?? createLogStream(group, target.stream, Date.now());
    }
    if (stopRequested(task)) return this.finish(task, {});

    let handle: ContainerHandle;
    try {
      handle = await runtime.start(launch);
    } catch (error) {
      return this.fail(task, `CannotStartContainerError: ${(error as Error).message}`);
    }
    const graceSeconds = container.stopTimeout ?? this.options.defaultStopTimeoutSeconds;
    this.handles.set(task.arn, { handle, graceSeconds });
    this.update(task, () => {
      task.lastStatus = "RUNNING";
      task.startedAt = this.nowSeconds();
      for (const c of task.containers) {
        c.lastStatus = "RUNNING";
        if (c.name === container.name) c.runtimeId = handle.id;
      }
    });
    // A StopTask that arrived while the container was being created.
    if (stopRequested(task)) void handle.stop(graceSeconds).catch(() => undefined);
    await this.followToExit(task, handle, logStream);
  }

  private async reattach(task: EcsTask, definition: EcsTaskDefinition): Promise<void> {
    const handle = task.lastStatus === "RUNNING" ? await this.options.runtime?.find(task.arn) : null;
    if (handle === null || handle === undefined) {
      if (task.lastStatus !== "RUNNING") return this.run(task, definition);
      return this.finish(task, { reason: "aws-local: the task's container was gone when the server restarted" });
    }
    const container = essentialContainer(definition);
    this.handles.set(task.arn, { handle, graceSeconds: container.stopTimeout ?? this.options.defaultStopTimeoutSeconds });
    const target = awslogsTarget(container, task);
    const stream = target === null ? null : (findLogGroup(this.options.state, target.region, target.group)?.streams[target.stream] ?? null);
    await this.followToExit(task, handle, stream, stream?.events.at(-1)?.timestamp ?? task.startedAt! * 1000);
  }

  private async followToExit(task: EcsTask, handle: ContainerHandle, logStream: LogStream | null, sinceMs?: number): Promise<void> {
    const append = (line: OutputLine): void => {
      if (logStream === null || this.closed) return;
      logStream.events.push({ timestamp: line.timestamp, message: line.message, ingestionTime: Date.now() });
      this.options.outputAppended();
    };
    const output = handle.follow(append, sinceMs).catch((error: unknown) => console.error(`aws-local: lost the output of ${task.arn}`, error));
    const exit = await handle.wait();
    // The output stream ends once Docker has delivered the last line; wait for it, a little.
    await Promise.race([output, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (this.closed) return;
    this.handles.delete(task.arn);
    // Removed before the task reads STOPPED, so whoever sees STOPPED sees a clean host.
    await handle.remove().catch((error: unknown) => console.error(`aws-local: could not remove the container of ${task.arn}`, error));
    this.finish(task, { exitCode: exit.exitCode, reason: exit.oomKilled ? "OutOfMemoryError: Container killed due to memory usage" : undefined });
  }

  private fail(task: EcsTask, reason: string): void {
    if (task.desiredStatus === "STOPPED") return this.finish(task, {});
    this.update(task, () => {
      task.stopCode = "TaskFailedToStart";
      task.stoppedReason = reason;
    });
    this.finish(task, { reason });
  }

  private finish(task: EcsTask, exit: { exitCode?: number; reason?: string }): void {
    this.update(task, () => {
      const now = this.nowSeconds();
      task.lastStatus = "STOPPED";
      task.desiredStatus = "STOPPED";
      task.stoppingAt ??= now;
      task.stoppedAt = now;
      task.executionStoppedAt = now;
      if (task.stopCode === undefined) {
        task.stopCode = "EssentialContainerExited";
        task.stoppedReason = "Essential container in task exited";
      }
      for (const c of task.containers) {
        c.lastStatus = "STOPPED";
        if (c.runtimeId !== undefined && exit.exitCode !== undefined) c.exitCode = exit.exitCode;
        if (exit.reason !== undefined) c.reason = exit.reason;
      }
    });
  }
}
