import { FerryError, isFerryError } from "@ferry/core";

/** What was being done when AWS refused, so the message names the permission that is missing. */
export interface AwsCallContext {
  /** The IAM action, e.g. `iam:CreateRole`. */
  action: string;
  /** What it was for, e.g. `the execution role FerryEcsTaskExecutionRole`. */
  target?: string;
}

const AUTH = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedAccess",
  "AuthFailure",
  "OptInRequired",
]);
const BAD_CREDENTIALS = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidAccessKeyId",
  "IncompleteSignature",
  "CredentialsProviderError",
]);
const THROTTLED = new Set(["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"]);
const QUOTA = new Set(["LimitExceeded", "LimitExceededException", "VpcLimitExceeded", "SubnetLimitExceeded", "InternetGatewayLimitExceeded", "RulesPerSecurityGroupLimitExceeded"]);
const NOT_FOUND = new Set(["NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "ClusterNotFoundException", "RepositoryNotFoundException"]);
const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN", "TimeoutError", "RequestTimeout"]);

export function awsErrorName(error: unknown): string {
  if (typeof error !== "object" || error === null) return "";
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [e.Code, e.name, e.code]) if (typeof v === "string" && v !== "Error") return v;
  return "";
}

/** Whether AWS said the thing asked about does not exist (the answer of a Get/Describe for a missing resource). */
export function isAwsNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  return NOT_FOUND.has(name) || /NotFound/.test(name);
}

/**
 * Turns an AWS SDK failure into a FerryError whose message says what to do. One function, so every
 * call of provisioning and deprovisioning reports the same way.
 */
export function classifyAwsError(error: unknown, context: AwsCallContext): FerryError {
  if (isFerryError(error)) return error;
  const name = awsErrorName(error);
  const raw = error instanceof Error ? error.message : String(error);
  const what = context.target ? ` (${context.target})` : "";
  const options = { cause: error, details: { aws_error: name || null, action: context.action } };
  if (name === "AbortError") return new FerryError("provider_error", "provisioning was interrupted", { ...options, retryable: true });
  if (AUTH.has(name)) {
    return new FerryError(
      "provider_auth",
      `your AWS identity lacks ${context.action}${what}; use an identity with administrator access for provisioning (AWS said: ${raw})`,
      options,
    );
  }
  if (BAD_CREDENTIALS.has(name) || /Could not load credentials|Unable to locate credentials/i.test(raw)) {
    return new FerryError(
      "provider_auth",
      `AWS did not accept your credentials (${name || "no credentials"}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with 'aws sso login' (AWS said: ${raw})`,
      options,
    );
  }
  if (/Region is missing/i.test(raw)) {
    return new FerryError("validation_failed", "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)", options);
  }
  if (THROTTLED.has(name)) return new FerryError("provider_throttled", `AWS throttled ${context.action}${what}; wait a moment and run again (AWS said: ${raw})`, options);
  if (QUOTA.has(name)) return new FerryError("provider_quota", `an AWS limit stops ${context.action}${what}: ${raw}`, options);
  if (NOT_FOUND.has(name)) return new FerryError("provider_not_found", `${context.action}${what}: ${raw}`, options);
  if (NETWORK.has(name) || NETWORK.has(String((error as { code?: unknown }).code ?? ""))) {
    return new FerryError("provider_error", `could not reach AWS for ${context.action}${what}: ${raw}`, { ...options, retryable: true });
  }
  return new FerryError("provider_error", `${context.action}${what} failed: ${name ? `${name}: ` : ""}${raw}`, options);
}
