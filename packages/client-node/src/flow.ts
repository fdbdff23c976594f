import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  defaultFlowName,
  FerryClient,
  FerryError,
  hasEmbeddedSecret,
  isFerryError,
  isTerminal,
  parseEntrypoint,
  type DeploymentApply,
  type DeploymentApplyResult,
  type DeploymentSource,
  type FlowRun,
  type ScheduleCreate,
} from "@ferry/core";
import { applyDeployments, checkDeployments, deploymentLabel } from "./deploy.js";
import { withParameterSchemas, type RepositoryReader } from "./parameter-schemas.js";
import { ferryHome, readProfiles, resolveSettings, type GlobalOptions } from "./profiles.js";

/**
 * Deploying and running from code, as Prefect's `flow.from_source(...).deploy(...)` and
 * `run_deployment(...)`: the same checks and request as `ferry deploy` (checkDeployments,
 * applyDeployments, withParameterSchemas) and `ferry deployment run`, for a script.
 */

export interface ConnectOptions extends GlobalOptions {
  /** Where FERRY_API_URL, FERRY_API_KEY, FERRY_PROFILE and FERRY_HOME are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A client for the server of the CLI's settings: options, then FERRY_API_URL / FERRY_API_KEY /
 * FERRY_PROFILE, then the active profile of `$FERRY_HOME/profiles.json` (resolveSettings).
 */
export async function connect(options: ConnectOptions = {}): Promise<FerryClient> {
  // A user's deploy script is the edge where its configuration is read.
  const env = options.env ?? process.env;
  const home = ferryHome(env);
  const settings = resolveSettings(options, env, await readProfiles(join(home, "profiles.json")), home);
  if (!settings.apiUrl) {
    throw new FerryError("validation_failed", "the Ferry API URL is not set; set FERRY_API_URL (and FERRY_API_KEY), pass apiUrl, or save a profile with 'ferry profile set NAME --api-url URL --api-key-stdin'");
  }
  return new FerryClient({ apiUrl: settings.apiUrl, ...(settings.apiKey ? { apiKey: settings.apiKey } : {}), userAgent: "ferry-client-node" });
}

export interface FlowSourceOptions {
  /** A git URL (`https://…`, `file:///…`), or the source with its branch, commit and the name of stored git credentials. */
  source: string | DeploymentSource;
  /** `path/to/file.py:function` or `path/to/file.ts:function`, relative to the repository's root. */
  entrypoint: string;
}

export interface FlowDeployOptions {
  name: string;
  workPoolName: string;
  jobVariables?: Record<string, unknown>;
  parameters?: Record<string, unknown>;
  /** Cron strings or schedule objects (`{ cron, timezone }`, `{ interval }`, `{ rrule }`). */
  schedules?: (string | ScheduleCreate)[];
  /** Default: the entrypoint's function name, `_` as `-` (as `ferry deploy` names it). */
  flowName?: string;
  tags?: string[];
  description?: string;
  paused?: boolean;
  /** Default: read from the flow's signature in the source, as `ferry deploy` does; `null` for none. */
  parameterSchema?: Record<string, unknown> | null;
  /** Default: `connect()`. */
  client?: FerryClient;
  /** Told what could not be read for the parameter schema (default: nothing is said). */
  onNote?: (note: string) => void;
}

export interface SourcedFlow {
  readonly source: DeploymentSource;
  readonly entrypoint: string;
  /** Creates or updates the deployment; the same content twice is `unchanged`. */
  deploy(options: FlowDeployOptions): Promise<DeploymentApplyResult>;
}

export const flow = {
  /** The flow `entrypoint` of the repository `source`, ready to deploy. */
  fromSource(options: FlowSourceOptions): SourcedFlow {
    const source: DeploymentSource = typeof options.source === "string" ? { git_url: options.source } : { ...options.source };
    if (hasEmbeddedSecret(source.git_url)) {
      throw new FerryError("validation_failed", "the source's git URL contains a password or token; store it with 'ferry credentials create NAME --type git' and pass source: { git_url, credentials: 'NAME' }");
    }
    parseEntrypoint(options.entrypoint);
    return {
      source,
      entrypoint: options.entrypoint,
      deploy: (deployOptions) => deployFlow(source, options.entrypoint, deployOptions),
    };
  },
};

async function deployFlow(source: DeploymentSource, entrypoint: string, options: FlowDeployOptions): Promise<DeploymentApplyResult> {
  const client = options.client ?? (await connect());
  let deployment: DeploymentApply = {
    flow_name: options.flowName ?? defaultFlowName(entrypoint),
    name: options.name,
    work_pool: options.workPoolName,
    source,
    entrypoint,
    ...(options.jobVariables ? { job_variables: options.jobVariables } : {}),
    ...(options.parameters ? { parameters: options.parameters } : {}),
    ...(options.schedules ? { schedules: options.schedules.map((s) => (typeof s === "string" ? { cron: s } : s)) } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.paused !== undefined ? { paused: options.paused } : {}),
    ...(options.parameterSchema !== undefined ? { parameter_schema: options.parameterSchema } : {}),
  };
  if (options.parameterSchema === undefined) {
    const reader = await sourceReader(source).catch((error: unknown) => {
      options.onNote?.(`${deploymentLabel(deployment)}: the flow's file could not be read (${(error as Error).message}); it gets no parameter schema`);
      return null;
    });
    if (reader) {
      try {
        const schemas = await withParameterSchemas([deployment], reader.read);
        deployment = schemas.deployments[0]!;
        for (const note of schemas.notes) options.onNote?.(note);
      } finally {
        await reader.close();
      }
    }
  }
  await checkDeployments(client, [deployment]);
  const [result] = await applyDeployments(client, [deployment]);
  return result!;
}

/** Reads files of the source at its commit or branch: from the repository itself for `file://`, else from a shallow clone. */
async function sourceReader(source: DeploymentSource): Promise<{ read: RepositoryReader; close: () => Promise<void> }> {
  let dir: string;
  let rev = source.commit ?? source.branch ?? "HEAD";
  let close = async () => {};
  if (source.git_url.startsWith("file://")) dir = fileURLToPath(source.git_url);
  else {
    dir = await mkdtemp(join(tmpdir(), "ferry-source-"));
    close = () => rm(dir, { recursive: true, force: true });
    try {
      await git(["clone", "--quiet", "--depth", "1", "--no-tags", ...(source.branch && !source.commit ? ["--branch", source.branch] : []), source.git_url, dir], tmpdir());
      if (source.commit) await git(["fetch", "--quiet", "--depth", "1", "origin", source.commit], dir);
      else rev = "HEAD";
    } catch (error) {
      await close();
      throw error;
    }
  }
  const read: RepositoryReader = async (path) => {
    try {
      return await git(["show", `${rev}:${path}`], dir);
    } catch {
      return null;
    }
  };
  return { read, close };
}

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, timeout: 120_000, windowsHide: true, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr.trim().split("\n").pop() || error.message));
      else resolve(stdout);
    });
  });
}

