import { randomUUID } from "node:crypto";
import { status as Status } from "@grpc/grpc-js";
import type { ContainerRuntime } from "@ferry/local-containers";
import { GrpcError, alreadyExists, failedPrecondition, invalidArgument, notFound } from "./grpc-error.js";
import type { CallContext, Request, ServiceMethods } from "./grpc-services.js";
import type { ExecutionRunner } from "./execution-runner.js";
import type { OperationStore } from "./operations.js";
import type { GoogleProtos } from "./protos.js";
import { RESOURCE_ID, executionId, parseExecutionName, parseJobName, parseLocation, parseTaskName, type LocationName } from "./run-names.js";
import { condition, conditionOf, setCondition, type Message, type RunState } from "./run-state.js";
import { page } from "./paging.js";
import type { SecretValues } from "./secrets.js";
import { validateJobTemplate, validateLabels, validateOverrides } from "./validation.js";
import { timestamp, timestampMs } from "./time.js";

const JOB = "google.cloud.run.v2.Job";
const EXECUTION = "google.cloud.run.v2.Execution";
const TERMINAL_STATES: Record<string, string> = { CONDITION_SUCCEEDED: "EXECUTION_SUCCEEDED", CONDITION_FAILED: "EXECUTION_FAILED" };

export interface RunServiceOptions {
  state: RunState;
  operations: OperationStore;
  protos: GoogleProtos;
  runner: ExecutionRunner;
  runtime: ContainerRuntime | null;
  secrets: SecretValues;
  /** Refuses a call on a project other than the local one, when run.googleapis.com is disabled, or without a Cloud Run role. */
  checkProject: (location: LocationName, context: CallContext) => void;
  /** Refuses a job that runs as a service account (Cloud Run's default one when none) the caller may not act as. */
  checkActAs: (serviceAccount: string | undefined, context: CallContext) => void;
  now: () => number;
}

