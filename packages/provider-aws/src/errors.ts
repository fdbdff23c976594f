import { FerryError, isFerryError } from "@ferry/core";

/** What the failing call was about, so a message can name the thing to fix. */
export interface AwsErrorContext {
  /** The AWS operation, e.g. `RunTask`. */
  operation?: string;
  region?: string;
  cluster?: string;
  family?: string;
  /** The work pool, for fixes such as `ferry work-pool provision-infra POOL`. */
  pool?: string;
}

/** The fields of an AWS SDK v3 exception (or a Node network error) that classification reads. */
interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "SlowDown",
]);

const AUTH = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedException",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "AuthFailure",
  "MissingAuthenticationToken",
  "IncompleteSignature",
  "OptInRequired",
  "CredentialsProviderError",
]);

const NOT_FOUND = new Set([
  "ClusterNotFoundException",
  "NoSuchEntity",
  "NoSuchEntityException",
  "ResourceNotFoundException",
  "RepositoryNotFoundException",
  "ImageNotFoundException",
  "TaskSetNotFoundException",
  "ServiceNotFoundException",
  "InvalidVpcID.NotFound",
  "InvalidSubnetID.NotFound",
  "InvalidGroup.NotFound",
  "InvalidGroupId.Malformed",
  "InvalidSubnetID.Malformed",
  "InvalidVpcID.Malformed",
]);

const QUOTA = new Set([
  "LimitExceededException",
  "LimitExceeded",
  "ServiceQuotaExceededException",
  "QuotaExceededException",
  "VpcLimitExceeded",
  "AddressLimitExceeded",
  "LimitExceededFault",
]);

const SERVER = new Set([
  "ServerException",
  "ServiceException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalError",
  "InternalFailure",
  "InternalServerError",
  "InternalServerException",
  "InternalServiceError",
  "Unavailable",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "NetworkingError"]);

/**
 * Turns whatever an AWS call threw into a FerryError with a stable code, whether retrying can help,
 * the original error as `cause`, and a message that says what to do. The one place AWS failures are
 * interpreted: the provider never inspects an SDK exception itself.
 */
