import { createHash } from "node:crypto";
import {
  FerryError,
  isFinalStatus,
  type ComputeProvider,
  type InfrastructureLogLine,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type SubmitResult,
  infrastructureNameFor,
} from "@ferry/core";
import {
  BoundedMap,
  finalLogLines,
  idempotentSubmit,
  loopbackApiUrlWarning,
  poolCredentialsOrAmbient,
  secretValues,
  silentLogger,
  withoutSecrets,
  withRetries,
  type ProviderLogger,
} from "@ferry/provider-kit";
import { ACI_BASE_JOB_TEMPLATE, parseAciJobConfiguration, type AciJobConfiguration } from "./aci-template.js";
import { sdkAciClients, servicePrincipalFrom, type AciClientFactory, type AzureEndpoints, type ContainerGroupsApi } from "./azure-clients.js";
import { buildContainerGroup, CONTAINER_NAME, containerGroupNameFor, infrastructureIdFor, parseInfrastructureId, type GroupId } from "./container-group.js";
import { AZURE_CREDENTIAL_TYPE } from "./credentials.js";
import { classifyAzureError, retryAfterMs, type AzureErrorContext } from "./errors.js";
import { groupStatus } from "./group-status.js";

export const ACI_POOL_TYPE = "azure-container-instance:push";

export interface AciProviderOptions extends AzureEndpoints {
  /** Attempts per Azure call (the kit's retries; the SDK itself tries once); default 3. */
  attempts?: number;
  /** Backoff before a call's second attempt, doubled for the next (with jitter); default 200 ms. */
  retryBaseDelayMs?: number;
  /** The longest Retry-After honoured before a call is tried again; a longer one fails the call (retryable) for the dispatcher to resubmit; default 60 s. */
  maxRetryAfterMs?: number;
  /** How often a followed long-running operation (a cancel's DELETE) is polled; default the SDK's. */
  pollIntervalMs?: number;
  /** How SDK clients are made; unit tests pass fakes. */
  clients?: AciClientFactory;
  logger?: ProviderLogger;
  /**
   * Whether a pool without credentials runs with DefaultAzureCredential (the server's own Azure
   * identity): the plugin context's `allowAmbientCredentials`. Default false.
   */
  allowAmbientCredentials?: boolean;
  /** Injectable for tests: waits `ms`, rejecting when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** How long a group whose run ended is watched for its container to exit, to delete it; default 15 min. */
  reapForMs?: number;
}

const MAX_REMEMBERED = 5000;
const MAX_CLIENTS = 200;
/** How often watch() polls the group: from WATCH_MIN_MS, doubling up to WATCH_MAX_MS. */
const WATCH_MIN_MS = 500;
const WATCH_MAX_MS = 5_000;
/** Lines of a finished group's output kept, read before the group is deleted. */
const KEPT_LOG_LINES = 200;

interface Call {
  api: ContainerGroupsApi;
  secrets: string[];
  signal?: AbortSignal | undefined;
}

/** What the provider saw of a group it deleted: the final status, and the output read before the delete. */
interface Ended {
  status: InfrastructureStatus;
  lines: InfrastructureLogLine[];
}

/**
 * `azure-container-instance:push`: each flow run is one container group (Linux, restart policy Never)
 * named from the run id, so a retried long-running PUT finds the group and makes no second one. Its
 * instance view is mapped to an InfrastructureStatus (group-status.ts). When a run ends, its
 * container's output is read and kept, then the group is deleted (unless keep_container_group): ACI's
 * logs go with the group.
 */
export class AciProvider implements ComputeProvider {
  readonly type = ACI_POOL_TYPE;
  readonly description = "Runs each flow run as an Azure Container Instances container group";
  readonly credentialsType = AZURE_CREDENTIAL_TYPE.type;
  readonly defaultBaseJobTemplate = ACI_BASE_JOB_TEMPLATE;
  readonly submit: (request: SubmitRequest) => Promise<SubmitResult>;

  private readonly endpoints: AzureEndpoints;
  private readonly attempts: number;
  private readonly retryBaseDelayMs: number | undefined;
  private readonly maxRetryAfterMs: number;
  private readonly pollIntervalMs: number | undefined;
  private readonly makeClients: AciClientFactory;
  private readonly logger: ProviderLogger;
  private readonly allowAmbientCredentials: boolean;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly reapForMs: number;
  private readonly warnLoopbackApiUrl: (request: SubmitRequest) => void;
  /** Groups this process deleted once they ended (or were cancelled): their final status and output. */
  private readonly ended = new BoundedMap<string, Ended>(MAX_REMEMBERED);
  /** SDK clients by principal and subscription (a hash of them). */
  private readonly clients = new BoundedMap<string, Promise<ContainerGroupsApi>>(MAX_CLIENTS);

