import { CreateLogGroupCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeSubnetsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import {
  FerryError,
  isFerryError,
  type ComputeProvider,
  type InfrastructureLogLine,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type SubmitResult,
} from "@ferry/core";
import { awsCredentialsFrom, sdkClientFactory, type AwsClientFactory, type AwsClients } from "./aws-clients.js";
import { ECS_BASE_JOB_TEMPLATE, parseEcsJobConfiguration, type EcsJobConfiguration } from "./ecs-template.js";
import { classifyAwsError, classifyRunTaskFailure, type AwsErrorContext } from "./errors.js";
import { checkArchitectures, isEcrRegistry, parseImageReference, readImageArchitectures } from "./image-platform.js";
import {
  DEFAULT_CLUSTER,
  KEY_TAG,
  buildRunTaskRequest,
  buildTaskDefinition,
  logSettings,
  resolveNetwork,
  tagValue,
  usesAwsvpc,
  type NetworkLookup,
  type TaskNetwork,
} from "./task-definition.js";
import { infrastructureIdFor, parseInfrastructureId, taskStatus } from "./task-status.js";

export const DEFAULT_REGION = "us-east-1";

export interface ProviderLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const silent: ProviderLogger = { debug() {}, warn() {} };

export interface EcsProviderOptions {
  /** One endpoint for every AWS service (a local stand-in such as @ferry/aws-local). */
  endpoint?: string;
  /** SDK attempts per call; default 3. */
  maxAttempts?: number;
  /** How SDK clients are made; tests pass fakes. */
  clients?: AwsClientFactory;
  /** Used to read image manifests from registries. */
  fetch?: typeof fetch;
  logger?: ProviderLogger;
  /** Milliseconds since the epoch; injectable for cache-expiry tests. */
  now?: () => number;
}

/** How long a looked-up network or image check is trusted before it is asked again. */
const LOOKUP_TTL_MS = 5 * 60_000;
const MAX_REMEMBERED = 5000;

/**
 * `ecs:push`: each flow run is one ECS task. Translates a rendered job configuration into a task
 * definition and a RunTask request (built by the pure functions of task-definition.ts), and a
 * DescribeTasks answer into an InfrastructureStatus. Every AWS failure goes through classifyAwsError.
 */
export class EcsProvider implements ComputeProvider {
  readonly type = "ecs:push";
  readonly description = "Runs each flow run as an AWS ECS task (Fargate or EC2)";
  readonly credentialsType = "aws";
  readonly defaultBaseJobTemplate = ECS_BASE_JOB_TEMPLATE;

  private readonly endpoint: string | undefined;
  private readonly maxAttempts: number;
  private readonly makeClients: AwsClientFactory;
  private readonly fetch: typeof fetch;
  private readonly logger: ProviderLogger;
  private readonly now: () => number;

  /** Submissions by idempotency key: a repeated or concurrent submit of a run returns the first's answer. */
  private readonly submissions = new Map<string, Promise<SubmitResult>>();
  /** Task definition ARNs by account, region, family and content hash, so equal definitions cost no Describe. */
  private readonly definitions = new Map<string, Promise<string>>();
  private readonly networks = new Map<string, { at: number; value: Promise<TaskNetwork> }>();
  private readonly imageChecks = new Map<string, { at: number; error: FerryError | null }>();
  private readonly logGroups = new Set<string>();

  constructor(options: EcsProviderOptions = {}) {
    this.endpoint = options.endpoint;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.makeClients = options.clients ?? sdkClientFactory;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? silent;
    this.now = options.now ?? Date.now;
  }

  submit(request: SubmitRequest): Promise<SubmitResult> {
    const key = request.idempotencyKey;
    const known = this.submissions.get(key);
    if (known) return known;
    const pending = this.startTask(request);
    remember(this.submissions, key, pending);
    // A failed submission may be retried with the same key: forget it.
    pending.catch(() => {
      if (this.submissions.get(key) === pending) this.submissions.delete(key);
    });
    return pending;
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return { phase: "missing", message: `'${ref.infrastructureId}' is not an ECS infrastructure id (cluster::taskArn)` };
    const config = parseEcsJobConfiguration(ref.jobConfiguration);
    const region = regionOf(config, ref.credentials);
    const ctx: AwsErrorContext = { region, cluster: id.cluster, operation: "DescribeTasks" };
    return this.withClients(ref.credentials, region, async (clients) => {
      const out = await call(ctx, () => clients.ecs.send(new DescribeTasksCommand({ cluster: id.cluster, tasks: [id.taskArn] })));
      const task = out.tasks?.find((t) => t.taskArn === id.taskArn) ?? out.tasks?.[0];
      if (!task) {
        const failure = out.failures?.[0];
        return { phase: "missing", message: `ECS has no task ${id.taskArn} in cluster '${id.cluster}'${failure?.reason ? ` (${failure.reason})` : ""}` };
      }
      return taskStatus(task, config.container_name);
    });
  }

  async cancel(ref: InfrastructureRef, reason: string): Promise<void> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) throw new FerryError("provider_not_found", `'${ref.infrastructureId}' is not an ECS infrastructure id (cluster::taskArn)`);
    const config = parseEcsJobConfiguration(ref.jobConfiguration);
    const region = regionOf(config, ref.credentials);
    const ctx: AwsErrorContext = { region, cluster: id.cluster, operation: "StopTask" };
    await this.withClients(ref.credentials, region, async (clients) => {
      // StopTask on a stopped task succeeds, so a second cancel is harmless without a check here.
      await call(ctx, () => clients.ecs.send(new StopTaskCommand({ cluster: id.cluster, task: id.taskArn, reason: reason.slice(0, 255) })));
    });
  }

  async logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return [];
    const config = parseEcsJobConfiguration(ref.jobConfiguration);
    const region = regionOf(config, ref.credentials);
    const settings = logSettings(config, region);
    if (!settings) return [];
    const taskId = id.taskArn.slice(id.taskArn.lastIndexOf("/") + 1);
    const stream = `${settings.streamPrefix}/${config.container_name}/${taskId}`;
    const ctx: AwsErrorContext = { region: settings.region, operation: "GetLogEvents" };
    return this.withClients(ref.credentials, settings.region, async (clients) => {
      try {
        const out = await clients.logs.send(
          new GetLogEventsCommand({ logGroupName: settings.group, logStreamName: stream, limit: Math.max(1, Math.min(options.limit, 10_000)), startFromHead: false }),
        );
        return (out.events ?? []).map((e) => ({ timestamp: new Date(e.timestamp ?? 0).toISOString(), message: (e.message ?? "").replace(/\n$/, "") }));
      } catch (error) {
        const classified = classifyAwsError(error, ctx);
        // The stream appears only once the container wrote something: no stream, no lines.
        if (classified.code === "provider_not_found") return [];
        throw classified;
      }
    });
  }

  private async startTask(request: SubmitRequest): Promise<SubmitResult> {
    const config = parseEcsJobConfiguration(request.jobConfiguration);
    const region = regionOf(config, request.credentials);
    const cluster = config.cluster ?? DEFAULT_CLUSTER;
    const base: AwsErrorContext = { region, cluster, pool: request.flowRun.work_pool };
    const definition = buildTaskDefinition(config, {
      deploymentId: request.deployment.id,
      flowName: request.deployment.flow_name,
      deploymentName: request.deployment.name,
      region,
    });
    return this.withClients(request.credentials, region, async (clients) => {
      await this.checkImage(config, request.credentials, region);
      const scope = this.scopeOf(request.credentials, region);
      const ctx = { ...base, family: definition.family };
      let arn = await this.taskDefinitionArn(clients, scope, definition, config, ctx);
      const logs = logSettings(config, region);
      if (logs) await this.ensureLogGroup(clients, scope, logs.group, { ...base, region: logs.region });
      const network = usesAwsvpc(config) ? await this.network(clients, scope, config, region, base) : null;
      const runContext = {
        idempotencyKey: request.idempotencyKey,
        flowRunId: request.flowRun.id,
        deploymentId: request.deployment.id,
        runtimeEnv: request.runtimeEnv,
      };
      let out;
      try {
        out = await call({ ...ctx, operation: "RunTask" }, () => clients.ecs.send(new RunTaskCommand(buildRunTaskRequest(config, arn, network, runContext))));
      } catch (error) {
        // A cached definition deregistered behind Ferry's back: register again, once.
        if (!isFerryError(error) || !/task ?definition/i.test(error.message) || !/inactive|not found|does not exist/i.test(error.message)) throw error;
        this.definitions.delete(definitionCacheKey(scope, definition));
        arn = await this.taskDefinitionArn(clients, scope, definition, config, ctx);
        out = await call({ ...ctx, operation: "RunTask" }, () => clients.ecs.send(new RunTaskCommand(buildRunTaskRequest(config, arn, network, runContext))));
      }
      const failure = out.failures?.[0];
      if (failure) throw classifyRunTaskFailure(failure, ctx);
      const taskArn = out.tasks?.[0]?.taskArn;
      if (!taskArn) throw new FerryError("provider_error", "RunTask: ECS answered without a task or a failure", { retryable: true });
      if (config.auto_deregister_task_definition) {
        // A started task keeps running when its definition is deregistered; the run is not at stake.
        try {
          await clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
        } catch (error) {
          const classified = classifyAwsError(error, { ...ctx, operation: "DeregisterTaskDefinition" });
          this.logger.warn({ err: classified, task_definition: arn, flow_run_id: request.flowRun.id }, "could not deregister the run's task definition; it stays registered");
        }
      }
      return { infrastructureId: infrastructureIdFor(cluster, taskArn) };
    });
  }

  /**
   * The ARN of an ACTIVE definition equal to `definition`: from this process's cache, else the family's
   * latest revision when its content tag matches, else a new registration. Registration is rate limited
   * (Prefect #16485, #21351), so concurrent submissions of one deployment share one lookup.
   */
  private taskDefinitionArn(
    clients: AwsClients,
    scope: string,
    definition: RegisterTaskDefinitionCommandInput,
    config: EcsJobConfiguration,
    ctx: AwsErrorContext,
  ): Promise<string> {
    if (config.auto_deregister_task_definition) return this.register(clients, definition, ctx);
    const key = definitionCacheKey(scope, definition);
    const known = this.definitions.get(key);
    if (known) return known;
    const pending = (async () => {
      const latest = await this.latestEqualRevision(clients, definition, ctx);
      return latest ?? (await this.register(clients, definition, ctx));
    })();
    remember(this.definitions, key, pending);
    pending.catch(() => {
      if (this.definitions.get(key) === pending) this.definitions.delete(key);
    });
    return pending;
  }

  private async latestEqualRevision(clients: AwsClients, definition: RegisterTaskDefinitionCommandInput, ctx: AwsErrorContext): Promise<string | null> {
    try {
      const out = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: definition.family, include: ["TAGS"] }));
      const current = out.taskDefinition;
      if (current?.status === "ACTIVE" && current.taskDefinitionArn && tagValue(out.tags, KEY_TAG) === tagValue(definition.tags, KEY_TAG)) {
        return current.taskDefinitionArn;
      }
      return null;
    } catch (error) {
      const classified = classifyAwsError(error, { ...ctx, operation: "DescribeTaskDefinition" });
      if (classified.code === "provider_not_found") return null; // a new family
      throw classified;
    }
  }

  private async register(clients: AwsClients, definition: RegisterTaskDefinitionCommandInput, ctx: AwsErrorContext): Promise<string> {
    const out = await call({ ...ctx, operation: "RegisterTaskDefinition" }, () => clients.ecs.send(new RegisterTaskDefinitionCommand(definition)));
    const arn = out.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new FerryError("provider_error", "RegisterTaskDefinition: ECS answered without a task definition ARN", { retryable: true });
    return arn;
  }

  /** Creates the log group with the pool's credentials, so the execution role needs no logs:CreateLogGroup. */
  private async ensureLogGroup(clients: AwsClients, scope: string, group: string, ctx: AwsErrorContext): Promise<void> {
    const key = `${scope}|${ctx.region}|${group}`;
    if (this.logGroups.has(key)) return;
    try {
      await clients.logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    } catch (error) {
      if ((error as { name?: string }).name !== "ResourceAlreadyExistsException") {
        throw classifyAwsError(error, { ...ctx, operation: "CreateLogGroup" });
      }
    }
    this.logGroups.add(key);
  }

  private network(clients: AwsClients, scope: string, config: EcsJobConfiguration, region: string, ctx: AwsErrorContext): Promise<TaskNetwork> {
    const lookup: NetworkLookup = {
      defaultVpcId: async () => {
        const out = await call({ ...ctx, operation: "DescribeVpcs" }, () =>
          clients.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] })),
        );
        return out.Vpcs?.[0]?.VpcId ?? null;
      },
      subnetIdsOfVpc: async (vpcId) => {
        const out = await call({ ...ctx, operation: "DescribeSubnets" }, () =>
          clients.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] })),
        );
        return (out.Subnets ?? []).map((s) => s.SubnetId).filter((s): s is string => Boolean(s));
      },
    };
    if (config.subnets.length > 0) return resolveNetwork(config, lookup, region);
    // Looked-up subnets are cached: at volume a DescribeSubnets per run is what gets throttled.
    const key = `${scope}|${config.vpc_id ?? "(default)"}|${config.security_groups.join(",")}`;
    const cached = this.networks.get(key);
    if (cached && this.now() - cached.at < LOOKUP_TTL_MS) return cached.value;
    const value = resolveNetwork(config, lookup, region);
    remember(this.networks, key, { at: this.now(), value });
    value.catch(() => this.networks.delete(key));
    return value;
  }

  /**
   * Refuses an image that cannot run on the task's CPU architecture, when its registry can be read.
   * A registry that cannot be read does not block the run: ECS will report the real outcome.
   */
  private async checkImage(config: EcsJobConfiguration, credentials: Record<string, string> | null, region: string): Promise<void> {
    const ref = parseImageReference(config.image);
    if (!ref) return;
    const key = `${config.image}|${config.cpu_architecture}`;
    const cached = this.imageChecks.get(key);
    if (cached && this.now() - cached.at < LOOKUP_TTL_MS) {
      if (cached.error) throw cached.error;
      return;
    }
    let found;
    try {
      let authorization: string | undefined;
      if (isEcrRegistry(ref.registry)) {
        const registryRegion = ref.registry.split(".")[3] ?? region;
        authorization = await this.withClients(credentials, registryRegion, async (clients) => {
          const out = await clients.ecr.send(new GetAuthorizationTokenCommand({}));
          const token = out.authorizationData?.[0]?.authorizationToken;
          return token ? `Basic ${token}` : undefined;
        });
      }
      found = await readImageArchitectures(ref, { fetch: this.fetch, ...(authorization ? { authorization } : {}) });
    } catch (error) {
      this.logger.debug({ image: config.image, reason: (error as Error).message }, "could not read the image's manifest from its registry; its architecture is not checked");
      return;
    }
    try {
      checkArchitectures(config.image, found, config.cpu_architecture);
      remember(this.imageChecks, key, { at: this.now(), error: null });
    } catch (error) {
      remember(this.imageChecks, key, { at: this.now(), error: error as FerryError });
      throw error;
    }
  }

  private async withClients<T>(credentials: Record<string, string> | null, region: string, fn: (clients: AwsClients) => Promise<T>): Promise<T> {
    const clients = this.makeClients({
      region,
      credentials: awsCredentialsFrom(credentials),
      maxAttempts: this.maxAttempts,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
    });
    try {
      return await fn(clients);
    } finally {
      clients.destroy();
    }
  }

  /** Caches are per account (access key), region and endpoint: two pools on two accounts share nothing. */
  private scopeOf(credentials: Record<string, string> | null, region: string): string {
    return `${this.endpoint ?? "aws"}|${credentials?.aws_access_key_id ?? "default-chain"}|${region}`;
  }
}

/** The job's region, else the credentials' region_name, else us-east-1. */
export function regionOf(config: EcsJobConfiguration, credentials: Record<string, string> | null): string {
  return config.region || credentials?.region_name || DEFAULT_REGION;
}

function definitionCacheKey(scope: string, definition: RegisterTaskDefinitionCommandInput): string {
  return `${scope}|${definition.family}|${tagValue(definition.tags, KEY_TAG)}`;
}

async function call<T>(ctx: AwsErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw classifyAwsError(error, ctx);
  }
}

/** Map.set with a bound: the oldest entries go first, so a long-running server does not grow without end. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as K);
}
