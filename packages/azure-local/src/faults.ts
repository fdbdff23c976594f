import { ArmError } from "./arm-error.js";

/**
 * An error to answer instead of (or, with `after`, after) an operation, `times` times (default once).
 * Match by `operation` (an operation id such as `ContainerGroups_CreateOrUpdate`, `Token`,
 * `Applications_Create`) or by `method` and a `path` pattern (a regular expression's source).
 */
export interface Fault {
  operation?: string;
  method?: string;
  path?: string;
  /** Default 429. */
  status?: number;
  /** Default `TooManyRequests` for 429, else `InternalServerError`. */
  code?: string;
  message?: string;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  times?: number;
  /** Run the operation first (it takes effect), then answer the fault. */
  after?: boolean;
  /**
   * For a long-running PUT (`ContainerGroups_CreateOrUpdate`): answer 201 as usual, then end its
   * async operation Failed with `code` and `message` (e.g. `ServiceUnavailable` for no capacity in
   * the region), the group left with provisioningState Failed. `status` and `retryAfter` do not apply.
   */
  asynchronous?: boolean;
}

export class FaultInjector {
  private readonly pending: (Fault & { remaining: number })[] = [];

  add(fault: Fault): void {
    if (fault.operation === undefined && fault.path === undefined) throw new TypeError("a fault needs an operation or a path pattern");
    if (fault.path !== undefined) new RegExp(fault.path); // throws on a bad pattern now, not at match time
    this.pending.push({ ...fault, remaining: fault.times ?? 1 });
  }

  list(): Fault[] {
    return this.pending.map(({ remaining, ...fault }) => ({ ...fault, times: remaining }));
  }

  clear(): void {
    this.pending.length = 0;
  }

  /** The fault for this call and phase, if one matches; uses up one of its times. */
  take(phase: "before" | "after" | "asynchronous", operation: string, method: string, path: string): ArmError | null {
    const phaseOf = (f: Fault): string => (f.asynchronous === true ? "asynchronous" : f.after === true ? "after" : "before");
    const index = this.pending.findIndex(
      (f) =>
        phaseOf(f) === phase &&
        (f.operation === undefined || f.operation === operation) &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined || new RegExp(f.path, "i").test(path)),
    );
    if (index < 0) return null;
    const fault = this.pending[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(index, 1);
    const status = fault.status ?? 429;
    const code = fault.code ?? (status === 429 ? "TooManyRequests" : "InternalServerError");
    const message = fault.message ?? (status === 429 ? "The request is being throttled as the limit has been reached for operation type. Please retry after the time in the Retry-After header." : `Injected fault: ${code}`);
    return new ArmError(status, code, message, fault.retryAfter === undefined ? {} : { "Retry-After": String(fault.retryAfter) });
  }
}

/** One call the server received, for tests to assert on. */
export interface CallRecord {
  method: string;
  path: string;
  operation: string;
  /** The service principal's app (client) id; null when none signed in. */
  principal: string | null;
  /** Its display name. */
  principalName: string | null;
  status: number;
  /** The error code answered, if any. */
  error?: string;
  /** ISO 8601. */
  time: string;
}
