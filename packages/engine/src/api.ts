import { FerryClient, isFerryError, type Deployment, type FlowRun, type SetState } from "@ferry/core";
import { EngineError } from "./errors.js";
import type { LogEntry } from "./log-shipper.js";

/** Where the run's code is, with the git token when the source has credentials. */
export interface RunSource {
  git_url: string;
  branch: string | null;
  commit: string | null;
  username: string | null;
  token: string | null;
  /** For a blob source: the provider module that reads it, and the credentials it names. */
  blob?: { module: string; credentials: Record<string, string> | null; secret_fields: string[] } | null;
}

/**
 * The five calls a run token allows, for this run only. The engine depends on this, not on the
 * client, so its logic is tested against a small fake.
 */
export interface EngineApi {
  getFlowRun(): Promise<FlowRun>;
  getDeployment(id: string): Promise<Deployment>;
  getSource(): Promise<RunSource>;
  /** The run's env references to variables and secrets, resolved, with the values to mask. */
  getEnv(): Promise<{ env: Record<string, string>; masked: string[] }>;
  setState(state: SetState): Promise<FlowRun>;
  /** One attempt: the log shipper decides whether and when to try again. */
  writeLogs(logs: LogEntry[]): Promise<void>;
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Calls `fn` again after retryable failures (server unreachable, 503), with exponential backoff. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 4000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const retryable = isFerryError(error) ? error.retryable : false;
      if (!retryable || attempt >= attempts) throw error;
      await sleep(Math.min(max, base * 2 ** (attempt - 1)));
    }
  }
}

export function ferryEngineApi(options: { apiUrl: string; runToken: string; flowRunId: string; engineVersion: string; retry?: RetryOptions }): EngineApi {
  const client = new FerryClient({ apiUrl: options.apiUrl, apiKey: options.runToken, userAgent: `ferry-engine/${options.engineVersion}` });
  const id = options.flowRunId;
  const retry = <T>(fn: () => Promise<T>) => withRetry(fn, options.retry);
  return {
    getFlowRun: () => retry(() => client.api.getFlowRun({ params: { id } })),
    getDeployment: (deploymentId) => retry(() => client.api.getDeployment({ params: { id: deploymentId } })),
    getSource: () => retry(() => client.api.getFlowRunSource({ params: { id } })),
    getEnv: () => retry(() => client.api.getFlowRunEnv({ params: { id } })),
    setState: (state) => retry(() => client.api.setFlowRunState({ params: { id }, body: state })),
    writeLogs: async (logs) => {
      await client.api.writeFlowRunLogs({ params: { id }, body: { logs } });
    },
  };
}

/**
 * Trades the run's single-use bootstrap token for its run token, which from then on lives only in the
 * engine's memory. Retried like every call while the server is unreachable; if an answer is lost after
 * the server took the token, the retry is refused as a second exchange and the run crashes from the
 * engine's exit, which is the safe side.
 */
export async function exchangeBootstrapToken(options: {
  apiUrl: string;
  bootstrapToken: string;
  flowRunId: string;
  engineVersion: string;
  retry?: RetryOptions;
}): Promise<string> {
  const client = new FerryClient({ apiUrl: options.apiUrl, userAgent: `ferry-engine/${options.engineVersion}` });
  const answer = await withRetry(() => client.api.exchangeRunBootstrapToken({ body: { bootstrap_token: options.bootstrapToken } }), options.retry);
  if (answer.flow_run_id !== options.flowRunId) {
    throw new EngineError("invalid_config", `the bootstrap token is for flow run ${answer.flow_run_id}, not ${options.flowRunId} (FERRY_FLOW_RUN_ID)`);
  }
  return answer.run_token;
}
