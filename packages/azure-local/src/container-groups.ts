import type { ContainerHandle, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import type { AsyncOperation, AsyncOperations } from "./async-operations.js";
import { containerEnvironment, environmentView, propertiesView, type ContainerGroupSpec, type ContainerSpec } from "./container-group-spec.js";

/** One event of an instance view, as ACI lists them. */
export interface InstanceEvent {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: "Normal" | "Warning";
}

export interface ContainerState {
  state: "Waiting" | "Running" | "Terminated";
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus: string;
}

interface ContainerRecord {
  spec: ContainerSpec;
  currentState: ContainerState;
  previousState?: ContainerState;
  restartCount: number;
  events: InstanceEvent[];
  output: OutputLine[];
  handle?: ContainerHandle;
  done?: Promise<void>;
}

export interface ContainerGroupRecord {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  spec: ContainerGroupSpec;
  provisioningState: "Pending" | "Creating" | "Succeeded" | "Failed" | "Deleting";
  /** The group's instance view state. */
  state: "Pending" | "Running" | "Succeeded" | "Failed" | "Stopped";
  containers: ContainerRecord[];
  events: InstanceEvent[];
  stopping: boolean;
  /** The async operation of the provisioning under way or last done. */
  provisioning?: AsyncOperation;
  /** Settles when the provisioning under way or last done has started its containers, or failed. */
  provisioned?: Promise<void>;
  /** Settles when the group is gone (a DELETE under way). */
  deleted?: Promise<void>;
}

export interface ContainerGroupLifecycleOptions {
  runtime: ContainerRuntime | null;
  /** Why containers cannot run here (used when runtime is null). */
  runtimeUnavailable: string;
  operations: AsyncOperations;
  /** Extra environment for every container (e.g. to reach services on the host). */
  environment: Record<string, string>;
  /** Holds a group in Creating this long before its containers start (lets tests see an operation in progress). */
  provisioningDelayMs: number;
  /** Seconds between SIGTERM and SIGKILL on stop and delete. */
  stopGraceSeconds: number;
  now: () => number;
  /** Why a pull of the container's image from one of the subscription's registries is refused, or null. */
  pullRefusal: (group: ContainerGroupRecord, container: ContainerSpec) => string | null;
  /** Ids of user-assigned identities → their principal and client ids, for the group's `identity`. */
  identityIds: (identityId: string) => { principalId: string; clientId: string } | undefined;
}

/** Container groups: their provisioning, their containers on the runtime, stop and delete. */
export class ContainerGroupLifecycle {
  private readonly groups = new Map<string, ContainerGroupRecord>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: ContainerGroupLifecycleOptions) {}

  get(id: string): ContainerGroupRecord | undefined {
    return this.groups.get(id.toLowerCase());
  }

  list(prefix: string): ContainerGroupRecord[] {
    const lower = prefix.toLowerCase();
    return [...this.groups.values()].filter((g) => g.id.toLowerCase().startsWith(lower));
  }

  all(): ContainerGroupRecord[] {
    return [...this.groups.values()];
  }

  /** Creates the group and starts provisioning it; `operation` ends when its containers run, or failed. */
  create(input: { id: string; name: string; subscriptionId: string; resourceGroup: string; spec: ContainerGroupSpec }, operation: AsyncOperation, failWith?: { code: string; message: string }): ContainerGroupRecord {
    const record: ContainerGroupRecord = { ...input, provisioningState: "Pending", state: "Pending", containers: [], events: [], stopping: false };
    this.groups.set(input.id.toLowerCase(), record);
    this.startProvisioning(record, input.spec, operation, failWith);
    return record;
  }

  /**
   * A PUT of a group that exists, as ACI answers it: while it is still provisioning, the same
   * operation (a retried PUT never makes a second container); once provisioned, only its tags change
   * (nothing restarts); after a failed provisioning, it is provisioned again with the new spec.
   */
  update(record: ContainerGroupRecord, spec: ContainerGroupSpec, operation: AsyncOperation, failWith?: { code: string; message: string }): AsyncOperation {
    if ((record.provisioningState === "Pending" || record.provisioningState === "Creating") && record.provisioning !== undefined) return record.provisioning;
    if (record.provisioningState === "Failed") {
      this.startProvisioning(record, spec, operation, failWith);
      return operation;
    }
    record.spec = { ...record.spec, tags: spec.tags };
    this.options.operations.succeed(operation);
    return operation;
  }

  private startProvisioning(record: ContainerGroupRecord, spec: ContainerGroupSpec, operation: AsyncOperation, failWith?: { code: string; message: string }): void {
    record.spec = spec;
    record.provisioningState = "Pending";
    record.state = "Pending";
    record.events = [];
    record.containers = spec.containers.map((c) => ({ spec: c, currentState: { state: "Waiting", detailStatus: "" }, restartCount: 0, events: [], output: [] }));
    record.provisioning = operation;
    record.provisioned = this.track(this.provision(record, operation, failWith));
  }

  /** POST .../stop: kills the containers (once a provisioning under way has started them); the group stays, in state Stopped. */
  async stop(record: ContainerGroupRecord): Promise<void> {
    await record.provisioned;
    record.stopping = true;
    await Promise.all(
      record.containers.map(async (c) => {
        if (c.handle !== undefined && c.currentState.state === "Running") await c.handle.stop(this.options.stopGraceSeconds);
        await c.done;
      }),
    );
    record.state = "Stopped";
  }

  /** DELETE: stops and removes the containers, then the group; `operation` ends when it is gone. A second DELETE follows the first. */
  delete(record: ContainerGroupRecord, operation: AsyncOperation): Promise<void> {
    const succeed = (): void => this.options.operations.succeed(operation);
    if (record.deleted !== undefined) return record.deleted.then(succeed);
    record.provisioningState = "Deleting";
    record.deleted = this.track(
      (async () => {
        try {
          await this.stop(record);
          await Promise.all(record.containers.map((c) => c.handle?.remove()));
        } finally {
          this.groups.delete(record.id.toLowerCase());
        }
      })(),
    );
    return record.deleted.then(succeed);
  }

  /** The output of a container, as `listLogs` answers it. */
  logs(record: ContainerGroupRecord, containerName: string, tail?: number, timestamps = false): string | undefined {
    const container = record.containers.find((c) => c.spec.name === containerName);
    if (container === undefined) return undefined;
    const lines = tail === undefined ? container.output : container.output.slice(-tail);
    return lines.map((l) => `${timestamps ? `${new Date(l.timestamp).toISOString()} ` : ""}${l.message}\n`).join("");
  }

  /** The resource as GET answers it (secure values left out, instance views filled in). */
  view(record: ContainerGroupRecord): Record<string, unknown> {
    const { spec } = record;
    return {
      id: record.id,
      name: record.name,
      type: "Microsoft.ContainerInstance/containerGroups",
      location: spec.location,
      tags: spec.tags,
      ...(spec.identity === undefined ? {} : { identity: this.identityView(spec) }),
      properties: {
        sku: "Standard",
        ...propertiesView(spec),
        provisioningState: record.provisioningState,
        osType: spec.osType,
        restartPolicy: spec.restartPolicy,
        containers: record.containers.map((c) => ({
          name: c.spec.name,
          properties: {
            ...c.spec.raw,
            environmentVariables: environmentView(c.spec),
            instanceView: {
              restartCount: c.restartCount,
              currentState: c.currentState,
              ...(c.previousState === undefined ? {} : { previousState: c.previousState }),
              events: c.events,
            },
          },
        })),
        instanceView: { events: record.events, state: record.state },
      },
    };
  }

  private identityView(spec: ContainerGroupSpec): unknown {
    if (spec.userAssignedIdentities.length === 0) return spec.identity;
    const userAssignedIdentities = Object.fromEntries(spec.userAssignedIdentities.map((id) => [id, this.options.identityIds(id) ?? {}]));
    return { ...(spec.identity as Record<string, unknown>), userAssignedIdentities };
  }

  /** Waits for what is in flight, then removes every container this server started. */
  async close(): Promise<void> {
    for (const group of this.groups.values()) group.stopping = true;
    await Promise.allSettled([...this.groups.values()].flatMap((g) => g.containers.map((c) => c.handle?.stop(0))));
    await Promise.allSettled([...this.pending]);
    await this.options.runtime?.removeAll();
  }

  /** Keeps `promise` for close() to wait on; resolves when it settles (failures are logged, not thrown). */
  private track(promise: Promise<unknown>): Promise<void> {
    const tracked: Promise<void> = promise.then(
      () => undefined,
      (error: unknown) => console.error("azure-local: container group lifecycle failed", error),
    ).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return tracked;
  }

  private iso(): string {
    return new Date(this.options.now()).toISOString();
  }

  private event(events: InstanceEvent[], name: string, message: string, type: "Normal" | "Warning" = "Normal"): void {
    const now = this.iso();
    events.push({ count: 1, firstTimestamp: now, lastTimestamp: now, name, message, type });
  }

  private async provision(record: ContainerGroupRecord, operation: AsyncOperation, failWith?: { code: string; message: string }): Promise<void> {
    const { operations, runtime } = this.options;
    record.provisioningState = "Creating";
    if (this.options.provisioningDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.provisioningDelayMs));
    if (record.provisioningState !== "Creating") {
      operations.fail(operation, "OperationCanceled", `The container group '${record.name}' was deleted while it was being created.`);
      return;
    }
    if (failWith !== undefined) {
      this.event(record.events, "Failed", failWith.message, "Warning");
      this.failProvisioning(record, operation, failWith.code, failWith.message);
      return;
    }
    if (runtime === null) {
      this.failProvisioning(record, operation, "ServiceUnavailable", `azure-local cannot run containers: ${this.options.runtimeUnavailable}`);
      return;
    }
    for (const container of record.containers) {
      this.event(container.events, "Pulling", `pulling image "${container.spec.image}"`);
      const refusal = this.options.pullRefusal(record, container.spec);
      const missing = refusal === null && !(await runtime.hasImage(container.spec.image));
      if (refusal !== null || missing) {
        const image = container.spec.image;
        const reason =
          refusal !== null
            ? `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${refusal}`
            : `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found`;
        this.event(container.events, "Failed", reason, "Warning");
        this.event(container.events, "BackOff", `Back-off pulling image "${container.spec.image}"`, "Normal");
        container.currentState = { state: "Waiting", detailStatus: "ImagePullBackOff" };
        this.failProvisioning(record, operation, "InaccessibleImage", `The image '${container.spec.image}' in container group '${record.name}' is not accessible. Please check the image and registry credential.`);
        return;
      }
      this.event(container.events, "Pulled", `Successfully pulled image "${container.spec.image}"`);
    }
    try {
      for (const container of record.containers) {
        const command = container.spec.command;
        container.handle = await runtime.start({
          name: `azure-local-${record.resourceGroup}-${record.name}-${container.spec.name}`.toLowerCase().replace(/[^a-z0-9_.-]/g, "-").slice(0, 200),
          key: `${record.id}/containers/${container.spec.name}`.toLowerCase(),
          image: container.spec.image,
          ...(command === undefined || command.length === 0 ? {} : { entryPoint: command }),
          env: { ...this.options.environment, ...containerEnvironment(container.spec) },
          memoryMib: Math.round(container.spec.memoryInGB * 1024),
          init: true,
        });
        this.event(container.events, "Started", "Started container");
        container.currentState = { state: "Running", startTime: this.iso(), detailStatus: "" };
        container.done = this.follow(record, container);
      }
    } catch (error) {
      this.failProvisioning(record, operation, "ContainerGroupDeploymentFailed", `azure-local could not start the container group '${record.name}': ${(error as Error).message}`);
      return;
    }
    if (record.provisioningState === "Creating") {
      record.provisioningState = "Succeeded"; // not when a DELETE began meanwhile
      if (record.state === "Pending") record.state = "Running";
    }
    operations.succeed(operation);
  }

  private async follow(record: ContainerGroupRecord, container: ContainerRecord): Promise<void> {
    const handle = container.handle!;
    await handle.follow((line) => container.output.push(line)).catch(() => undefined);
    const exit = await handle.wait().catch(() => ({ exitCode: 137, oomKilled: false }));
    container.previousState = container.currentState;
    container.currentState = {
      state: "Terminated",
      ...(container.previousState.startTime === undefined ? {} : { startTime: container.previousState.startTime }),
      finishTime: this.iso(),
      exitCode: exit.exitCode,
      detailStatus: record.stopping ? "Killing" : exit.oomKilled ? "OOMKilled" : exit.exitCode === 0 ? "Completed" : "Error",
    };
    this.event(container.events, "Killing", record.stopping ? "Killing container" : "Container exited");
    if (record.containers.every((c) => c.currentState.state === "Terminated")) {
      record.state = record.stopping ? "Stopped" : record.containers.every((c) => c.currentState.exitCode === 0) ? "Succeeded" : "Failed";
    }
  }

  private failProvisioning(record: ContainerGroupRecord, operation: AsyncOperation, code: string, message: string): void {
    if (record.provisioningState !== "Deleting") record.provisioningState = "Failed";
    record.state = "Failed";
    this.options.operations.fail(operation, code, message);
  }
}
