import { labelValue } from "../job-builder.js";

/**
 * How provisioning marks what it made for a pool, so removal deletes only that. Repositories carry
 * labels: `ferry-pool=<pool>` and `managed-by=ferry`. Service accounts carry no labels in Google
 * Cloud, so their description holds the mark, `ferry:pool=<pool>`, and the APIs provisioning enabled
 * just before it made the account (`ferry:enabled=run.googleapis.com,…`): APIs carry no mark of their
 * own, and removal turns off only what this pool's provisioning turned on. (A run interrupted between
 * enabling the APIs and making the account cannot record them: a resumed run finds them on, and
 * removal then leaves them on.)
 */
export const POOL_LABEL = "ferry-pool";
export const MANAGED_BY_LABEL = "managed-by";

export function poolLabels(poolName: string): Record<string, string> {
  return { [POOL_LABEL]: labelValue(poolName), [MANAGED_BY_LABEL]: "ferry" };
}

export function hasPoolLabel(labels: Record<string, string> | null | undefined, poolName: string): boolean {
  return (labels ?? {})[POOL_LABEL] === labelValue(poolName);
}

const MARK = /ferry:pool=(\S+)/;
const ENABLED = /ferry:enabled=(\S+)/;

/** The description of a service account provisioning makes for a pool (at most 256 characters). */
export function serviceAccountDescription(poolName: string, enables: readonly string[]): string {
  const enabled = enables.length ? ` ferry:enabled=${enables.join(",")}` : "";
  return `Submits Ferry's cloud-run:push runs. ferry:pool=${encodeURIComponent(poolName)}${enabled}`.slice(0, 256);
}

/** The pool a service account's description marks as its maker, or null. */
export function markedPool(description: string | null | undefined): string | null {
  const m = MARK.exec(description ?? "");
  return m ? decodeURIComponent(m[1]!) : null;
}

/** The APIs the marked pool's provisioning enabled (and its removal turns off again). */
export function markedServices(description: string | null | undefined): string[] {
  const m = ENABLED.exec(description ?? "");
  return m ? m[1]!.split(",").filter(Boolean) : [];
}

export function poolTagText(poolName: string): string {
  return `${POOL_LABEL}=${labelValue(poolName)}`;
}
