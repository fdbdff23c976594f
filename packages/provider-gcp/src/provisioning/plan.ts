import type { ProvisionStep } from "@ferry/core";
import { credentialsName, imageNamespace, PROJECT_ROLES, REQUIRED_SERVICES, type ProvisioningNames } from "./names.js";
import { hasPoolLabel, repositoryHolders, repositoryMadeByFerry, serviceAccountHolders } from "./ownership.js";

/** Every step, in the order of creation (removal goes the other way). */
export const STEP_IDS = ["services", "service-account", "iam-roles", "key", "repository"] as const;
export type StepId = (typeof STEP_IDS)[number];

/** What provisioning found in the project: the input of the plan, read by Get and List calls only. */
export interface ObservedState {
  project: string;
  region: string;
  names: ProvisioningNames;
  /** The required APIs that are enabled. */
  enabledServices: string[];
  /** The APIs this run of provisioning enabled: the service account's description records them (ownership.ts). */
  enabledHere?: string[];
  serviceAccount: { email: string; description: string } | null;
  /** The project roles the service account holds (of PROJECT_ROLES). */
  rolesHeld: string[];
  repository: { name: string; labels: Record<string, string> } | null;
}

export interface PlannedStep extends ProvisionStep {
  id: StepId;
}

export function missingServices(state: Pick<ObservedState, "enabledServices">): string[] {
  return REQUIRED_SERVICES.filter((s) => !state.enabledServices.includes(s));
}

export function missingRoles(state: Pick<ObservedState, "rolesHeld">): string[] {
  return PROJECT_ROLES.filter((r) => !state.rolesHeld.includes(r));
}

/**
 * Every step of provisioning, in order, each `create` (something will be made, enabled or granted) or
 * `exists` (nothing to do). Pure: the same state always gives the same plan.
 */
export function planSteps(state: ObservedState, context: { poolName: string; hasCredentials: boolean }): PlannedStep[] {
  const { names, project, region } = state;
  const steps: PlannedStep[] = [];
  const add = (id: StepId, resource: string, name: string, exists: boolean, detail?: string) =>
    steps.push({ id, resource, name, action: exists ? "exists" : "create", ...(detail ? { detail } : {}) });
  const services = missingServices(state);
  add("services", "APIs", REQUIRED_SERVICES.join(", "), services.length === 0, services.length ? `enable ${services.join(", ")}` : "enabled");
  const sa = state.serviceAccount;
  const adoptAccount = accountToAdopt(state, context.poolName);
  add(
    "service-account",
    "service account",
    names.serviceAccount,
    sa !== null && !adoptAccount,
    adoptAccount ? `made by Ferry for pool ${quoted(adoptAccount)}: mark it as used by pool '${context.poolName}' too` : sa ? sa.email : `in project ${project}`,
  );
  const roles = missingRoles(state);
  add("iam-roles", "project roles", PROJECT_ROLES.join(", "), roles.length === 0, roles.length ? `grant ${roles.join(", ")} to ${names.serviceAccount}` : undefined);
  if (context.hasCredentials) add("key", "service account key", names.serviceAccount, true, "the pool has credentials: no new key");
  else add("key", "service account key", names.serviceAccount, false, `stored as credentials '${credentialsName(context.poolName)}'`);
  const adoptRepository = repositoryToAdopt(state, context.poolName);
  add(
    "repository",
    "Artifact Registry repository",
    names.repository,
    state.repository !== null && !adoptRepository,
    adoptRepository
      ? `made by Ferry for pool ${quoted(adoptRepository)}: mark it as used by pool '${context.poolName}' too`
      : state.repository
        ? imageNamespace(project, region, names.repository)
        : `docker images in ${region}`,
  );
  return steps;
}

/** The job-variable defaults a provisioned pool's template gets: where its jobs run. */
export function jobVariableDefaults(state: Pick<ObservedState, "project" | "region">): Record<string, unknown> {
  return { project: state.project, region: state.region };
}

const quoted = (pools: string[]) => pools.map((p) => `'${p}'`).join(", ");

/** The pools of a service account Ferry made for other pools, which this pool does not use yet (then it marks it); null otherwise. */
export function accountToAdopt(state: Pick<ObservedState, "serviceAccount">, poolName: string): string[] | null {
  const holders = serviceAccountHolders(state.serviceAccount?.description);
  return holders.length > 0 && !holders.includes(poolName) ? holders : null;
}

/** The pools of a repository Ferry made for other pools, which this pool does not use yet; null otherwise. */
export function repositoryToAdopt(state: Pick<ObservedState, "repository">, poolName: string): string[] | null {
  const repo = state.repository;
  return repo && repositoryMadeByFerry(repo.labels) && !hasPoolLabel(repo.labels, poolName) ? repositoryHolders(repo.labels) : null;
}
