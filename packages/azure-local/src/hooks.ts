import { HOOKS_PREFIX } from "./hooks-prefix.js";
import type { CallRecord, Fault, FaultInjector } from "./faults.js";
import type { RouteResponse } from "./router.js";
import type { AzureLocalSnapshot } from "./snapshot.js";

export interface HookTargets {
  calls: CallRecord[];
  faults: FaultInjector;
  snapshot: () => AzureLocalSnapshot;
  runtimeUnavailable: string | null;
}

/** The test hooks under `/__azure-local/` (no token): calls, faults, snapshot, health. */
export function createHooks(targets: HookTargets): (path: string, method: string, body: string) => RouteResponse {
  const { calls, faults } = targets;
  return (path, method, body) => {
    try {
      switch (`${method} ${path}`) {
        case "GET calls":
          return { status: 200, body: { calls } };
        case "DELETE calls":
          calls.length = 0;
          return { status: 200, body: { calls } };
        case "GET faults":
          return { status: 200, body: { faults: faults.list() } };
        case "POST faults": {
          const value: unknown = body === "" ? {} : JSON.parse(body);
          for (const fault of Array.isArray(value) ? value : [value]) faults.add(fault as Fault);
          return { status: 200, body: { faults: faults.list() } };
        }
        case "DELETE faults":
          faults.clear();
          return { status: 200, body: { faults: [] } };
        case "GET snapshot":
          return { status: 200, body: targets.snapshot() };
        case "GET health":
          return { status: 200, body: { ok: true, runtimeUnavailable: targets.runtimeUnavailable } };
        default:
          return { status: 404, body: { error: `no hook ${method} ${HOOKS_PREFIX}${path}; see the README of @ferry/azure-local` } };
      }
    } catch (error) {
      return { status: 400, body: { error: (error as Error).message } };
    }
  };
}
