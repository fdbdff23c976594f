import { createHash } from "node:crypto";
import {
  FerryError,
  isFerryError,
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
import type { protos } from "@google-cloud/run";
import { GoogleAuth, JWT } from "google-auth-library";
import { keyAuthClient, type RequestAuth } from "./auth.js";
import { sdkCloudRunApi, type CloudRunApi, type CloudRunApiFactory } from "./cloud-run-api.js";
import { CLOUD_RUN_BASE_JOB_TEMPLATE, parseCloudRunJobConfiguration, type CloudRunJobConfiguration } from "./cloud-run-template.js";
import { GCP_CREDENTIAL_TYPE, serviceAccountKeyFrom, type ServiceAccountKey } from "./credentials.js";
import { classifyGcpError, gcpErrorName, type GcpErrorContext } from "./errors.js";
import { executionStatus, jobStatus } from "./execution-status.js";
import { isArtifactRegistryHost, PLATFORM, platformWords } from "./image-platform.js";
import { JobSweeper } from "./job-sweeper.js";
import { buildCloudRunJob, buildRunJobRequest } from "./job-builder.js";
import { jobIdFor, jobName, jobNameOf, locationName, parseExecutionName, parseJobName, type ExecutionName } from "./names.js";
import type { GcpPluginOptions } from "./options.js";

type IExecution = protos.google.cloud.run.v2.IExecution;

export interface CloudRunProviderOptions extends GcpPluginOptions {
  /** Attempts per Google call (the kit's retries; the clients themselves try once); default 3. */
  attempts?: number;
  /** Backoff before a call's second attempt, doubled for the next (with jitter); default 200 ms. */
  retryBaseDelayMs?: number;
  /** How often runs the server stopped following are read again, to delete their jobs once they ended; default 15 s. */
  jobCleanupIntervalMs?: number;
  /** How the API is reached; tests pass a fake. */
  api?: CloudRunApiFactory;
  /** Used to read image manifests from registries. */
  fetch?: typeof fetch;
  logger?: ProviderLogger;
  now?: () => number;
  /**
   * Whether a pool without credentials runs with the server's own Google identity (application default
   * credentials): the plugin context's `allowAmbientCredentials`. Default false.
   */
  allowAmbientCredentials?: boolean;
}

const MAX_REMEMBERED = 5000;
/** API clients kept open (a gRPC channel each), per key and endpoint. */
const MAX_OPEN_CLIENTS = 20;

interface Call {
  api: CloudRunApi;
  auth: RequestAuth;
  key: ServiceAccountKey | null;
  secrets: string[];
  signal?: AbortSignal | undefined;
}

/**
 * `cloud-run:push`: each flow run is one Cloud Run job, named from the run's id, with one execution.
 * Translates a rendered job configuration into a Job and a RunJob request (the pure builders of
 * job-builder.ts) and an execution with its task into an InfrastructureStatus (execution-status.ts).
 * RunJob is not idempotent: every attempt to start first lists the job's executions, so a retry (a 429
 * after Cloud Run had started it, a server that died mid-submission) finds the execution instead of
 * starting a second. Retries, classification, the image check and the final log lines are the kit's.
 */
export class CloudRunProvider implements ComputeProvider {
  readonly type = "cloud-run:push";
  readonly description = "Runs each flow run as a Google Cloud Run job";
  readonly credentialsType = GCP_CREDENTIAL_TYPE.type;
  readonly defaultBaseJobTemplate = CLOUD_RUN_BASE_JOB_TEMPLATE;
  readonly submit: (request: SubmitRequest) => Promise<SubmitResult>;

  private readonly options: GcpPluginOptions;
  private readonly attempts: number;
  private readonly retryBaseDelayMs: number | undefined;
  private readonly makeApi: CloudRunApiFactory;
  private readonly logger: ProviderLogger;
  private readonly allowAmbientCredentials: boolean;
  private readonly warnLoopbackApiUrl: (request: SubmitRequest) => void;
  private readonly checkImage: ImagePlatformCheck<Call>;
  private readonly apis = new Map<string, { api: CloudRunApi; auth: RequestAuth }>();
  /** Final statuses of executions whose job this process deleted: asked again, the run's end is still known. */
  private readonly finals = new BoundedMap<string, InfrastructureStatus>(MAX_REMEMBERED);
  /** The last lines of failed executions, read before their job was deleted, for `logs`. */
  private readonly lastLines = new BoundedMap<string, InfrastructureLogLine[]>(MAX_REMEMBERED);
  /** Runs seen going whose job is to be deleted once they end, whether or not the server still asks. */
  private readonly sweeper: JobSweeper<InfrastructureRef>;

  constructor(options: CloudRunProviderOptions = {}) {
    this.options = { ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}), ...(options.port ? { port: options.port } : {}), ...(options.caPem ? { caPem: options.caPem } : {}), ...(options.restUrl ? { restUrl: options.restUrl } : {}) };
    this.attempts = options.attempts ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs;
    this.makeApi = options.api ?? sdkCloudRunApi;
    this.logger = options.logger ?? silentLogger;
    this.allowAmbientCredentials = options.allowAmbientCredentials ?? false;
    this.warnLoopbackApiUrl = loopbackApiUrlWarning(this.logger, "Cloud Run");
    this.submit = idempotentSubmit({ start: (request) => this.start(request), maxRemembered: MAX_REMEMBERED });
    this.sweeper = new JobSweeper({
      intervalMs: options.jobCleanupIntervalMs ?? 15_000,
      check: async (ref) => isFinalStatus(await this.status(ref)),
      // The job's timeout bounds the run; an hour more covers Cloud Run's own delays.
      maxAgeMs: (ref) => (Number(ref.jobConfiguration.timeout) || 600) * 1000 + 3_600_000,
      logger: this.logger,
    });
    this.checkImage = createImagePlatformCheck({
      readable: isArtifactRegistryHost,
      authorization: (registry, call) => this.registryAuthorization(registry, call),
      words: platformWords,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      logger: this.logger,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    const config = parseCloudRunJobConfiguration(ref.jobConfiguration);
    const jobOnly = parseJobName(ref.infrastructureId);
    if (jobOnly) return this.withApi(ref.credentials, (call) => this.jobOnlyStatus(call, ref.infrastructureId, jobOnly, config));
    const name = parseExecutionName(ref.infrastructureId);
    if (!name) return { phase: "missing", message: `'${ref.infrastructureId}' is not a Cloud Run execution name (projects/P/locations/R/jobs/J/executions/E)` };
    return this.withApi(ref.credentials, async (call) => {
      const ctx: GcpErrorContext = { project: name.project, region: name.region };
      let execution: IExecution;
      try {
        execution = await this.send(call, { ...ctx, operation: "GetExecution" }, () => call.api.getExecution(ref.infrastructureId));
      } catch (error) {
        if (!isFerryError(error, "provider_not_found")) throw error;
        const known = this.finals.get(ref.infrastructureId);
        return known ?? { phase: "missing", message: `Cloud Run has no execution ${name.execution} of job ${name.job} in ${name.region} (its job was deleted)` };
      }
      const ended = Boolean(execution.completionTime) || Number(execution.runningCount ?? 0) > 0 || Number(execution.failedCount ?? 0) > 0;
      // The exit code (or signal) is on the task's last attempt, not on the execution: read once it ran.
      const task = ended ? (await this.send(call, { ...ctx, operation: "ListTasks" }, () => call.api.listTasks(ref.infrastructureId)))[0] : undefined;
      const status = executionStatus(execution, task);
      if (isFinalStatus(status)) {
        await this.finish(call, name, status, config);
        this.sweeper.untrack(ref.infrastructureId);
      } else if (!config.keep_job) {
        this.sweeper.track(ref.infrastructureId, ref);
      }
      return status;
    });
  }

  async cancel(ref: InfrastructureRef, _reason: string): Promise<void> {
    // A job that never became ready runs nothing: there is nothing to stop.
    if (parseJobName(ref.infrastructureId)) return;
    const name = parseExecutionName(ref.infrastructureId);
    if (!name) throw new FerryError("provider_not_found", `'${ref.infrastructureId}' is not a Cloud Run execution name (projects/P/locations/R/jobs/J/executions/E)`);
    await this.withApi(ref.credentials, async (call) => {
      const ctx: GcpErrorContext = { project: name.project, region: name.region, operation: "CancelExecution" };
      try {
        await this.send(call, ctx, () => call.api.cancelExecution(ref.infrastructureId));
      } catch (error) {
        // Gone (its job deleted once it ended) is stopped. An execution that already ended refuses a
        // cancel (FAILED_PRECONDITION): stopped too, when Cloud Run agrees it ended. Anything else rejects,
        // so the server keeps the run CANCELLING and asks again rather than record a stop that did not happen.
        if (isFerryError(error, "provider_not_found")) return;
        if (gcpErrorName((error as { cause?: unknown }).cause) !== "FAILED_PRECONDITION") throw error;
        const execution = await this.send(call, { ...ctx, operation: "GetExecution" }, () => call.api.getExecution(ref.infrastructureId));
        if (!execution.completionTime) throw error;
      }
    });
  }

  async logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    const name = parseExecutionName(ref.infrastructureId);
    if (!name) return [];
    const kept = this.lastLines.get(ref.infrastructureId);
    if (kept) return kept.slice(-Math.max(1, options.limit));
    return this.withApi(ref.credentials, (call) => this.readLastLines(call, name, options.limit));
  }

  /** A run whose job Cloud Run could not make ready: the job's terminal condition; the job is deleted once it failed. */
  private async jobOnlyStatus(call: Call, id: string, job: { project: string; region: string; job: string }, config: CloudRunJobConfiguration): Promise<InfrastructureStatus> {
    const ctx: GcpErrorContext = { project: job.project, region: job.region };
    let status: InfrastructureStatus;
    try {
      status = jobStatus(await this.send(call, { ...ctx, operation: "GetJob" }, () => call.api.getJob(id)));
    } catch (error) {
      if (!isFerryError(error, "provider_not_found")) throw error;
      return this.finals.get(id) ?? { phase: "missing", message: `Cloud Run has no job ${job.job} in ${job.region}` };
    }
    if (isFinalStatus(status) && !config.keep_job && !this.finals.has(id)) {
      this.finals.set(id, status);
      await this.deleteJob(call, id, ctx);
    }
    return status;
  }

  private readLastLines(call: Call, name: ExecutionName, limit: number): Promise<InfrastructureLogLine[]> {
    const ctx: GcpErrorContext = { project: name.project, region: name.region, operation: "ListLogEntries", secrets: call.secrets };
    const filter = [
      'resource.type="cloud_run_job"',
      `resource.labels.job_name="${name.job}"`,
      `resource.labels.location="${name.region}"`,
      `labels."run.googleapis.com/execution_name"="${name.execution}"`,
    ].join(" AND ");
    return finalLogLines((n) => this.send(call, ctx, () => call.api.listLogEntries(name.project, filter, n)), { limit, classify: (e) => classifyGcpError(e, ctx) });
  }

  /**
   * A run's end: unless `keep_job`, its job is deleted (with its execution). A failed run's last lines
   * are read first, so the server can copy them into the run's logs when it marks the run crashed.
   */
  private async finish(call: Call, name: ExecutionName, status: InfrastructureStatus, config: CloudRunJobConfiguration): Promise<void> {
    const id = `${jobNameOf(name)}/executions/${name.execution}`;
    if (config.keep_job || this.finals.has(id)) return;
    if (!(status.phase === "exited" && status.exitCode === 0)) {
      try {
        this.lastLines.set(id, await this.readLastLines(call, name, 50));
      } catch (error) {
        this.logger.warn({ err: error, execution: id }, "could not read the last log lines of a failed Cloud Run execution; its job is kept so they can be read later");
        return;
      }
    }
    this.finals.set(id, status);
    await this.deleteJob(call, jobNameOf(name), { project: name.project, region: name.region });
  }

  private async deleteJob(call: Call, job: string, ctx: GcpErrorContext): Promise<void> {
    try {
      await this.send(call, { ...ctx, operation: "DeleteJob" }, () => call.api.deleteJob(job));
    } catch (error) {
      if (isFerryError(error, "provider_not_found")) return;
      // The run's outcome is known either way; a job left behind costs nothing while it does not run.
      this.logger.warn({ err: error, job }, "could not delete the run's Cloud Run job; it is left in place (delete it, or set keep_job to keep jobs on purpose)");
    }
  }

  private async start(request: SubmitRequest): Promise<SubmitResult> {
    this.warnLoopbackApiUrl(request);
    this.poolCredentials(request.credentials, request.flowRun.work_pool);
    const config = parseCloudRunJobConfiguration(request.jobConfiguration);
    return this.withApi(request.credentials, async (apiCall) => {
      const call: Call = { ...apiCall, signal: request.signal };
      const project = await this.projectOf(config, call, request.flowRun.work_pool);
      const base: GcpErrorContext = { project, region: config.region, pool: request.flowRun.work_pool };
      await this.checkImage(config.image, PLATFORM, call);
      const jobId = jobIdFor(infrastructureNameFor(request.flowRun));
      const job = jobName(project, config.region, jobId);
      const built = buildCloudRunJob(config, { flowRunId: request.flowRun.id, deploymentId: request.deployment.id, pool: request.flowRun.work_pool });
      // A job this attempt made has no execution yet: RunJob needs no look first, until it fails.
      let fresh = true;
      try {
        await this.send(call, { ...base, operation: "CreateJob" }, () => call.api.createJob(locationName(project, config.region), jobId, built));
      } catch (error) {
        fresh = false;
        // An earlier attempt (this process before a failure, or a server before it stopped) made it; or
        // Cloud Run made it but cannot make it ready (its image is missing): the run then ends failed with
        // Cloud Run's reason, through the job's status.
        const name = gcpErrorName((error as { cause?: unknown }).cause);
        if (name === "FAILED_PRECONDITION" && (await this.jobFailed(call, job, base))) return { infrastructureId: job };
        if (name !== "ALREADY_EXISTS") throw error;
      }
      // Looking first and starting are retried together: a RunJob that failed after Cloud Run started the
      // execution (a 429, a dropped connection) is followed by a look that finds it.
      let execution: string | null;
      try {
        execution = await this.retrying(call, { ...base, operation: "RunJob" }, async () => {
          if (!fresh) {
            const existing = await this.firstExecution(call.api, job);
            if (existing) return existing;
          }
          fresh = false;
          return (await call.api.runJob(buildRunJobRequest(job, config, request.runtimeEnv))) ?? (await this.firstExecution(call.api, job));
        });
      } catch (error) {
        if (gcpErrorName((error as { cause?: unknown }).cause) === "FAILED_PRECONDITION" && (await this.jobFailed(call, job, base))) return { infrastructureId: job };
        throw error;
      }
      if (!execution) throw new FerryError("provider_error", `RunJob: Cloud Run started no execution of ${job} and gave no error`, { retryable: true });
      return { infrastructureId: execution };
    });
  }

  /** Whether the job exists and Cloud Run gave up making it ready (its terminal condition failed). */
  private async jobFailed(call: Call, job: string, ctx: GcpErrorContext): Promise<boolean> {
    try {
      return jobStatus(await this.send(call, { ...ctx, operation: "GetJob" }, () => call.api.getJob(job))).phase === "failed";
    } catch (error) {
      if (isFerryError(error, "provider_not_found")) return false;
      throw error;
    }
  }

  /** The run's execution, when one was started: the first made (a run's job has one). */
  private async firstExecution(api: CloudRunApi, job: string): Promise<string | null> {
    const list = await api.listExecutions(job);
    const created = (e: IExecution) => Number(e.createTime?.seconds ?? 0) * 1e9 + (e.createTime?.nanos ?? 0);
    const first = [...list].filter((e) => e.name).sort((a, b) => created(a) - created(b) || (a.name! < b.name! ? -1 : 1))[0];
    return first?.name ?? null;
  }

  /** The project: the job variable, else the key's project, else (ambient credentials) the environment's. */
  private async projectOf(config: CloudRunJobConfiguration, call: Call, pool: string): Promise<string> {
    const project = config.project ?? call.key?.project_id ?? (call.auth instanceof GoogleAuth ? await call.auth.getProjectId().catch(() => null) : null) ?? null;
    if (!project) {
      throw new FerryError("validation_failed", `no Google Cloud project for pool '${pool}': set the project job variable, or use a key whose file names its project_id`, { retryable: false });
    }
    return project;
  }

  /** `Basic` for Artifact Registry with an access token of the pool's identity; other registries are read anonymously. */
  private async registryAuthorization(registry: string, call: Call): Promise<string | undefined> {
    if (!isArtifactRegistryHost(registry)) return undefined;
    const scoped = call.key
      ? new JWT({ email: call.key.client_email, key: call.key.private_key, scopes: ["https://www.googleapis.com/auth/cloud-platform"] })
      : await new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getClient();
    const { token } = await scoped.getAccessToken();
    return token ? `Basic ${Buffer.from(`oauth2accesstoken:${token}`).toString("base64")}` : undefined;
  }

  /** One Google call: retried while classification says retrying helps, each failure classified with the pool's secrets kept out. */
  private send<T>(call: Call, context: GcpErrorContext, fn: () => Promise<T>): Promise<T> {
    return this.retrying(call, context, fn);
  }

  private retrying<T>(call: Call, context: GcpErrorContext, fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, {
      signal: call.signal,
      attempts: this.attempts,
      ...(this.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.retryBaseDelayMs }),
      classify: (e) => classifyGcpError(e, { ...context, secrets: call.secrets }),
    });
  }

  private poolCredentials(credentials: Record<string, string> | null, pool?: string): Record<string, string> | null {
    return poolCredentialsOrAmbient(credentials, { allowAmbient: this.allowAmbientCredentials, cloud: "Google Cloud", credentialsType: GCP_CREDENTIAL_TYPE.type, pool });
  }

  private async withApi<T>(credentials: Record<string, string> | null, fn: (call: Call) => Promise<T>): Promise<T> {
    const secrets = secretValues(GCP_CREDENTIAL_TYPE, credentials);
    try {
      this.poolCredentials(credentials);
      const key = credentials ? serviceAccountKeyFrom(credentials) : null;
      if (key) secrets.push(...keySecrets(key.private_key).filter((s) => !secrets.includes(s)));
      const { api, auth } = this.apiFor(key);
      return await fn({ api, auth, key, secrets });
    } catch (error) {
      // The last guard: nothing this provider throws carries the pool's key.
      throw withoutSecrets(error, secrets);
    }
  }

  /** The clients of a key, kept open: a gRPC channel per call would cost a TLS handshake per status poll. */
  private apiFor(key: ServiceAccountKey | null): { api: CloudRunApi; auth: RequestAuth } {
    const scope = key ? createHash("sha256").update(`${key.client_email}|${key.private_key_id ?? ""}|${key.private_key}`).digest("hex") : "ambient";
    const open = this.apis.get(scope);
    if (open) {
      this.apis.delete(scope);
      this.apis.set(scope, open);
      return open;
    }
    const auth: RequestAuth = key ? keyAuthClient(key) : new GoogleAuth();
    const made = { api: this.makeApi(this.options, auth), auth };
    this.apis.set(scope, made);
    while (this.apis.size > MAX_OPEN_CLIENTS) {
      const [oldest, value] = this.apis.entries().next().value as [string, { api: CloudRunApi }];
      this.apis.delete(oldest);
      void value.api.close();
    }
    return made;
  }

  /** Closes every open client (a server shutting down, a test's end). */
  async close(): Promise<void> {
    this.sweeper.stop();
    const open = [...this.apis.values()];
    this.apis.clear();
    await Promise.allSettled(open.map((o) => o.api.close()));
  }
}

/** A PEM key as it may show in a message: whole, trimmed, and its body without the armour lines. */
export function keySecrets(pem: string): string[] {
  const body = pem.replace(/-----(BEGIN|END)[^-]*-----/g, "").trim();
  return [...new Set([pem, pem.trim(), body].filter((s) => s.length >= 8))];
}
