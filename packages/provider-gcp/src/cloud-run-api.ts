import type { InfrastructureLogLine } from "@ferry/core";
import { ExecutionsClient, JobsClient, TasksClient, type protos } from "@google-cloud/run";
import { v2 as logging } from "@google-cloud/logging";
import { createBackoffSettings, type CallOptions, type ClientOptions } from "google-gax";
import { clientSettings, type RequestAuth } from "./auth.js";
import type { GcpPluginOptions } from "./options.js";

type IJob = protos.google.cloud.run.v2.IJob;
type IExecution = protos.google.cloud.run.v2.IExecution;
type ITask = protos.google.cloud.run.v2.ITask;
type IRunJobRequest = protos.google.cloud.run.v2.IRunJobRequest;

/**
 * The Cloud Run and Cloud Logging calls the provider makes, one method each: a narrow interface, so
 * the provider's rules are unit-tested with a hand-written fake and the official clients sit in
 * `sdkCloudRunApi` alone. Failures are the clients' own errors (classified by the provider).
 */
export interface CloudRunApi {
  /** CreateJob, waiting for its operation (a job runs only once it is ready). */
  createJob(parent: string, jobId: string, job: IJob): Promise<void>;
  getJob(name: string): Promise<IJob>;
  /** DeleteJob; its executions go with it. */
  deleteJob(name: string): Promise<void>;
  /** RunJob: the new execution's name, from the operation's metadata (null when Cloud Run has not said yet). */
  runJob(request: IRunJobRequest): Promise<string | null>;
  listExecutions(jobName: string): Promise<IExecution[]>;
  getExecution(name: string): Promise<IExecution>;
  cancelExecution(name: string): Promise<void>;
  listTasks(executionName: string): Promise<ITask[]>;
  /** The newest `limit` log lines of an execution's container, oldest first. */
  listLogEntries(project: string, filter: string, limit: number): Promise<InfrastructureLogLine[]>;
  close(): Promise<void>;
}

export type CloudRunApiFactory = (options: GcpPluginOptions, auth: RequestAuth) => CloudRunApi;

/** One try per call (the kit's withRetries is the one retry policy); a deadline so a dead endpoint cannot hang a run. */
const ONCE: CallOptions = { retry: null, timeout: 60_000 };
/** Polling a job's creation: soon at first (Cloud Run makes a job in about a second), for up to two minutes. */
const LRO_POLL: CallOptions = { ...ONCE, longrunning: createBackoffSettings(100, 1.5, 2_000, null, null, null, 120_000) };

function timestampOf(t: { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined): string {
  if (!t) return new Date(0).toISOString();
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

interface LogEntry {
  timestamp?: { seconds?: number | string | null; nanos?: number | null } | null;
  textPayload?: string | null;
  jsonPayload?: unknown;
}

interface LoggingClient {
  listLogEntries(request: Record<string, unknown>, options: CallOptions): Promise<[LogEntry[], ...unknown[]]>;
  close(): Promise<void>;
}

/** The official clients (`@google-cloud/run` v2, `@google-cloud/logging` v2) behind CloudRunApi. */
export const sdkCloudRunApi: CloudRunApiFactory = (options, auth) => {
  const settings = clientSettings(options, auth);
  const jobs = new JobsClient(settings);
  const executions = new ExecutionsClient(settings);
  const tasks = new TasksClient(settings);
  let logs: LoggingClient | undefined;
  const logClient = () => (logs ??= new (logging as { LoggingServiceV2Client: new (s: ClientOptions) => LoggingClient }).LoggingServiceV2Client(settings));
  return {
    async createJob(parent, jobId, job) {
      const [operation] = await jobs.createJob({ parent, jobId, job }, LRO_POLL);
      await operation.promise();
    },
    async getJob(name) {
      const [job] = await jobs.getJob({ name }, ONCE);
      return job;
    },
    async deleteJob(name) {
      await jobs.deleteJob({ name }, ONCE);
    },
    async runJob(request) {
      const [operation] = await jobs.runJob(request, ONCE);
      const metadata = operation.metadata as IExecution | null | undefined;
      return metadata?.name ?? null;
    },
    async listExecutions(jobName) {
      const [list] = await executions.listExecutions({ parent: jobName, pageSize: 100 }, { ...ONCE, autoPaginate: false });
      return list;
    },
    async getExecution(name) {
      const [execution] = await executions.getExecution({ name }, ONCE);
      return execution;
    },
    async cancelExecution(name) {
      await executions.cancelExecution({ name }, ONCE);
    },
    async listTasks(executionName) {
      const [list] = await tasks.listTasks({ parent: executionName, pageSize: 100 }, { ...ONCE, autoPaginate: false });
      return list;
    },
    async listLogEntries(project, filter, limit) {
      const [entries] = await logClient().listLogEntries(
        { resourceNames: [`projects/${project}`], filter, orderBy: "timestamp desc", pageSize: limit },
        { ...ONCE, autoPaginate: false },
      );
      // Asked newest first (to get the last ones); lines of one millisecond keep their order only as listed.
      return entries
        .map((e) => ({
          timestamp: timestampOf(e.timestamp),
          message: e.textPayload ?? (e.jsonPayload === undefined || e.jsonPayload === null ? "" : JSON.stringify(e.jsonPayload)),
        }))
        .reverse();
    },
    async close() {
      await Promise.allSettled([jobs.close(), executions.close(), tasks.close(), ...(logs ? [logs.close()] : [])]);
    },
  };
};
