import { ArmError } from "../arm-error.js";
import type { AsyncOperations } from "../async-operations.js";
import type { ArmState } from "../arm-state.js";
import type { ContainerGroupLifecycle } from "../container-groups.js";
import type { Directory } from "../directory.js";
import type { FaultInjector } from "../faults.js";

/** What every route module works on. */
export interface ServerContext {
  subscriptionId: string;
  tenantId: string;
  subscriptionName: string;
  arm: ArmState;
  directory: Directory;
  operations: AsyncOperations;
  containerGroups: ContainerGroupLifecycle;
  faults: FaultInjector;
  now: () => number;
}

export const RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}";

export function checkSubscription(context: ServerContext, subscriptionId: string): void {
  if (subscriptionId.toLowerCase() !== context.subscriptionId.toLowerCase()) {
    throw new ArmError(404, "SubscriptionNotFound", `The subscription '${subscriptionId}' could not be found.`);
  }
}

export function apiVersion(query: URLSearchParams): string {
  return query.get("api-version") ?? "2023-05-01";
}
