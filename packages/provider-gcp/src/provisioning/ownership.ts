import { FerryError } from "@ferry/core";
import { labelValue } from "../job-builder.js";

/**
 * How provisioning marks what it made for a pool, so removal deletes only that, and only once no other
 * pool uses it. Repositories carry labels: `ferry-pool=<pool>` (the pool whose provisioning made it),
 * `managed-by=ferry`, and `ferry-uses-<pool>=true` for each later pool whose provisioning found it.
 * Service accounts carry no labels in Google Cloud, so their description holds the marks: one
 * `ferry:pool=<pool>` per pool that uses the account, and `ferry:enabled=run.googleapis.com,…`, the APIs
 * the first pool's provisioning enabled just before it made the account: APIs carry no mark of their
 * own, and removal turns off only what provisioning turned on. (A run interrupted between enabling the
 * APIs and making the account cannot record them: a resumed run finds them on, and removal leaves them on.)
 */
export const POOL_LABEL = "ferry-pool";
export const USES_LABEL_PREFIX = "ferry-uses-";
export const MANAGED_BY_LABEL = "managed-by";

export function poolLabels(poolName: string): Record<string, string> {
  return { [POOL_LABEL]: labelValue(poolName), [MANAGED_BY_LABEL]: "ferry" };
}

/** The pools a repository's labels say use it (label values: lower case), its maker first. */
export function repositoryHolders(labels: Record<string, string> | null | undefined): string[] {
  const all = labels ?? {};
  const out = all[POOL_LABEL] ? [all[POOL_LABEL]] : [];
  for (const key of Object.keys(all).sort()) if (key.startsWith(USES_LABEL_PREFIX) && key.length > USES_LABEL_PREFIX.length) out.push(key.slice(USES_LABEL_PREFIX.length));
  return [...new Set(out)];
}

export function hasPoolLabel(labels: Record<string, string> | null | undefined, poolName: string): boolean {
  return repositoryHolders(labels).includes(labelValue(poolName));
}

/** Made by Ferry's provisioning (for any pool): only then is it shared and marked by the pools that use it. */
export function repositoryMadeByFerry(labels: Record<string, string> | null | undefined): boolean {
  return (labels ?? {})[MANAGED_BY_LABEL] === "ferry" || repositoryHolders(labels).length > 0;
}

/** A usage label key: `ferry-uses-<pool>`, within the 63 characters of a label key. */
function usesKey(poolName: string): string {
  return `${USES_LABEL_PREFIX}${labelValue(poolName)}`.slice(0, 63);
}

export function labelsWithHolder(labels: Record<string, string>, poolName: string): Record<string, string> {
  if (hasPoolLabel(labels, poolName)) return { ...labels };
  return { ...labels, [usesKey(poolName)]: "true" };
}

/** The labels without the pool's mark; when the maker leaves, the next pool that uses it becomes the maker. */
export function labelsWithoutHolder(labels: Record<string, string>, poolName: string): Record<string, string> {
  const value = labelValue(poolName);
  const out = { ...labels };
  delete out[usesKey(poolName)];
  if (out[POOL_LABEL] === value) {
    const next = repositoryHolders(out).find((h) => h !== value);
    if (next) {
      out[POOL_LABEL] = next;
      delete out[`${USES_LABEL_PREFIX}${next}`];
    } else {
      delete out[POOL_LABEL];
    }
  }
  return out;
}

const MARKS = /ferry:pool=(\S+)/g;
const ENABLED = /ferry:enabled=(\S+)/;
const MAX_DESCRIPTION = 256;

/** The description of a service account provisioning makes for a pool. */
export function serviceAccountDescription(poolName: string, enables: readonly string[]): string {
  const enabled = enables.length ? ` ferry:enabled=${enables.join(",")}` : "";
  return `Submits Ferry's cloud-run:push runs. ferry:pool=${encodeURIComponent(poolName)}${enabled}`.slice(0, MAX_DESCRIPTION);
}

/** The pools a service account's description marks as using it, its maker first. */
export function serviceAccountHolders(description: string | null | undefined): string[] {
  return [...(description ?? "").matchAll(MARKS)].map((m) => decodeURIComponent(m[1]!));
}

/** The pool a service account's description marks as its maker, or null. */
export function markedPool(description: string | null | undefined): string | null {
  return serviceAccountHolders(description)[0] ?? null;
}

/** The APIs the maker's provisioning enabled (and the last pool's removal turns off again). */
export function markedServices(description: string | null | undefined): string[] {
  const m = ENABLED.exec(description ?? "");
  return m ? m[1]!.split(",").filter(Boolean) : [];
}

export function descriptionWithHolder(description: string, poolName: string): string {
  if (serviceAccountHolders(description).includes(poolName)) return description;
  const out = `${description} ferry:pool=${encodeURIComponent(poolName)}`;
  if (out.length > MAX_DESCRIPTION) {
    throw new FerryError("provider_quota", `the description of the service account has no room to mark pool '${poolName}' as using it too (256 characters): provision with another --service-account-name`);
  }
  return out;
}

export function descriptionWithoutHolder(description: string, poolName: string): string {
  return description.replace(` ferry:pool=${encodeURIComponent(poolName)}`, "").replace(`ferry:pool=${encodeURIComponent(poolName)} `, "");
}

export function poolTagText(poolName: string): string {
  return `${POOL_LABEL}=${labelValue(poolName)}`;
}
