import { status as GrpcStatus } from "@grpc/grpc-js";

/** A gRPC status by its name, as Modal's API answers it (`RESOURCE_EXHAUSTED`, `UNAUTHENTICATED`, …). */
export type GrpcStatusName = Exclude<keyof typeof GrpcStatus, number>;

/** An error the next `times` calls of an RPC answer instead of (or, with `after`, after) doing their work. */
export interface Fault {
  /** The RPC's method name (`SandboxCreateV2`, `AppGetOrCreate`, …); `*` or absent: any. */
  rpc?: string;
  code: GrpcStatusName;
  /** Default: a message naming the fault as injected. */
  message?: string;
  /** How many calls it hits. Default 1. */
  times?: number;
  /** `true`: the call takes effect first (a sandbox is created…), then the error is answered, as when a reply is lost. */
  after?: boolean;
}

export interface PendingFault {
  rpc: string;
  code: GrpcStatusName;
  message: string;
  remaining: number;
  after: boolean;
}

export class FaultInjectionError extends Error {
  override readonly name = "FaultInjectionError";
  readonly code = "invalid_fault";
}

export function statusCode(name: GrpcStatusName): number {
  return GrpcStatus[name];
}

export function statusName(code: number): string {
  const found = (Object.keys(GrpcStatus) as string[]).find((key) => Number.isNaN(Number(key)) && (GrpcStatus as unknown as Record<string, number>)[key] === code);
  return found ?? String(code);
}

/** The faults waiting for their calls; a call takes the first one whose RPC matches and whose phase it reaches. */
export class FaultBook {
  private pending: PendingFault[] = [];

  add(fault: Fault): void {
    if (typeof (GrpcStatus as unknown as Record<string, unknown>)[fault.code] !== "number" || fault.code === "OK") {
      throw new FaultInjectionError(`a fault's code is a gRPC status name other than OK (RESOURCE_EXHAUSTED, UNAUTHENTICATED, UNAVAILABLE…), got "${String(fault.code)}"`);
    }
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new FaultInjectionError(`a fault's times is a whole number of 1 or more, got ${String(fault.times)}`);
    this.pending.push({
      rpc: fault.rpc ?? "*",
      code: fault.code,
      message: fault.message ?? `injected ${fault.code} fault on ${fault.rpc ?? "any RPC"}`,
      remaining: times,
      after: fault.after === true,
    });
  }

  /** The fault this call of `rpc` answers in this phase, counted as used; null when none. */
  take(rpc: string, phase: "before" | "after"): PendingFault | null {
    const index = this.pending.findIndex((f) => (f.rpc === "*" || f.rpc === rpc) && f.after === (phase === "after"));
    if (index < 0) return null;
    const fault = this.pending[index]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.pending.splice(index, 1);
    return { ...fault };
  }

  list(): PendingFault[] {
    return this.pending.map((f) => ({ ...f }));
  }

  clear(): void {
    this.pending = [];
  }
}
