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
import {
  BoundedMap,
  createImagePlatformCheck,
  finalLogLines,
  idempotentSubmit,
  loopbackApiUrlWarning,
  poolCredentialsOrAmbient,
  secretValues,
  silentLogger,
  withoutSecrets,
  withRetries,
  type ImagePlatformCheck,
  type ProviderLogger,
} from "@ferry/provider-kit";
import { awsCredentialsFrom, sdkClientFactory, type AwsClientFactory, type AwsClients } from "./aws-clients.js";
import { AWS_CREDENTIAL_TYPE } from "./credentials.js";
import { ECS_BASE_JOB_TEMPLATE, parseEcsJobConfiguration, type EcsJobConfiguration } from "./ecs-template.js";
import { ecrRegion, isEcrRegistry } from "./ecr.js";
import { classifyAwsError, classifyRunTaskFailure, type AwsErrorContext } from "./errors.js";
import { platformOf, platformWords } from "./image-platform.js";
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

export interface EcsProviderOptions {
  /** One endpoint for every AWS service (a local stand-in such as @ferry/aws-local). */
  endpoint?: string;
  /** Attempts per AWS call (the kit's retries; the SDK itself tries once); default 3. */
  attempts?: number;
  /** Backoff before a call's second attempt, doubled for the next (with jitter); default 200 ms. */
  retryBaseDelayMs?: number;
  /** How SDK clients are made; tests pass fakes. */
  clients?: AwsClientFactory;
  /** Used to read image manifests from registries. */
  fetch?: typeof fetch;
  logger?: ProviderLogger;
  /** Milliseconds since the epoch; injectable for cache-expiry tests. */
  now?: () => number;
  /**
   * Whether a pool without credentials runs with the SDK's default chain (the server's own AWS
   * identity): the plugin context's `allowAmbientCredentials` (FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1).
   * Default false: such a pool's runs fail, saying how to give it credentials.
   */
  allowAmbientCredentials?: boolean;
}

/** How long a looked-up network is trusted before it is asked again. */
const LOOKUP_TTL_MS = 5 * 60_000;
const MAX_REMEMBERED = 5000;

/** What one call of the provider works with: the pool's clients, the secrets to keep out of errors, the caller's signal. */
interface Call {
  clients: AwsClients;
  secrets: string[];
  credentials: Record<string, string> | null;
  /** Aborting stops the retries (the server shutting down, a submission given up). */
  signal?: AbortSignal | undefined;
}

/**
 * `ecs:push`: each flow run is one ECS task. Translates a rendered job configuration into a task
 * definition and a RunTask request (the pure builders of task-definition.ts) and a DescribeTasks answer
 * into an InfrastructureStatus (task-status.ts). Idempotency, retries, classification, the image check
 * and the final log lines are the kit's; RunTask's clientToken makes a resubmission idempotent on AWS's
 * side too, so no lookup is needed before a retry.
 */
export class EcsProvider implements ComputeProvider {
  readonly type = "ecs:push";
  readonly description = "Runs each flow run as an AWS ECS task (Fargate or EC2)";
  readonly credentialsType = AWS_CREDENTIAL_TYPE.type;
  readonly defaultBaseJobTemplate = ECS_BASE_JOB_TEMPLATE;
  readonly submit: (request: SubmitRequest) => Promise<SubmitResult>;

  private readonly endpoint: string | undefined;
  private readonly attempts: number;
  private readonly retryBaseDelayMs: number | undefined;
  private readonly makeClients: AwsClientFactory;
  private readonly logger: ProviderLogger;
  private readonly now: () => number;
  private readonly checkImage: ImagePlatformCheck<Call & { region: string }>;
  private readonly allowAmbientCredentials: boolean;
  private readonly warnLoopbackApiUrl: (request: SubmitRequest) => void;

  /** Task definition ARNs by account, region, family and content hash, so equal definitions cost no Describe. */
  private readonly definitions = new BoundedMap<string, Promise<string>>(MAX_REMEMBERED);
  private readonly networks = new BoundedMap<string, { at: number; value: Promise<TaskNetwork> }>(MAX_REMEMBERED);
  private readonly logGroups = new BoundedMap<string, true>(MAX_REMEMBERED);

