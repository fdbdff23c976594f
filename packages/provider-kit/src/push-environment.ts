import { ENGINE_ENV, FerryError, isLoopbackUrl, type SubmitRequest } from "@ferry/core";
import { BoundedMap } from "./bounded-map.js";
import type { ProviderLogger } from "./logger.js";

/**
 * Warns once per pool when a push run is submitted while the URL the server gives runs
 * (FERRY_API_URL in the run's environment) is a loopback address: the run starts on the cloud, then
 * its engine cannot report back and the run looks stuck. The submission goes on (a tunnel or a proxy
 * on the cloud's side may make it work); the warning names the fix.
 */
export function loopbackApiUrlWarning(logger: ProviderLogger, cloud: string, maxRemembered = 5000): (request: SubmitRequest) => void {
  const warned = new BoundedMap<string, true>(maxRemembered);
  return (request) => {
    const url = request.runtimeEnv[ENGINE_ENV.apiUrl];
    if (!url || !isLoopbackUrl(url)) return;
    const pool = request.flowRun.work_pool;
    if (warned.has(`${pool}|${url}`)) return;
    warned.set(`${pool}|${url}`, true);
    logger.warn(
      { work_pool: pool, flow_run_id: request.flowRun.id, api_url: url },
      `runs of pool '${pool}' get ${ENGINE_ENV.apiUrl}=${url}, a loopback address: their containers on ${cloud} cannot reach the Ferry server there, ` +
        "so they cannot report back. Set FERRY_PUBLIC_URL to an address those containers reach (a public host name or a tunnel)",
    );
  };
}

/**
 * The pool's credentials, or null to let the cloud SDK use its default chain: only when the operator
 * allowed it (FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1, the plugin context's `allowAmbientCredentials`).
 * Otherwise a pool without credentials would run with the server's own cloud identity, which any
 * workspace of a shared server could use.
 */
export function poolCredentialsOrAmbient(
  credentials: Record<string, string> | null,
  options: { allowAmbient: boolean; cloud: string; pool?: string | undefined; credentialsType: string },
): Record<string, string> | null {
  if (credentials || options.allowAmbient) return credentials;
  const pool = options.pool ? `pool '${options.pool}'` : "the pool";
  throw new FerryError(
    "provider_auth",
    `${pool} has no ${options.credentialsType} credentials, and this server does not run pools with its own ${options.cloud} identity. ` +
      `Fix: give the pool credentials ('ferry credentials create' then 'ferry work-pool update ${options.pool ?? "POOL"} --credentials NAME', or 'ferry work-pool provision-infra ${options.pool ?? "POOL"}'); ` +
      "on a server only you use, the operator may set FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1 instead",
    { retryable: false },
  );
}
