import type { GcpLocal } from "./gcp-local-server.js";
import type { ExecutionFailure, Fault } from "./test-hooks.js";

/**
 * The HTTP test hooks (`/__gcp-local/<path>`) of a server started by the CLI, for a test that cannot call
 * the programmatic API; undefined for an unknown hook.
 */
export function answerHook(local: GcpLocal, route: string, body: unknown): unknown {
  switch (route) {
    case "GET calls":
      return local.calls();
    case "DELETE calls":
      local.clearCalls();
      return {};
    case "GET faults":
      return local.faults();
    case "POST faults":
      for (const fault of ([] as Fault[]).concat(body as Fault)) local.injectFault(fault);
      return local.faults();
    case "DELETE faults":
      local.clearFaults();
      return {};
    case "POST execution-failures":
      for (const failure of ([] as ExecutionFailure[]).concat(body as ExecutionFailure)) local.injectExecutionFailure(failure);
      return {};
    case "GET snapshot":
      return local.snapshot();
    case "POST secrets":
      for (const [name, value] of Object.entries((body ?? {}) as Record<string, string>)) local.setSecret(name, value);
      return {};
    case "POST service-account-keys":
      return local.serviceAccountKey((body as { email?: string } | undefined)?.email);
    case "GET health":
      return { ok: true, runtimeUnavailable: local.runtimeUnavailable };
    default:
      return undefined;
  }
}
