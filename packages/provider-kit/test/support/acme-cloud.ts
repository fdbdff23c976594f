import { FerryError, plainField, secretField, type BaseJobTemplate, type ComputeProvider, type CredentialType, type InfrastructureLogLine, type InfrastructureRef, type InfrastructureStatus, type SubmitRequest, type SubmitResult } from "@ferry/core";
import {
  defineErrorClassifier,
  finalLogLines,
  HTTP_STATUS_RULES,
  idempotentSubmit,
  secretValues,
  silentLogger,
  withRetries,
  type ClassifyContext,
  type ProviderLogger,
} from "../../src/index.js";

/**
 * "Acme", a made-up cloud, in memory: its start call is not idempotent (two calls, two jobs), it
 * throttles on demand, checks a key pair, and runs scripted jobs. AcmeProvider is a provider written on
 * the kit as a real one would be; `bugs` break it on purpose, to show the conformance suite catches each.
 */
export interface AcmeJob {
  id: string;
  labels: Record<string, string>;
  status: InfrastructureStatus;
  logs: InfrastructureLogLine[];
  timers: NodeJS.Timeout[];
}

export interface AcmeKey {
  id: string;
  secret: string;
}

const acmeError = (name: string, status: number, message: string) => Object.assign(new Error(message), { name, status });

export class AcmeCloud {
  readonly jobs = new Map<string, AcmeJob>();
  readonly keys = new Map<string, string>();
  private throttled = 0;
  private refusedStops = 0;
  private counter = 0;

  constructor(key: AcmeKey) {
    this.keys.set(key.id, key.secret);
  }

  /** The next `calls` calls answer 429 SlowDown. */
  throttle(calls: number): void {
    this.throttled = calls;
  }

  /** The next `calls` stop requests answer 403 StopDenied. */
  refuseStops(calls: number): void {
    this.refusedStops = calls;
  }

  startJob(key: AcmeKey, spec: { image: string; outcome: string; zone: string; labels: Record<string, string> }): { id: string } {
    this.gate(key);
    if (spec.zone === "nowhere") throw acmeError("NoSuchZone", 404, `zone ${spec.zone} does not exist`);
    const job: AcmeJob = { id: `job-${++this.counter}`, labels: { ...spec.labels }, status: { phase: "pending" }, logs: [], timers: [] };
    this.jobs.set(job.id, job);
    const at = (ms: number, status: InfrastructureStatus, line?: string) =>
      job.timers.push(
        setTimeout(() => {
          job.status = status;
          if (line) job.logs.push({ timestamp: new Date().toISOString(), message: line });
        }, ms),
      );
    if (spec.image.startsWith("missing/")) {
      at(2, { phase: "failed", message: `the image ${spec.image} was not found in its registry` });
      return { id: job.id };
    }
    at(2, { phase: "running" }, "started");
    if (spec.outcome === "complete") at(8, { phase: "exited", exitCode: 0 }, "done");
    if (spec.outcome === "exit-3") at(8, { phase: "exited", exitCode: 3 }, "bad day");
    return { id: job.id };
  }

  getJob(key: AcmeKey, id: string): AcmeJob {
    this.gate(key);
    const job = this.jobs.get(id);
    if (!job) throw acmeError("NoSuchJob", 404, `job ${id} does not exist`);
    return job;
  }

  listJobs(key: AcmeKey, label: string, value: string): string[] {
    this.gate(key);
    return [...this.jobs.values()].filter((j) => j.labels[label] === value).map((j) => j.id);
  }

  stopJob(key: AcmeKey, id: string): void {
    const job = this.getJob(key, id);
    if (this.refusedStops > 0) {
      this.refusedStops--;
      throw acmeError("StopDenied", 403, `the key ${key.id} may not stop job ${id}`);
    }
    if (job.status.phase === "exited" || job.status.phase === "failed") return;
    for (const t of job.timers) clearTimeout(t);
    job.timers.push(setTimeout(() => void (job.status = { phase: "exited", exitCode: 143, message: "stopped" }), 2));
  }

  readLogs(key: AcmeKey, id: string, limit: number): InfrastructureLogLine[] {
    const job = this.getJob(key, id);
    if (!job.logs.length) throw acmeError("NoSuchLogStream", 404, `job ${id} has no logs yet`);
    return job.logs.slice(-limit);
  }

  dispose(): void {
    for (const job of this.jobs.values()) for (const t of job.timers) clearTimeout(t);
  }

  private gate(key: AcmeKey): void {
    if (this.throttled > 0) {
      this.throttled--;
      throw acmeError("SlowDown", 429, "request rate exceeded");
    }
    if (this.keys.get(key.id) !== key.secret) throw acmeError("BadKey", 401, `the key ${key.id} with secret ${key.secret} is not valid`);
  }
}

export const KEYPAIR: CredentialType = {
  type: "keypair",
  description: "An Acme key pair",
  schema: { type: "object", required: ["key_id", "key_secret"], properties: { key_id: plainField("Key id"), key_secret: secretField("Key secret") } },
};

