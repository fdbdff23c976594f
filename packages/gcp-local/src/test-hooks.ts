import { type status as Status } from "@grpc/grpc-js";
import { GrpcError, codeName, grpcCodeOf } from "./grpc-error.js";

/** One call the server received, for tests to assert on. */
export interface CallRecord {
  /** The gRPC service's short name (`Jobs`, `Executions`, `Operations`, `ServiceUsage`, ...) or `iam` / `oauth2` for REST. */
  service: string;
  /** The method: `RunJob`, `CreateServiceAccountKey`, `token`, ... */
  method: string;
  /** The account whose key authorized the call; null when none was accepted. */
  principal: string | null;
  /** google.rpc.Code's name of the answer: `OK`, `NOT_FOUND`, `RESOURCE_EXHAUSTED`, ... */
  status: string;
  /** The resource the request named (`name`, `parent`, `resource`), when it did. */
  resource?: string;
  /** ISO 8601. */
  time: string;
}

/** An error to answer instead of (or, with `after`, after) running a method, `times` times (default once). */
export interface Fault {
  /** The service's short name (`Jobs`) or full name (`google.cloud.run.v2.Jobs`); `iam` for the REST IAM API. */
  service: string;
  /** A method name such as `RunJob`; absent or `*`: every method of the service. */
  method?: string;
  /** A gRPC status (number below 100 or a name such as `RESOURCE_EXHAUSTED`) or an HTTP status (429, 500, 503). */
  code: number | string;
  message?: string;
  times?: number;
  /** Run the method first (e.g. RunJob starts its execution) and answer the error instead of its result. */
  after?: boolean;
}

interface PendingFault {
  service: string;
  method: string | undefined;
  code: Status;
  message: string | undefined;
  after: boolean;
  remaining: number;
}

function shortName(service: string): string {
  return service.slice(service.lastIndexOf(".") + 1);
}

export class FaultInjector {
  private readonly pending: PendingFault[] = [];

  add(fault: Fault): void {
    if (typeof fault.service !== "string" || fault.code === undefined) throw new TypeError("a fault needs a service and a code");
    this.pending.push({ service: shortName(fault.service), method: fault.method, code: grpcCodeOf(fault.code), message: fault.message, after: fault.after === true, remaining: fault.times ?? 1 });
  }

  list(): Fault[] {
    return this.pending.map((fault) => ({ service: fault.service, method: fault.method, code: codeName(fault.code), message: fault.message, after: fault.after, times: fault.remaining }));
  }

  clear(): void {
    this.pending.length = 0;
  }

  /** The error for this call, if a fault matches when (`after` or not); uses up one of its times. */
  take(service: string, method: string, after: boolean): GrpcError | null {
    const name = shortName(service);
    const index = this.pending.findIndex((f) => f.service === name && f.after === after && (f.method === undefined || f.method === "*" || f.method === method));
    if (index < 0) return null;
    const fault = this.pending[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(index, 1);
    return new GrpcError(fault.code, fault.message ?? `Injected fault: ${codeName(fault.code)} on ${name}.${method}`);
  }
}

export class CallLog {
  private readonly records: CallRecord[] = [];
  record(call: Omit<CallRecord, "time">): void {
    this.records.push({ ...call, time: new Date().toISOString() });
  }
  list(): CallRecord[] {
    return this.records.map((record) => ({ ...record }));
  }
  clear(): void {
    this.records.length = 0;
  }
}

/**
 * A failure of the next executions (of one job, or any) to get their resources, as Cloud Run reports
 * one: ResourcesAvailable and Completed FAILED with the reason and message, no container started.
 */
export interface ExecutionFailure {
  /** google.cloud.run.v2.Condition.CommonReason, e.g. `CONTAINER_PERMISSION_DENIED`; absent: none. */
  reason?: string;
  message: string;
  /** The job's id; absent: any job. */
  job?: string;
  times?: number;
}

export class ExecutionFailures {
  private readonly pending: (ExecutionFailure & { remaining: number })[] = [];

  add(failure: ExecutionFailure): void {
    if (typeof failure.message !== "string" || failure.message === "") throw new TypeError("an execution failure needs the message Cloud Run would give");
    this.pending.push({ ...failure, remaining: failure.times ?? 1 });
  }

  clear(): void {
    this.pending.length = 0;
  }

  /** The failure for an execution of this job, if one is pending; uses up one of its times. */
  take(job: string): { reason?: string; message: string } | null {
    const index = this.pending.findIndex((f) => f.job === undefined || f.job === job);
    if (index < 0) return null;
    const failure = this.pending[index]!;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.pending.splice(index, 1);
    return failure.reason === undefined ? { message: failure.message } : { reason: failure.reason, message: failure.message };
  }
}