function shortId(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

function jobNotFound(name: string): GrpcError {
  const { job, location, project } = parseJobName(name);
  return notFound(`Resource '${job}' of kind 'JOB' in region '${location}' in project '${project}' does not exist.`);
}

function executionNotFound(name: string): GrpcError {
  const { execution, location, project } = parseExecutionName(name);
  return notFound(`Resource '${execution}' of kind 'EXECUTION' in region '${location}' in project '${project}' does not exist.`);
}

/** The ExecutionReference a job shows for its newest execution. */
function executionReference(execution: Message): Message {
  const completed = conditionOf(execution, "Completed");
  let completionStatus = execution.startTime === undefined ? "EXECUTION_PENDING" : "EXECUTION_RUNNING";
  if (execution.completionTime !== undefined) completionStatus = completed?.executionReason === "CANCELLED" ? "EXECUTION_CANCELLED" : (TERMINAL_STATES[completed?.state as string] ?? "EXECUTION_FAILED");
  const reference: Message = { name: execution.name, createTime: execution.createTime, completionStatus };
  if (execution.completionTime !== undefined) reference.completionTime = execution.completionTime;
  return reference;
}

/** The execution's template: the job's task template with the RunJob overrides applied (env by name, args, timeout). */
export function applyOverrides(template: Message, overrides: Message | undefined): Message {
  const result: Message = structuredClone(template);
  if (overrides === undefined) return result;
  for (const override of (overrides.containerOverrides as Message[] | undefined) ?? []) {
    const containers = (result.containers as Message[] | undefined) ?? [];
    const target = override.name ? containers.find((c) => c.name === override.name) : containers[0];
    if (target === undefined) throw invalidArgument(`overrides.container_overrides names container '${override.name as string}', which the job does not have.`);
    if (override.clearArgs === true) target.args = [];
    if ((override.args as string[] | undefined)?.length) target.args = override.args;
    for (const variable of (override.env as Message[] | undefined) ?? []) {
      const env: Message[] = (target.env as Message[] | undefined) ?? [];
      const index = env.findIndex((e) => e.name === variable.name);
      if (index >= 0) env[index] = variable;
      else env.push(variable);
      target.env = env;
    }
  }
  if (overrides.timeout !== undefined) result.timeout = overrides.timeout;
  return result;
}

/** A job's template with Cloud Run's defaults filled in (1 task, 3 retries, 600 s, 1 CPU and 512 MiB). */
export function withJobDefaults(template: Message | undefined): Message {
  if (template?.template?.containers === undefined || template.template.containers.length === 0) throw invalidArgument("job.template.template.containers: a job needs one container.");
  const result: Message = structuredClone(template);
  result.taskCount ??= 1;
  const task = result.template as Message;
  if (task.retries === undefined && task.maxRetries === undefined) task.maxRetries = 3;
  task.timeout ??= { seconds: "600" };
  task.executionEnvironment ??= "EXECUTION_ENVIRONMENT_GEN2";
  for (const container of task.containers as Message[]) {
    if (typeof container.image !== "string" || container.image === "") throw invalidArgument("job.template.template.containers[0].image: the container needs an image.");
    container.resources ??= {};
    container.resources.limits = { cpu: "1000m", memory: "512Mi", ...(container.resources.limits ?? {}) };
  }
  return result;
}

/** google.cloud.run.v2.Jobs, Executions and Tasks over the local state. */
export function runServices(options: RunServiceOptions): { jobs: ServiceMethods; executions: ServiceMethods; tasks: ServiceMethods; executionEnded: (execution: Message) => void } {
  const { state, operations, protos, runner, now } = options;
  const packJob = (job: Message) => protos.packAny(JOB, job);
  const packExecution = (execution: Message) => protos.packAny(EXECUTION, execution);
  const runOperations = new Map<string, string>();

  function getJob(name: string, context: CallContext): Message {
    options.checkProject(parseJobName(name), context);
    const job = state.jobs.get(name);
    if (job === undefined) throw jobNotFound(name);
    return job;
  }

  function getExecution(name: string, context: CallContext): Message {
    options.checkProject(parseExecutionName(name), context);
    const execution = state.executions.get(name);
    if (execution === undefined) throw executionNotFound(name);
    return execution;
  }

  function startExecution(job: Message, id: string, overrides: Message | undefined, principal: string): Message {
    const name = `${job.name as string}/executions/${id}`;
    if (state.executions.has(name)) throw alreadyExists(`Resource '${id}' already exists.`);
    const created = now();
    const template = job.template as Message;
    // An override's task_count of 0 (proto3's unset) keeps the job's.
    const taskCount = Number(overrides?.taskCount || template.taskCount || 1);
    const taskTemplate = applyOverrides(template.template as Message, overrides);
    const execution: Message = {
      name,
      uid: randomUUID(),
      generation: "1",
      labels: { ...(template.labels ?? {}) },
      annotations: { ...(template.annotations ?? {}) },
      createTime: timestamp(created),
      updateTime: timestamp(created),
      launchStage: "GA",
      job: shortId(job.name as string),
      parallelism: Number(template.parallelism ?? 0),
      taskCount,
      template: taskTemplate,
      reconciling: true,
      conditions: [],
      observedGeneration: "1",
      runningCount: 0,
      succeededCount: 0,
      failedCount: 0,
      cancelledCount: 0,
      retriedCount: 0,
      logUri: `https://console.cloud.google.com/logs/viewer?project=${parseJobName(job.name as string).project}&resource=cloud_run_job/job_name/${shortId(job.name as string)}`,
      etag: `"${randomUUID()}"`,
      creator: principal,
    };
    for (const type of ["Completed", "ResourcesAvailable", "Started"]) setCondition(execution, condition(type, "CONDITION_PENDING", created));
    state.executions.set(name, execution);
    for (let index = 0; index < taskCount; index += 1) {
      const taskName = `${name}/tasks/${id}-task${index}`;
      state.tasks.set(taskName, {
        name: taskName,
        uid: randomUUID(),
        generation: "1",
        labels: { ...execution.labels },
        createTime: timestamp(created),
        updateTime: timestamp(created),
        job: execution.job,
        execution: id,
        containers: taskTemplate.containers,
        volumes: taskTemplate.volumes ?? [],
        maxRetries: Number(taskTemplate.maxRetries ?? 0),
        timeout: taskTemplate.timeout,
        serviceAccount: taskTemplate.serviceAccount ?? "",
        executionEnvironment: taskTemplate.executionEnvironment,
        reconciling: false,
        conditions: [condition("Completed", "CONDITION_PENDING", created)],
        observedGeneration: "1",
        index,
        retried: 0,
        etag: `"${randomUUID()}"`,
      });
    }
    job.executionCount = Number(job.executionCount ?? 0) + 1;
    job.latestCreatedExecution = executionReference(execution);
    const operation = operations.start(parseJobName(job.name as string).parent, () => {
      const current = state.executions.get(name);
      return current === undefined ? undefined : packExecution(current);
    });
    runOperations.set(name, operation);
    runner.start(execution);
    return execution;
  }

  /** Called by the runner when an execution has ended: the job's reference and RunJob's operation follow. */
  function executionEnded(execution: Message): void {
    const name = execution.name as string;
    const job = state.jobs.get(parseExecutionName(name).jobName);
    if (job !== undefined && job.latestCreatedExecution?.name === name) job.latestCreatedExecution = executionReference(execution);
    const operation = runOperations.get(name);
    if (operation === undefined) return;
    const completed = conditionOf(execution, "Completed");
    if (completed?.state === "CONDITION_SUCCEEDED") operations.succeed(operation, packExecution(execution));
    else operations.fail(operation, completed?.executionReason === "CANCELLED" ? Status.CANCELLED : Status.FAILED_PRECONDITION, (completed?.message as string | undefined) ?? "The execution failed.");
  }

  /** Why Cloud Run would not make the job ready: its image is not there, or a secret its env names is not. */
  async function whyNotReady(template: Message): Promise<{ reason: string; message: string } | null> {
    for (const [index, container] of (template.containers as Message[]).entries()) {
      const image = container.image as string;
      if (options.runtime !== null && !(await options.runtime.hasImage(image))) return { reason: "CONTAINER_MISSING", message: `Image '${image}' not found.` };
      const secret = options.secrets.missing(container, index);
      if (secret !== null) return { reason: "SECRETS_ACCESS_CHECK_FAILED", message: secret };
    }
    return null;
  }

  const jobs: ServiceMethods = {
    CreateJob: async (request: Request, context) => {
      const location = parseLocation(request.parent);
      options.checkProject(location, context);
      const jobId = request.jobId as string;
      if (!RESOURCE_ID.test(jobId ?? "")) throw invalidArgument(`Invalid job id '${jobId ?? ""}': use at most 63 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen.`);
      const name = `${request.parent as string}/jobs/${jobId}`;
      if (state.jobs.has(name)) throw alreadyExists(`Resource '${jobId}' already exists.`);
      options.checkActAs(request.job?.template?.template?.serviceAccount || undefined, context);
      const token = (request.job?.startExecutionToken ?? request.job?.runExecutionToken) as string | undefined;
      if (token !== undefined && `${jobId}-${token}`.length > 63) throw invalidArgument(`The job name and execution token together must be under 63 characters: '${jobId}-${token}'.`);
      validateLabels(request.job?.labels, "job.labels");
      const template = withJobDefaults(request.job?.template);
      validateJobTemplate(template);
      const created = now();
      const job: Message = {
        ...structuredClone(request.job ?? {}),
        name,
        uid: randomUUID(),
        generation: "1",
        createTime: timestamp(created),
        updateTime: timestamp(created),
        creator: context.principal,
        lastModifier: context.principal,
        launchStage: request.job?.launchStage ?? "GA",
        template,
        observedGeneration: "1",
        conditions: [],
        executionCount: 0,
        reconciling: false,
        etag: `"${randomUUID()}"`,
      };
      delete job.createExecution;
      const notReady = await whyNotReady(job.template.template as Message);
      job.terminalCondition = notReady === null ? condition("Ready", "CONDITION_SUCCEEDED", created) : condition("Ready", "CONDITION_FAILED", created, notReady);
      if (request.validateOnly === true) {
        const operation = operations.start(request.parent, () => packJob(job));
        operations.succeed(operation, packJob(job));
        return operations.get(operation);
      }
      state.jobs.set(name, job);
      const operation = operations.start(request.parent, () => packJob(state.jobs.get(name) ?? job));
      if (notReady !== null) {
        operations.fail(operation, Status.FAILED_PRECONDITION, notReady.message);
      } else {
        if (token !== undefined) startExecution(job, `${jobId}-${token}`, undefined, context.principal);
        operations.succeed(operation, packJob(job));
      }
      return operations.get(operation);
    },
    GetJob: async (request, context) => getJob(request.name, context),
    ListJobs: async (request, context) => {
      options.checkProject(parseLocation(request.parent), context);
      const { items, nextPageToken } = page([...state.jobs.values()].filter((job) => (job.name as string).startsWith(`${request.parent as string}/jobs/`)), request);
      return { jobs: items, nextPageToken };
    },
    DeleteJob: async (request, context) => {
      const job = getJob(request.name, context);
      if (request.etag && request.etag !== job.etag) throw new GrpcError(Status.ABORTED, `The etag '${request.etag as string}' does not match the job's.`);
      const operation = operations.start(parseJobName(request.name).parent, () => packJob(job));
      if (request.validateOnly !== true) {
        state.jobs.delete(request.name);
        const executions = state.executionsOf(request.name);
        for (const execution of executions) state.forgetExecution(execution.name as string);
        await Promise.all(executions.map((execution) => runner.discard(execution.name as string)));
        job.deleteTime = timestamp(now());
      }
      operations.succeed(operation, packJob(job));
      return operations.get(operation);
    },
    RunJob: async (request, context) => {
      const job = getJob(request.name, context);
      if (request.etag && request.etag !== job.etag) throw new GrpcError(Status.ABORTED, `The etag '${request.etag as string}' does not match the job's.`);
      if (job.terminalCondition?.state === "CONDITION_FAILED") throw failedPrecondition(`Job '${shortId(job.name as string)}' is not ready: ${job.terminalCondition.message as string}`);
      if (request.validateOnly === true) throw invalidArgument("gcp-local does not validate RunJob without running it.");
      validateOverrides(request.overrides);
      const execution = startExecution(job, executionId(shortId(job.name as string)), request.overrides, context.principal);
      return operations.get(runOperations.get(execution.name as string)!);
    },
  };

  const executions: ServiceMethods = {
    GetExecution: async (request, context) => getExecution(request.name, context),
    ListExecutions: async (request, context) => {
      const parent = request.parent as string;
      if (parent.endsWith("/jobs/-")) options.checkProject(parseJobName(parent), context);
      else getJob(parent, context);
      const prefix = parent.endsWith("/jobs/-") ? parent.slice(0, -1) : `${parent}/executions/`;
      // Newest first; the later made of two in one millisecond first too.
      const found = [...state.executions.values()].filter((e) => (e.name as string).startsWith(prefix)).reverse().sort((a, b) => (timestampMs(b.createTime) ?? 0) - (timestampMs(a.createTime) ?? 0));
      const { items, nextPageToken } = page(found, request);
      return { executions: items, nextPageToken };
    },
    CancelExecution: async (request, context) => {
      const execution = getExecution(request.name, context);
      const operation = operations.start(parseExecutionName(request.name).parent, () => packExecution(execution));
      if (execution.completionTime !== undefined) {
        operations.succeed(operation, packExecution(execution));
      } else {
        void runner.cancel(request.name).then(() => operations.succeed(operation, packExecution(execution)));
      }
      return operations.get(operation);
    },
    DeleteExecution: async (request, context) => {
      const execution = getExecution(request.name, context);
      const operation = operations.start(parseExecutionName(request.name).parent, () => packExecution(execution));
      state.forgetExecution(request.name);
      await runner.discard(request.name);
      execution.deleteTime = timestamp(now());
      operations.succeed(operation, packExecution(execution));
      return operations.get(operation);
    },
  };

  const tasks: ServiceMethods = {
    GetTask: async (request, context) => {
      const { executionName } = parseTaskName(request.name);
      getExecution(executionName, context);
      const task = state.tasks.get(request.name);
      if (task === undefined) throw notFound(`Resource '${shortId(request.name)}' of kind 'TASK' does not exist.`);
      return task;
    },
    ListTasks: async (request, context) => {
      getExecution(request.parent, context);
      const { items, nextPageToken } = page(state.tasksOf(request.parent), request);
      return { tasks: items, nextPageToken };
    },
  };

  return { jobs, executions, tasks, executionEnded };
}