const TEMPLATE: BaseJobTemplate = {
  variables: {
    type: "object",
    properties: {
      image: { type: "string", default: "acme/engine:1", description: "Image" },
      outcome: { type: "string", enum: ["complete", "exit-3", "hang"], default: "complete", description: "What the job does" },
      zone: { type: "string", default: "z1", description: "Where it runs" },
    },
  },
  job_configuration: { image: "{{ image }}", outcome: "{{ outcome }}", zone: "{{ zone }}" },
};

interface AcmeContext extends ClassifyContext {
  zone?: string;
}

/** The one table of Acme's failures. */
export const classifyAcmeError = defineErrorClassifier<AcmeContext>({
  cloud: "Acme",
  detailsKey: "acme_error",
  throttled: { names: ["SlowDown"], ...HTTP_STATUS_RULES.throttled },
  unauthenticated: { names: ["BadKey"], statuses: [401] },
  denied: HTTP_STATUS_RULES.denied,
  notFound: { names: ["NoSuchJob", "NoSuchLogStream"] },
  special: [{ names: ["NoSuchZone"], kind: "not_found", message: (_f, ctx) => `the zone '${ctx.zone ?? "?"}' does not exist: set the zone job variable` }],
  messages: { unauthenticated: (f) => `Acme did not accept the pool's key pair (${f.message}); update the pool's keypair credentials` },
});

export type AcmeBug = "double-start" | "leak-secret" | "log-secret" | "exit-zero" | "no-retry-class" | "cancel-swallows";

export class AcmeProvider implements ComputeProvider {
  readonly type = "acme:push";
  readonly description = "Runs each flow run as an Acme job";
  readonly credentialsType = "keypair";
  readonly defaultBaseJobTemplate = TEMPLATE;
  readonly submit: (request: SubmitRequest) => Promise<SubmitResult>;

  constructor(
    private readonly cloud: AcmeCloud,
    private readonly options: { logger?: ProviderLogger; bugs?: AcmeBug[] } = {},
  ) {
    const start = (r: SubmitRequest) => this.start(r);
    this.submit = this.bug("double-start") ? start : idempotentSubmit({ start, find: (r) => this.find(r) });
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    try {
      const status = (await this.call(ref.credentials, {}, (key) => this.cloud.getJob(key, ref.infrastructureId))).status;
      return this.bug("exit-zero") && status.phase === "exited" ? { phase: "exited", exitCode: 0 } : status;
    } catch (error) {
      if ((error as FerryError).code === "provider_not_found") return { phase: "missing", message: (error as Error).message };
      throw error;
    }
  }

  async cancel(ref: InfrastructureRef): Promise<void> {
    const stop = this.call(ref.credentials, {}, (key) => this.cloud.stopJob(key, ref.infrastructureId));
    // The bug the server once had: a failed stop logged and forgotten, the run recorded as cancelled.
    await (this.bug("cancel-swallows") ? stop.catch(() => undefined) : stop);
  }

  logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    return finalLogLines((limit) => this.call(ref.credentials, {}, (key) => this.cloud.readLogs(key, ref.infrastructureId, limit)), { limit: options.limit, classify: (e) => classifyAcmeError(e) });
  }

  private async start(request: SubmitRequest): Promise<SubmitResult> {
    const config = request.jobConfiguration as { image: string; outcome: string; zone: string };
    (this.options.logger ?? silentLogger).debug({ key_id: request.credentials?.key_id, ...(this.bug("log-secret") ? { credentials: request.credentials } : {}) }, "starting an Acme job");
    const { id } = await this.call(request.credentials, { zone: config.zone, operation: "StartJob" }, (key) =>
      this.cloud.startJob(key, { ...config, labels: { "ferry-key": request.idempotencyKey } }),
    );
    return { infrastructureId: id };
  }

  private async find(request: SubmitRequest): Promise<SubmitResult | null> {
    const [id] = await this.call(request.credentials, { operation: "ListJobs" }, (key) => this.cloud.listJobs(key, "ferry-key", request.idempotencyKey));
    return id ? { infrastructureId: id } : null;
  }

  /** One Acme call: retried while retryable, classified, with the key pair's secret kept out. */
  private call<T>(credentials: Record<string, string> | null, context: AcmeContext, fn: (key: AcmeKey) => T): Promise<T> {
    const key = { id: credentials?.key_id ?? "", secret: credentials?.key_secret ?? "" };
    const secrets = this.bug("leak-secret") ? [] : secretValues(KEYPAIR, credentials);
    const classify = this.bug("no-retry-class") ? (e: unknown) => new FerryError("provider_error", String((e as Error).message), { retryable: false }) : (e: unknown) => classifyAcmeError(e, { ...context, secrets });
    return withRetries(async () => fn(key), { attempts: 3, baseDelayMs: 1, classify });
  }

  private bug(bug: AcmeBug): boolean {
    return this.options.bugs?.includes(bug) ?? false;
  }
}
