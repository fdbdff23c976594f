import { AwsError } from "./aws-error.js";

/** One operation the server received, for tests to assert on. */
export interface CallRecord {
  service: string;
  operation: string;
  region: string;
  accessKeyId: string | null;
  /** The IAM user the access key belongs to; null for the root key or an unknown key. */
  userName: string | null;
  /** ISO 8601. */
  time: string;
  /** HTTP status of the answer. */
  status: number;
  /** The error code answered, if any. */
  error?: string;
  /** For S3: the path (`/bucket/key`), so a test can tell which object was read. */
  resource?: string;
}

/** An error to answer instead of running the operation, `times` times (default once). */
export interface Fault {
  /** The SigV4 signing name: `ecs`, `ecr`, `logs`, `iam`, `sts`, `ec2`. */
  service: string;
  /** An operation name such as `RegisterTaskDefinition`; absent or `*`: every operation of the service. */
  operation?: string;
  code: string;
  message?: string;
  /** Default 400. */
  status?: number;
  times?: number;
}

export class FaultInjector {
  private readonly pending: (Fault & { remaining: number })[] = [];

  add(fault: Fault): void {
    if (typeof fault.service !== "string" || typeof fault.code !== "string") throw new TypeError("a fault needs a service and a code");
    this.pending.push({ ...fault, remaining: fault.times ?? 1 });
  }

  list(): Fault[] {
    return this.pending.map(({ remaining, ...fault }) => ({ ...fault, times: remaining }));
  }

  clear(): void {
    this.pending.length = 0;
  }

  /** The error for this call, if a fault matches; uses up one of its times. */
  take(service: string, operation: string): AwsError | null {
    const index = this.pending.findIndex((f) => f.service === service && (f.operation === undefined || f.operation === "*" || f.operation === operation));
    if (index < 0) return null;
    const fault = this.pending[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(index, 1);
    return new AwsError(fault.code, fault.message ?? `Injected fault: ${fault.code}`, fault.status ?? 400);
  }
}