export interface RunDeploymentOptions {
  parameters?: Record<string, unknown>;
  jobVariables?: Record<string, unknown>;
  /** The same key within 24 hours returns the run it made (`created: false`) instead of starting another. */
  idempotencyKey?: string;
  tags?: string[];
  /** Wait until the run is final (default true). */
  wait?: boolean;
  /** With `wait`: give up after this long with a {@link FlowRunTimeoutError} (the run goes on). Default: no limit. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  client?: FerryClient;
}

/** `wait` ran out of time; `flowRun` is the run as last read. */
export class FlowRunTimeoutError extends FerryError {
  constructor(
    message: string,
    readonly flowRun: FlowRun,
  ) {
    // request_timeout: waiting longer (the run goes on) may still see it end.
    super("request_timeout", message, { details: { flow_run_id: flowRun.id } });
  }
}

/** Runs a deployment (`FLOW/NAME` or its id) and, by default, waits for the run's final state. */
export async function runDeployment(nameOrId: string, options: RunDeploymentOptions = {}): Promise<{ flowRun: FlowRun; created: boolean }> {
  const client = options.client ?? (await connect());
  const deployment = await client.resolveDeployment(nameOrId);
  const result = await client.api.createFlowRun({
    params: { id: deployment.id },
    body: {
      ...(options.parameters ? { parameters: options.parameters } : {}),
      ...(options.jobVariables ? { job_variables: options.jobVariables } : {}),
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.idempotencyKey !== undefined ? { idempotency_key: options.idempotencyKey } : {}),
    },
  });
  let run = result.flow_run;
  if (options.wait === false) return { flowRun: run, created: result.created };
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const interval = options.pollIntervalMs ?? 1000;
  while (!isTerminal(run.state.type)) {
    if (Date.now() >= deadline) {
      throw new FlowRunTimeoutError(
        `flow run '${run.name}' (${run.id}) of ${deploymentLabel(deployment)} is still ${run.state.type} after ${options.timeoutMs! / 1000} s; follow it with 'ferry flow-run logs ${run.id} --follow'`,
        run,
      );
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(interval, deadline - Date.now()))));
    try {
      run = await client.api.getFlowRun({ params: { id: run.id } });
    } catch (error) {
      // A restarting server is waited out like a slow run; anything else is the caller's to see.
      if (!isFerryError(error) || !error.retryable) throw error;
    }
  }
  return { flowRun: run, created: result.created };
}