  constructor(options: AciProviderOptions = {}) {
    this.endpoints = { endpoint: options.endpoint, authorityHost: options.authorityHost, graphEndpoint: options.graphEndpoint, caPem: options.caPem };
    this.attempts = options.attempts ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.pollIntervalMs = options.pollIntervalMs;
    this.makeClients = options.clients ?? sdkAciClients;
    this.logger = options.logger ?? silentLogger;
    this.allowAmbientCredentials = options.allowAmbientCredentials ?? false;
    this.sleep = options.sleep ?? abortableSleep;
    this.reapForMs = options.reapForMs ?? 15 * 60_000;
    this.warnLoopbackApiUrl = loopbackApiUrlWarning(this.logger, "Azure Container Instances");
    this.submit = idempotentSubmit({ start: (request) => this.start(request), maxRemembered: MAX_REMEMBERED });
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return { phase: "missing", message: `'${ref.infrastructureId}' is not a container group's resource id` };
    const ended = this.ended.get(ref.infrastructureId);
    if (ended) return ended.status;
    const config = parseAciJobConfiguration(ref.jobConfiguration);
    return this.withClients(ref.credentials, id.subscriptionId, async (call) => {
      const ctx = { location: config.location, resourceGroup: id.resourceGroup };
      const group = await this.send(call, { ...ctx, operation: "ContainerGroups.Get" }, () => call.api.get(id.resourceGroup, id.name));
      if (!group) return { phase: "missing", message: `ACI has no container group '${id.name}' in resource group '${id.resourceGroup}'` };
      const status = groupStatus(group);
      if (isFinalStatus(status) && !config.keep_container_group) await this.cleanUp(call, id, ref.infrastructureId, status, ctx);
      return status;
    });
  }

  /**
   * Follows the group until it ended. When the follower stops first (the engine reported the run's end
   * before its container exited, or a cancel), the group is still read and deleted once it ended: ACI
   * keeps an exited group (and counts it against the region's quota of groups) until it is deleted.
   */
  async *watch(ref: InfrastructureRef, signal: AbortSignal): AsyncIterable<InfrastructureStatus> {
    let last: InfrastructureStatus | undefined;
    let wait = WATCH_MIN_MS;
    let failed = false;
    try {
      while (!signal.aborted) {
        const status = await this.status(ref);
        if (!last || status.phase !== last.phase || status.message !== last.message) yield status;
        last = status;
        if (isFinalStatus(status)) return;
        await this.sleep(wait, signal).catch(() => undefined);
        wait = Math.min(wait * 2, WATCH_MAX_MS);
      }
    } catch (error) {
      // The dispatcher polls status() itself after a failed watch: that poll cleans up.
      failed = true;
      throw error;
    } finally {
      if (!failed && (!last || !isFinalStatus(last))) void this.cleanUpWhenEnded(ref);
    }
  }

