import {
  FerryError,
  isFerryError,
  type ComputeProvider,
  type InfrastructureLogLine,
  type InfrastructureRef,
  type InfrastructureStatus,
  type SubmitRequest,
  type SubmitResult,
  infrastructureNameFor,
} from "@ferry/core";
import {
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
import type { ModalClient, Sandbox } from "modal";
import { MODAL_CREDENTIAL_TYPE, modalTokenFrom } from "./credentials.js";
import { classifyModalError, type ModalErrorContext } from "./errors.js";
import { cachedClients, sdkClients, type ModalClientFactory } from "./modal-clients.js";
import { MODAL_BASE_JOB_TEMPLATE, parseModalJobConfiguration, type ModalJobConfiguration } from "./modal-template.js";
import { buildSandboxSpec, imageCommands } from "./sandbox-request.js";
import { sandboxStatus } from "./sandbox-status.js";

export interface ModalProviderOptions {
  /** Where Modal's API is (a local stand-in); unset: the SDK's own setting, else Modal. */
  serverUrl?: string;
  /** Attempts per Modal call (the kit's retries); default 3. */
  attempts?: number;
  /** Backoff before a call's second attempt, doubled for the next (with jitter); default 200 ms. */
  retryBaseDelayMs?: number;
  /** How SDK clients are made; default the official SDK's, one per token and environment. */
  clients?: ModalClientFactory;
  logger?: ProviderLogger;
  /** How long `logs` reads a sandbox's output before it gives what it has; default 10 s. */
  logReadTimeoutMs?: number;
  /**
   * Whether a pool without credentials runs with the SDK's own token (the server's ~/.modal.toml or
   * MODAL_TOKEN_ID/SECRET): the plugin context's `allowAmbientCredentials`. Default false.
   */
  allowAmbientCredentials?: boolean;
}

const MAX_REMEMBERED = 5000;

interface Call {
  client: ModalClient;
  secrets: string[];
  signal?: AbortSignal | undefined;
}

/**
 * `modal:push`: each flow run is one Modal sandbox running Ferry's engine, in an app got or created by
 * name, from a registry image with the run's packages as a cached layer. The sandbox is named from the
 * run: names are unique per app, so a resubmission (after a restart, or a create whose answer was lost)
 * is refused with AlreadyExists and finds the first sandbox by name. The run's token reaches the
 * sandbox in an ephemeral Modal secret, never in the command line, the tags or `env`. Before creating,
 * a submission looks the name up with the app's ended sandboxes too, so a run whose first sandbox ended
 * before a restarted server resubmitted it is not started twice.
 */
export class ModalProvider implements ComputeProvider {
  readonly type = "modal:push";
  readonly description = "Runs each flow run as a Modal sandbox";
  readonly credentialsType = MODAL_CREDENTIAL_TYPE.type;
  readonly defaultBaseJobTemplate = MODAL_BASE_JOB_TEMPLATE;
  readonly submit: (request: SubmitRequest) => Promise<SubmitResult>;

  private readonly attempts: number;
  private readonly retryBaseDelayMs: number | undefined;
  private readonly makeClient: ModalClientFactory;
  private readonly logger: ProviderLogger;
  private readonly logReadTimeoutMs: number;
  private readonly allowAmbientCredentials: boolean;
  private readonly warnLoopbackApiUrl: (request: SubmitRequest) => void;

  constructor(options: ModalProviderOptions = {}) {
    this.attempts = options.attempts ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs;
    this.logger = options.logger ?? silentLogger;
    // The SDK's own warnings go to the server's log, not to its stderr.
    this.makeClient = cachedClients(options.clients ?? sdkClients(options.serverUrl, this.logger));
    this.logReadTimeoutMs = options.logReadTimeoutMs ?? 10_000;
    this.allowAmbientCredentials = options.allowAmbientCredentials ?? false;
    this.warnLoopbackApiUrl = loopbackApiUrlWarning(this.logger, "Modal");
    this.submit = idempotentSubmit({ start: (request) => this.startSandbox(request), maxRemembered: MAX_REMEMBERED });
  }

  async status(ref: InfrastructureRef): Promise<InfrastructureStatus> {
    const config = parseModalJobConfiguration(ref.jobConfiguration);
    return this.withClient(ref.credentials, config, undefined, async (call) => {
      try {
        // The SDK's poll() folds a sandbox that never started into exit code 0; the wait answer it reads
        // says how the sandbox ended, so the same RPC is read here through the SDK's own client.
        const out = await this.send(call, { operation: "SandboxWait" }, () => waitAnswer(call.client, ref.infrastructureId));
        return sandboxStatus(out.result, config.timeout);
      } catch (error) {
        if (isFerryError(error, "provider_not_found")) return { phase: "missing", message: `Modal has no sandbox ${ref.infrastructureId}` };
        throw error;
      }
    });
  }

  async cancel(ref: InfrastructureRef, _reason: string): Promise<void> {
    const config = parseModalJobConfiguration(ref.jobConfiguration);
    await this.withClient(ref.credentials, config, undefined, async (call) => {
      const sandbox = await call.client.sandboxes.fromId(ref.infrastructureId);
      try {
        // Terminating an ended sandbox succeeds, so a second cancel is harmless. Any other refusal
        // rejects: the server keeps the run CANCELLING and asks again; it records CANCELLED only once
        // Modal reports the sandbox ended.
        await this.send(call, { operation: "SandboxTerminate" }, () => sandbox.terminate());
      } catch (error) {
        // No such sandbox: nothing runs that could be stopped.
        if (!isFerryError(error, "provider_not_found")) throw error;
      }
    });
  }

  /** The sandbox's stdout and stderr, for a run whose engine could not ship them itself (a crash). */
  async logs(ref: InfrastructureRef, options: { limit: number }): Promise<InfrastructureLogLine[]> {
    const config = parseModalJobConfiguration(ref.jobConfiguration);
    return this.withClient(ref.credentials, config, undefined, async (call) => {
      const sandbox = await call.client.sandboxes.fromId(ref.infrastructureId);
      return finalLogLines(
        async () => {
          const at = new Date().toISOString();
          const [out, err] = await Promise.all([this.readStream(sandbox, "stdout"), this.readStream(sandbox, "stderr")]);
          return [...out, ...err].map((message) => ({ timestamp: at, message }));
        },
        { limit: options.limit, classify: (e) => classifyModalError(e, { operation: "SandboxGetLogs", secrets: call.secrets }) },
      );
    });
  }

  private async readStream(sandbox: Sandbox, which: "stdout" | "stderr"): Promise<string[]> {
    const stream = sandbox[which];
    const reader = stream.getReader();
    const chunks: string[] = [];
    const timer = setTimeout(() => void reader.cancel().catch(() => undefined), this.logReadTimeoutMs);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } finally {
      clearTimeout(timer);
      reader.releaseLock();
    }
    return chunks.join("").split(/\r?\n/).filter((line) => line.trim() !== "");
  }

  private async startSandbox(request: SubmitRequest): Promise<SubmitResult> {
    const config = parseModalJobConfiguration(request.jobConfiguration);
    this.warnLoopbackApiUrl(request);
    const spec = buildSandboxSpec(config, {
      flowRunId: request.flowRun.id,
      name: infrastructureNameFor(request.flowRun),
      pool: request.flowRun.work_pool,
      deploymentId: request.deployment.id,
    });
    const layer = imageCommands(config);
    const ctx: ModalErrorContext = { app: config.app_name, pool: request.flowRun.work_pool, image: config.image, ...(config.environment ? { environment: config.environment } : {}) };
    return this.withClient(request.credentials, config, request.flowRun.work_pool, async (call) => {
      call.signal = request.signal;
      const { client } = call;
      const env = config.environment ?? undefined;
      const app = await this.send(call, { ...ctx, operation: "apps.fromName" }, () => client.apps.fromName(config.app_name, { createIfMissing: true, ...(env ? { environment: env } : {}) }));
      const image = client.images.fromRegistry(config.image).dockerfileCommands(layer);
      const named = await Promise.all(config.secrets.map((name) => this.send(call, { ...ctx, operation: "secrets.fromName" }, () => client.secrets.fromName(name, env ? { environment: env } : {}))));
      // An earlier submission of this run (a server killed before it recorded the answer) may have made
      // the sandbox, which may even have ended since, freeing its name: follow that one, start none.
      const earlier = await this.earlierSandbox(call, ctx, config.app_name, spec.name, env);
      if (earlier) {
        this.logger.debug({ flow_run_id: request.flowRun.id, sandbox_id: earlier }, "the run's sandbox was made by an earlier submission; following it");
        return { infrastructureId: earlier };
      }
      const create = async () => {
        // A new ephemeral secret per attempt: the SDK hydrates it once and keeps its id.
        const runSecret = await client.secrets.fromObject(request.runtimeEnv, env ? { environment: env } : {});
        return client.sandboxes.create(app, image, { ...spec, secrets: [runSecret, ...named] });
      };
      try {
        const sandbox = await this.send(call, { ...ctx, operation: "sandboxes.create" }, create);
        return { infrastructureId: sandbox.sandboxId };
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        // An earlier attempt (this process's, or a server's before a restart) made it: that sandbox is the run's.
        const found = await this.send(call, { ...ctx, operation: "sandboxes.fromName" }, () => client.sandboxes.fromName(config.app_name, spec.name, env ? { environment: env } : {}));
        this.logger.debug({ flow_run_id: request.flowRun.id, sandbox_id: found.sandboxId }, "the run's sandbox was already created by an earlier submission; following it");
        return { infrastructureId: found.sandboxId };
      }
    });
  }

  /** The sandbox of this name in the app, running or ended (Modal keeps a name's latest), or null. */
  private async earlierSandbox(call: Call, ctx: ModalErrorContext, appName: string, name: string, environment: string | undefined): Promise<string | null> {
    try {
      const found = await this.send(call, { ...ctx, operation: "sandboxes.fromName" }, () =>
        call.client.sandboxes.fromName(appName, name, { includeTerminated: true, ...(environment ? { environment } : {}) }),
      );
      return found.sandboxId;
    } catch (error) {
      if (isFerryError(error, "provider_not_found")) return null;
      throw error;
    }
  }

  /** One Modal call: retried while classification says retrying helps, classified with the pool's secrets kept out. */
  private send<T>(call: Call, context: ModalErrorContext, fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, {
      signal: call.signal,
      attempts: this.attempts,
      ...(this.retryBaseDelayMs === undefined ? {} : { baseDelayMs: this.retryBaseDelayMs }),
      classify: (e) => classifyModalError(e, { ...context, secrets: call.secrets }),
    });
  }

  private async withClient<T>(credentials: Record<string, string> | null, config: ModalJobConfiguration, pool: string | undefined, fn: (call: Call) => Promise<T>): Promise<T> {
    const secrets = secretValues(MODAL_CREDENTIAL_TYPE, credentials);
    try {
      poolCredentialsOrAmbient(credentials, { allowAmbient: this.allowAmbientCredentials, cloud: "Modal", credentialsType: MODAL_CREDENTIAL_TYPE.type, pool });
      const token = modalTokenFrom(credentials);
      if (credentials && !token) throw new FerryError("provider_auth", "the pool's modal credentials lack token_id or token_secret: store a whole token ('ferry work-pool provision-infra POOL')", { retryable: false });
      const client = this.makeClient({ token, environment: config.environment });
      return await fn({ client, secrets });
    } catch (error) {
      // The last guard: nothing this provider throws carries the pool's secret.
      throw withoutSecrets(classifyModalError(error, { secrets, ...(pool ? { pool } : {}) }), secrets);
    }
  }
}

/** Modal's first sandboxes have ids `sb-` + 22 characters; the SDK routes every other id to the V2 RPCs, and so does this. */
export function isV1SandboxId(id: string): boolean {
  return /^sb-[0-9A-Za-z]{22}$/.test(id);
}

/** SandboxWait without waiting (what `Sandbox.poll()` sends), answered with Modal's whole result. */
function waitAnswer(client: ModalClient, sandboxId: string) {
  const request = { sandboxId, timeout: 0 };
  return isV1SandboxId(sandboxId) ? client.cpClient.sandboxWait(request) : client.cpClient.sandboxWaitV2(request);
}

function isAlreadyExists(error: unknown): boolean {
  const name = isFerryError(error) ? (error.details as { modal_error?: string } | undefined)?.modal_error : undefined;
  return name === "AlreadyExistsError" || name === "ALREADY_EXISTS";
}
