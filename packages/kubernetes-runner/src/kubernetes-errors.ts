import { FerryError } from "@ferry/core";

/** The HTTP status of a failed Kubernetes API call (the official client's ApiException, or a watch's error), if any. */
export function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === "number") return e.code;
  if (typeof e?.statusCode === "number") return e.statusCode;
  return undefined;
}

/** The API server's own words from a `Status` body, when the error carries one. */
export function statusMessage(error: unknown): string | undefined {
  let body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    const text: string = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() || undefined;
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : undefined;
}

/**
 * One place where the Kubernetes API's failures become Ferry's errors, each saying what to fix: the
 * runner's identity lacks a permission (RBAC), the API does not answer, the request was refused.
 */
export function classifyKubernetesError(error: unknown, context: { action: string; namespace: string }): FerryError {
  if (error instanceof FerryError) return error;
  const status = statusOf(error);
  const said = statusMessage(error) ?? (error as Error)?.message ?? String(error);
  const what = `could not ${context.action} in the Kubernetes namespace ${context.namespace}`;
  if (status === 401) return new FerryError("provider_auth", `${what}: the API refused the runner's credentials (${said}); check the kubeconfig or the service account's token`, { cause: error });
  if (status === 403) {
    return new FerryError("provider_auth", `${what}: ${said}; give the server's service account the runner's Role in that namespace (Jobs, Pods, pods/log, Secrets, PersistentVolumeClaims)`, { cause: error });
  }
  if (status === 404) return new FerryError("not_found", `${what}: ${said}`, { cause: error });
  if (status === 409) return new FerryError("conflict", `${what}: ${said}`, { cause: error });
  if (status === 400 || status === 422) return new FerryError("validation_failed", `${what}: the API refused the request: ${said}`, { cause: error });
  if (status === 429) return new FerryError("provider_throttled", `${what}: the API asks to slow down (${said})`, { cause: error });
  if (status !== undefined && status >= 500) return new FerryError("unavailable", `${what}: the API answered ${status} (${said}); it is tried again`, { cause: error });
  return new FerryError("unavailable", `${what}: the API did not answer (${said}); check that the cluster is reachable from the server`, { cause: error });
}