  async cancel(ref: InfrastructureRef, reason: string): Promise<void> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) throw new FerryError("provider_not_found", `'${ref.infrastructureId}' is not a container group's resource id`);
    if (this.ended.has(ref.infrastructureId)) return;
    const config = parseAciJobConfiguration(ref.jobConfiguration);
    await this.withClients(ref.credentials, id.subscriptionId, async (call) => {
      const ctx = { location: config.location, resourceGroup: id.resourceGroup };
      const group = await this.send(call, { ...ctx, operation: "ContainerGroups.Get" }, () => call.api.get(id.resourceGroup, id.name));
      if (!group) return; // gone already: stopped
      const before = groupStatus(group);
      if (isFinalStatus(before)) {
        if (!config.keep_container_group) await this.cleanUp(call, id, ref.infrastructureId, before, ctx);
        return;
      }
      // A stop Azure refuses rejects here: the server keeps the run CANCELLING and asks again; nothing is deleted.
      await this.send(call, { ...ctx, operation: "ContainerGroups.Stop" }, () => call.api.stop(id.resourceGroup, id.name));
      const stopped: InfrastructureStatus = { phase: "failed", message: `the container group was stopped: ${reason}` };
      if (config.keep_container_group) {
        this.ended.set(ref.infrastructureId, { status: stopped, lines: [] });
        return;
      }
      // Output is a courtesy here (the run was cancelled): a failed read does not stop the delete.
      const lines = await this.readLines(call, id, ctx).catch((error: unknown) => {
        this.logger.warn({ err: error, container_group: ref.infrastructureId }, "could not read a cancelled container group's output before deleting it");
        return [];
      });
      await this.send(call, { ...ctx, operation: "ContainerGroups.Delete" }, async () => {
        try {
          await call.api.delete(id.resourceGroup, id.name, { wait: true });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 404) throw error;
        }
      });
      this.ended.set(ref.infrastructureId, { status: stopped, lines });
    });
  }

  async logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    const ended = this.ended.get(ref.infrastructureId);
    if (ended) return ended.lines.slice(-options.limit);
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return [];
    const config = parseAciJobConfiguration(ref.jobConfiguration);
    return this.withClients(ref.credentials, id.subscriptionId, (call) => this.readLines(call, id, { location: config.location, resourceGroup: id.resourceGroup }, options.limit));
  }

  private async start(request: SubmitRequest): Promise<SubmitResult> {
    this.warnLoopbackApiUrl(request);
    const credentials = this.poolCredentials(request.credentials, request.flowRun.work_pool);
    const config = parseAciJobConfiguration(request.jobConfiguration);
    const id: GroupId = {
      subscriptionId: subscriptionOf(config, credentials),
      resourceGroup: resourceGroupOf(config, request.flowRun.work_pool),
      name: containerGroupNameFor(infrastructureNameFor(request.flowRun)),
    };
    const group = buildContainerGroup(config, { flowRunId: request.flowRun.id, deploymentId: request.deployment.id, runtimeEnv: request.runtimeEnv });
    const ctx: AzureErrorContext = { location: config.location, resourceGroup: id.resourceGroup, pool: request.flowRun.work_pool };
    return this.withClients(credentials, id.subscriptionId, async (clientsCall) => {
      const call = { ...clientsCall, signal: request.signal };
      // A group of this name is this run's, made by an earlier attempt (a retry after a lost answer, a
      // restarted server): PUTting it again would restart its container with a new token, so it is kept.
      const existing = await this.send(call, { ...ctx, operation: "ContainerGroups.Get" }, () => call.api.get(id.resourceGroup, id.name, call.signal));
      if (!existing) await this.send(call, { ...ctx, operation: "ContainerGroups.CreateOrUpdate" }, () => call.api.create(id.resourceGroup, id.name, group, call.signal));
      return { infrastructureId: infrastructureIdFor(id) };
    });
  }

  /** Polls a group nobody follows any more until it ended, so that status() reads and deletes it; gives up after a while, saying so. */
  private async cleanUpWhenEnded(ref: InfrastructureRef): Promise<void> {
    const config = parseAciJobConfiguration(ref.jobConfiguration);
    if (config.keep_container_group || this.ended.has(ref.infrastructureId)) return;
    const deadline = Date.now() + this.reapForMs;
    let failures = 0;
    while (Date.now() < deadline) {
      try {
        if (isFinalStatus(await this.status(ref))) return;
        failures = 0;
      } catch (error) {
        if (++failures >= 5) {
          this.logger.warn({ err: error, container_group: ref.infrastructureId }, "could not check whether an ended run's container group exited, so it was not deleted; delete it in the Azure portal");
          return;
        }
      }
      await this.sleep(WATCH_MAX_MS);
    }
    this.logger.warn({ container_group: ref.infrastructureId }, "the container of an ended run did not exit in time, so its group was not deleted; delete it in the Azure portal");
  }

  /** Reads the ended group's output, then deletes it; the status and the output stay answerable from memory. */
  private async cleanUp(call: Call, id: GroupId, infrastructureId: string, status: InfrastructureStatus, ctx: AzureErrorContext): Promise<void> {
    let lines: InfrastructureLogLine[];
    try {
      lines = await this.readLines(call, id, ctx);
    } catch (error) {
      // Deleting now would lose the only copy of the output: the group stays for whoever looks into the run.
      this.logger.warn(
        { err: error, container_group: infrastructureId },
        `could not read the output of the ended container group '${id.name}', so it was kept; read it with the Azure portal, then delete the group in resource group '${id.resourceGroup}'`,
      );
      return;
    }
    this.ended.set(infrastructureId, { status, lines });
    try {
      await this.send(call, { ...ctx, operation: "ContainerGroups.Delete" }, () => call.api.delete(id.resourceGroup, id.name, { wait: false }));
    } catch (error) {
      // The run's outcome is known and recorded; the group is left behind, and the log says how to remove it.
      this.logger.warn(
        { err: error, container_group: infrastructureId },
        `could not delete the ended container group '${id.name}' in resource group '${id.resourceGroup}'; delete it in the Azure portal (it costs nothing once stopped)`,
      );
    }
  }

  /** The container's last lines, newest last; none (no error) when it wrote nothing or never started. */
  private readLines(call: Call, id: GroupId, ctx: AzureErrorContext, limit = KEPT_LOG_LINES): Promise<InfrastructureLogLine[]> {
    const at = new Date().toISOString();
    return finalLogLines(
      async (tail) => {
        const content = await this.send(call, { ...ctx, operation: "Containers.ListLogs" }, () => call.api.logs(id.resourceGroup, id.name, CONTAINER_NAME, tail));
        return content
          .split("\n")
          .map((line) => line.replace(/\r$/, ""))
          .filter((line, i, all) => line !== "" || i < all.length - 1)
          .map((message) => ({ timestamp: at, message }));
      },
      { limit, classify: (e) => classifyAzureError(e, { ...ctx, secrets: call.secrets }) },
    );
  }

  /**
   * One Azure call, retried while classification says retrying helps (throttling, 5xx, a failed
   * connection). After a 429 (or 503) the next attempt waits at least Azure's Retry-After.
   */
  private send<T>(call: Call, context: AzureErrorContext, fn: () => Promise<T>): Promise<T> {
    let asked: number | undefined;
    return withRetries(fn, {
      signal: call.signal,
      attempts: this.attempts,
      ...(this.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.retryBaseDelayMs }),
      classify: (e) => classifyAzureError(e, { ...context, secrets: call.secrets }),
      onRetry: (error) => {
        asked = retryAfterMs(error);
        if (asked !== undefined && asked > this.maxRetryAfterMs) throw error;
      },
      sleep: (ms, signal) => this.sleep(Math.max(ms, asked ?? 0), signal),
    });
  }

  private poolCredentials(credentials: Record<string, string> | null, pool?: string): Record<string, string> | null {
    return poolCredentialsOrAmbient(credentials, { allowAmbient: this.allowAmbientCredentials, cloud: "Azure", credentialsType: AZURE_CREDENTIAL_TYPE.type, pool });
  }

  private async withClients<T>(credentials: Record<string, string> | null, subscriptionId: string, fn: (call: Call) => Promise<T>): Promise<T> {
    const secrets = secretValues(AZURE_CREDENTIAL_TYPE, credentials);
    try {
      this.poolCredentials(credentials);
      const principal = servicePrincipalFrom(credentials);
      // One client (and credential, whose token is cached) per principal and subscription: a status poll
      // must not ask Microsoft Entra ID for a new token each time. The key holds a hash, never the secret.
      const key = createHash("sha256").update(JSON.stringify([subscriptionId, principal?.tenantId, principal?.clientId, principal?.clientSecret])).digest("hex");
      let api = this.clients.get(key);
      if (!api) {
        api = this.makeClients({ subscriptionId, principal, endpoints: this.endpoints, ...(this.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.pollIntervalMs }) });
        this.clients.set(key, api);
        api.catch(() => this.clients.delete(key));
      }
      return await fn({ api: await api, secrets });
    } catch (error) {
      // The last guard: nothing this provider throws carries the pool's secret.
      throw withoutSecrets(error, secrets);
    }
  }
}

/** The job's subscription, else the credentials'. */
export function subscriptionOf(config: AciJobConfiguration, credentials: Record<string, string> | null): string {
  const id = config.subscription_id || credentials?.subscription_id;
  if (!id) throw new FerryError("validation_failed", "no Azure subscription: set the subscription_id job variable, or subscription_id in the pool's azure credentials");
  return id;
}

export function resourceGroupOf(config: AciJobConfiguration, pool?: string): string {
  if (!config.resource_group_name) {
    throw new FerryError("validation_failed", `no resource group: set the resource_group_name job variable, or run 'ferry work-pool provision-infra ${pool ?? "POOL"}'`);
  }
  return config.resource_group_name;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    // A wait of the provider never keeps a process alive (a reaper's poll at shutdown).
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