  constructor(options: EcsProviderOptions = {}) {
    this.endpoint = options.endpoint;
    this.attempts = options.attempts ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs;
    this.makeClients = options.clients ?? sdkClientFactory;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.allowAmbientCredentials = options.allowAmbientCredentials ?? false;
    this.warnLoopbackApiUrl = loopbackApiUrlWarning(this.logger, "AWS ECS");
    this.submit = idempotentSubmit({ start: (request) => this.startTask(request), maxRemembered: MAX_REMEMBERED });
    this.checkImage = createImagePlatformCheck({
      readable: isEcrRegistry,
      authorization: (registry, call) => this.ecrAuthorization(registry, call),
      words: platformWords,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      logger: this.logger,
      now: this.now,
    });
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return { phase: "missing", message: `'${ref.infrastructureId}' is not an ECS infrastructure id (cluster::taskArn)` };
    const config = parseEcsJobConfiguration(ref.jobConfiguration);
    const region = regionOf(config, ref.credentials);
    return this.withClients(ref.credentials, region, async (call) => {
      const out = await this.send(call, { region, cluster: id.cluster, operation: "DescribeTasks" }, () =>
        call.clients.ecs.send(new DescribeTasksCommand({ cluster: id.cluster, tasks: [id.taskArn] })),
      );
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
    await this.withClients(ref.credentials, region, async (call) => {
      // StopTask on a stopped task succeeds, so a second cancel is harmless without a check here. Any
      // other failure rejects: the server keeps the run CANCELLING and asks again, never records a stop
      // AWS did not accept.
      try {
        await this.send(call, { region, cluster: id.cluster, operation: "StopTask" }, () =>
          call.clients.ecs.send(new StopTaskCommand({ cluster: id.cluster, task: id.taskArn, reason: reason.slice(0, 255) })),
        );
      } catch (error) {
        // ECS forgets a stopped task after a while; StopTask then says it was not found. Gone is stopped,
        // but only when DescribeTasks agrees (a missing cluster or a wrong region still rejects).
        if (!isFerryError(error, "provider_not_found")) throw error;
        const out = await this.send(call, { region, cluster: id.cluster, operation: "DescribeTasks" }, () =>
          call.clients.ecs.send(new DescribeTasksCommand({ cluster: id.cluster, tasks: [id.taskArn] })),
        );
        const task = out.tasks?.find((t) => t.taskArn === id.taskArn);
        if (task && task.lastStatus !== "STOPPED") throw error;
      }
    });
  }

  async logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    const id = parseInfrastructureId(ref.infrastructureId);
    if (!id) return [];
    const config = parseEcsJobConfiguration(ref.jobConfiguration);
    const settings = logSettings(config, regionOf(config, ref.credentials));
    if (!settings) return [];
    const taskId = id.taskArn.slice(id.taskArn.lastIndexOf("/") + 1);
    const stream = `${settings.streamPrefix}/${config.container_name}/${taskId}`;
    const ctx: AwsErrorContext = { region: settings.region, operation: "GetLogEvents" };
    return this.withClients(ref.credentials, settings.region, (call) =>
      // The stream appears only once the container wrote something: no stream, no lines.
      finalLogLines(
        async (limit) => {
          const out = await this.send(call, ctx, () =>
            call.clients.logs.send(new GetLogEventsCommand({ logGroupName: settings.group, logStreamName: stream, limit, startFromHead: false })),
          );
          return (out.events ?? []).map((e) => ({ timestamp: new Date(e.timestamp ?? 0).toISOString(), message: e.message ?? "" }));
        },
        { limit: options.limit, classify: (e) => classifyAwsError(e, { ...ctx, secrets: call.secrets }) },
      ),
    );
  }

  private async startTask(request: SubmitRequest): Promise<SubmitResult> {
    this.warnLoopbackApiUrl(request);
    this.poolCredentials(request.credentials, request.flowRun.work_pool);
    const config = parseEcsJobConfiguration(request.jobConfiguration);
    const region = regionOf(config, request.credentials);
    const cluster = config.cluster ?? DEFAULT_CLUSTER;
    const base: AwsErrorContext = { region, cluster, pool: request.flowRun.work_pool };
    const definition = buildTaskDefinition(config, {
      deploymentId: request.deployment.id,
      flowName: request.deployment.flow_name,
      deploymentName: request.deployment.name,
      region,
      pool: request.flowRun.work_pool,
    });
    return this.withClients(request.credentials, region, async (clientsCall) => {
      const call = { ...clientsCall, signal: request.signal };
      await this.checkImage(config.image, platformOf(config.cpu_architecture), { ...call, region });
      const scope = this.scopeOf(request.credentials, region);
      const ctx = { ...base, family: definition.family };
      let arn = await this.taskDefinitionArn(call, scope, definition, config, ctx);
      const logs = logSettings(config, region);
      if (logs) await this.ensureLogGroup(call, scope, logs.group, { ...base, region: logs.region });
      const network = usesAwsvpc(config) ? await this.network(call, scope, config, region, base) : null;
      const runContext = {
        idempotencyKey: request.idempotencyKey,
        flowRunId: request.flowRun.id,
        deploymentId: request.deployment.id,
        runtimeEnv: request.runtimeEnv,
      };
      const runTask = () => this.send(call, { ...ctx, operation: "RunTask" }, () => call.clients.ecs.send(new RunTaskCommand(buildRunTaskRequest(config, arn, network, runContext))));
      let out;
      try {
        out = await runTask();
      } catch (error) {
        // A cached definition deregistered behind Ferry's back: register again, once.
        if (!isFerryError(error) || !/task ?definition/i.test(error.message) || !/inactive|not found|does not exist/i.test(error.message)) throw error;
        this.definitions.delete(definitionCacheKey(scope, definition));
        arn = await this.taskDefinitionArn(call, scope, definition, config, ctx);
        out = await runTask();
      }
      const failure = out.failures?.[0];
      if (failure) throw classifyRunTaskFailure(failure, ctx);
      const taskArn = out.tasks?.[0]?.taskArn;
      if (!taskArn) throw new FerryError("provider_error", "RunTask: ECS answered without a task or a failure", { retryable: true });
      if (config.auto_deregister_task_definition) {
        // A started task keeps running when its definition is deregistered; the run is not at stake.
        try {
          await this.send(call, { ...ctx, operation: "DeregisterTaskDefinition" }, () => call.clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
        } catch (error) {
          this.logger.warn({ err: error, task_definition: arn, flow_run_id: request.flowRun.id }, "could not deregister the run's task definition; it stays registered");
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
  private taskDefinitionArn(call: Call, scope: string, definition: RegisterTaskDefinitionCommandInput, config: EcsJobConfiguration, ctx: AwsErrorContext): Promise<string> {
    if (config.auto_deregister_task_definition) return this.register(call, definition, ctx);
    return this.definitions.getOrMake(definitionCacheKey(scope, definition), async () => (await this.latestEqualRevision(call, definition, ctx)) ?? (await this.register(call, definition, ctx)));
  }

  private async latestEqualRevision(call: Call, definition: RegisterTaskDefinitionCommandInput, ctx: AwsErrorContext): Promise<string | null> {
    try {
      const out = await this.send(call, { ...ctx, operation: "DescribeTaskDefinition" }, () =>
        call.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: definition.family, include: ["TAGS"] })),
      );
      const current = out.taskDefinition;
      if (current?.status === "ACTIVE" && current.taskDefinitionArn && tagValue(out.tags, KEY_TAG) === tagValue(definition.tags, KEY_TAG)) {
        return current.taskDefinitionArn;
      }
      return null;
    } catch (error) {
      if (isFerryError(error, "provider_not_found")) return null; // a new family
      throw error;
    }
  }

  private async register(call: Call, definition: RegisterTaskDefinitionCommandInput, ctx: AwsErrorContext): Promise<string> {
    const out = await this.send(call, { ...ctx, operation: "RegisterTaskDefinition" }, () => call.clients.ecs.send(new RegisterTaskDefinitionCommand(definition)));
    const arn = out.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new FerryError("provider_error", "RegisterTaskDefinition: ECS answered without a task definition ARN", { retryable: true });
    return arn;
  }

  /** Creates the log group with the pool's credentials, so the execution role needs no logs:CreateLogGroup. */
  private async ensureLogGroup(call: Call, scope: string, group: string, ctx: AwsErrorContext): Promise<void> {
    const key = `${scope}|${ctx.region}|${group}`;
    if (this.logGroups.has(key)) return;
    try {
      await this.send(call, { ...ctx, operation: "CreateLogGroup" }, () => call.clients.logs.send(new CreateLogGroupCommand({ logGroupName: group })));
    } catch (error) {
      if (!isFerryError(error) || (error.details as { aws_error?: string } | undefined)?.aws_error !== "ResourceAlreadyExistsException") throw error;
    }
    this.logGroups.set(key, true);
  }

  private network(call: Call, scope: string, config: EcsJobConfiguration, region: string, ctx: AwsErrorContext): Promise<TaskNetwork> {
    const lookup: NetworkLookup = {
      defaultVpcId: async () => {
        const out = await this.send(call, { ...ctx, operation: "DescribeVpcs" }, () => call.clients.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] })));
        return out.Vpcs?.[0]?.VpcId ?? null;
      },
      subnetIdsOfVpc: async (vpcId) => {
        const out = await this.send(call, { ...ctx, operation: "DescribeSubnets" }, () => call.clients.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] })));
        return (out.Subnets ?? []).map((s) => s.SubnetId).filter((s): s is string => Boolean(s));
      },
    };
    if (config.subnets.length > 0) return resolveNetwork(config, lookup, region);
    // Looked-up subnets are cached: at volume a DescribeSubnets per run is what gets throttled.
    const key = `${scope}|${config.vpc_id ?? "(default)"}|${config.security_groups.join(",")}`;
    const cached = this.networks.get(key);
    if (cached && this.now() - cached.at < LOOKUP_TTL_MS) return cached.value;
    const value = resolveNetwork(config, lookup, region);
    this.networks.set(key, { at: this.now(), value });
    value.catch(() => this.networks.delete(key));
    return value;
  }

  /** `Basic <token>` for an ECR registry, from GetAuthorizationToken in the registry's region with the pool's credentials. */
  private async ecrAuthorization(registry: string, call: Call & { region: string }): Promise<string | undefined> {
    const registryRegion = ecrRegion(registry);
    // Other registries Ferry reads (localhost, host:port) are asked anonymously.
    if (!registryRegion) return undefined;
    const read = async (clients: AwsClients) => {
      const out = await this.send({ ...call, clients }, { region: registryRegion, operation: "GetAuthorizationToken" }, () => clients.ecr.send(new GetAuthorizationTokenCommand({})));
      const token = out.authorizationData?.[0]?.authorizationToken;
      return token ? `Basic ${token}` : undefined;
    };
    return registryRegion === call.region ? read(call.clients) : this.withClients(call.credentials, registryRegion, (other) => read(other.clients));
  }

  /**
   * One AWS call: retried while classification says retrying helps (throttling, 5xx, a failed
   * connection), each failure classified with the call's context and the pool's secrets kept out.
   */
  private send<T>(call: Call, context: AwsErrorContext, fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, {
      signal: call.signal,
      attempts: this.attempts,
      ...(this.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.retryBaseDelayMs }),
      classify: (e) => classifyAwsError(e, { ...context, secrets: call.secrets }),
    });
  }

  /** The pool's credentials; null (the SDK's default chain) only when the operator allowed the server's own identity. */
  private poolCredentials(credentials: Record<string, string> | null, pool?: string): Record<string, string> | null {
    return poolCredentialsOrAmbient(credentials, { allowAmbient: this.allowAmbientCredentials, cloud: "AWS", credentialsType: AWS_CREDENTIAL_TYPE.type, pool });
  }

  private async withClients<T>(credentials: Record<string, string> | null, region: string, fn: (call: Call) => Promise<T>): Promise<T> {
    this.poolCredentials(credentials);
    const secrets = secretValues(AWS_CREDENTIAL_TYPE, credentials);
    try {
      const clients = this.makeClients({ region, credentials: awsCredentialsFrom(credentials), ...(this.endpoint ? { endpoint: this.endpoint } : {}) });
      try {
        return await fn({ clients, secrets, credentials });
      } finally {
        clients.destroy();
      }
    } catch (error) {
      // The last guard: nothing this provider throws carries the pool's secret.
      throw withoutSecrets(error, secrets);
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