export function classifyAwsError(error: unknown, context: AwsErrorContext = {}): FerryError {
  if (isFerryError(error)) return error;
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as AwsErrorShape;
  const name = e.name ?? "";
  const code = e.code ?? "";
  const raw = (e.message ?? "").trim() || name || "unknown error";
  const status = e.$metadata?.httpStatusCode;
  const where = context.region ? ` in ${context.region}` : "";
  const op = context.operation ? `${context.operation}: ` : "";
  const provision = context.pool ? `run 'ferry work-pool provision-infra ${context.pool}'` : "run 'ferry work-pool provision-infra POOL'";
  const make = (ferryCode: ConstructorParameters<typeof FerryError>[0], message: string, retryable?: boolean) =>
    new FerryError(ferryCode, `${op}${message}`, {
      cause: error,
      details: { aws_error: name || code || undefined, http_status: status },
      ...(retryable === undefined ? {} : { retryable }),
    });

  if (name === "AbortError" || code === "ABORT_ERR") {
    return make("provider_error", `the call was aborted: ${raw}`, false);
  }
  if (THROTTLING.has(name) || THROTTLING.has(code) || e.$retryable?.throttling || status === 429 || /rate exceeded|throttl/i.test(raw)) {
    return make("provider_throttled", `AWS is throttling requests${where} (${raw}); Ferry retries with a backoff`);
  }
  if (AUTH.has(name) || AUTH.has(code) || status === 401 || /security token included in the request is (invalid|expired)|could not load credentials/i.test(raw)) {
    const expired = /expired/i.test(name) || /expired/i.test(raw);
    const denied = /denied|unauthorized/i.test(name);
    const message = expired
      ? `the pool's AWS credentials have expired (${raw}); update them with a fresh session token or a long-lived access key`
      : denied
        ? `the pool's AWS credentials are not allowed to do this (${raw}); grant the permission to their IAM user or role, or ${provision}`
        : `AWS did not accept the pool's credentials (${raw}); check the access key id and secret in the pool's AWS credentials`;
    return make("provider_auth", message);
  }
  if (name === "ClusterNotFoundException" || (name === "ClientException" && /cluster.*not found/i.test(raw))) {
    const cluster = context.cluster ?? "default";
    return make(
      "provider_not_found",
      `the ECS cluster '${cluster}' does not exist${where}: ${provision} or set the cluster job variable`,
    );
  }
  if (name === "ClientException" && /unable to describe task definition/i.test(raw)) {
    return make("provider_not_found", `the task definition${context.family ? ` family '${context.family}'` : ""} does not exist${where} (${raw})`);
  }
  if (NOT_FOUND.has(name) || NOT_FOUND.has(code) || (name === "InvalidParameterException" && isMissingThing(raw))) {
    return make("provider_not_found", `${raw}${where}: check the job variables that name it (cluster, subnets, security_groups, vpc_id, roles) or ${provision}`);
  }
  if (QUOTA.has(name) || QUOTA.has(code) || /quota|limit exceeded/i.test(raw)) {
    return make("provider_quota", `an AWS limit was reached${where} (${raw}); raise the quota in the Service Quotas console or free some resources`);
  }
  if (NETWORK_CODES.has(code) || NETWORK_NAMES.has(name) || NETWORK_CODES.has(name)) {
    return make("provider_error", `could not reach AWS${where}: ${raw}`, true);
  }
  if (SERVER.has(name) || e.$fault === "server" || (status !== undefined && status >= 500)) {
    return make("provider_error", `AWS had an internal error${where}: ${raw}`, true);
  }
  if (name === "ClientException" && /execution role/i.test(raw)) {
    return make("provider_error", `${raw}: set the execution_role_arn job variable (or ${provision})`, false);
  }
  if (name === "InvalidParameterException" || name === "ClientException" || name === "ValidationException" || e.$fault === "client" || (status !== undefined && status >= 400)) {
    return make("provider_error", `AWS refused the request${where}: ${raw}`, false);
  }
  // Not an AWS answer at all (a bug, or an unexpected reply): retrying the same call will not help.
  return make("provider_error", raw, false);
}

function isMissingThing(message: string): boolean {
  return /not (be )?found|does not exist|doesn't exist|could not be found|no .* (was|were) found|unable to (find|describe)/i.test(message);
}

/** One entry of RunTask's or DescribeTasks' `failures`. */
export interface EcsFailure {
  arn?: string | undefined;
  reason?: string | undefined;
  detail?: string | undefined;
}

/**
 * RunTask answers 200 with `failures` when ECS could not place the task: that is a failed submission,
 * classified like an exception. Capacity shortages are worth retrying (capacity frees); a missing
 * resource is not.
 */
export function classifyRunTaskFailure(failure: EcsFailure, context: AwsErrorContext = {}): FerryError {
  const reason = failure.reason ?? "unknown reason";
  const text = `${reason}${failure.detail ? ` (${failure.detail})` : ""}`;
  const where = context.region ? ` in ${context.region}` : "";
  const cluster = context.cluster ?? "default";
  const details = { ecs_failure: failure };
  if (/^RESOURCE:|capacity|no container instances|insufficient/i.test(text)) {
    return new FerryError(
      "provider_quota",
      `RunTask: ECS has no capacity for the task in cluster '${cluster}'${where} right now (${text}); Ferry retries, or lower cpu/memory, add capacity or use another launch type`,
      { retryable: true, details },
    );
  }
  if (/^MISSING/i.test(text)) {
    return new FerryError("provider_not_found", `RunTask: ${text}: check the cluster '${cluster}'${where} and the task definition`, { details });
  }
  if (/AGENT|ATTRIBUTE|DISCONNECTED/i.test(text)) {
    return new FerryError("provider_error", `RunTask: no container instance of cluster '${cluster}' can run the task (${text}); check the instances' ECS agent and attributes`, { retryable: true, details });
  }
  return new FerryError("provider_error", `RunTask: ECS could not start the task (${text})`, { retryable: false, details });
}
