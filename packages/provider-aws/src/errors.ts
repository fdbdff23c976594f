import { FerryError } from "@ferry/core";
import { defineErrorClassifier, kindOf, NETWORK_RULE, type ClassifyContext, type ErrorFacts, type ErrorTable } from "@ferry/provider-kit";

/**
 * The one table of AWS failures, for the provider (the pool's credentials, in the server) and the
 * provisioner and registry login (the user's own identity, on their machine): the same names mean the
 * same thing; only the fix a message names depends on whose identity made the call.
 */
export interface AwsErrorContext extends ClassifyContext {
  /** The AWS operation, e.g. `RunTask`: the provider's messages start with it. */
  operation?: string;
  region?: string;
  cluster?: string;
  family?: string;
  /** The work pool, for fixes such as `ferry work-pool provision-infra POOL`. */
  pool?: string;
  /** Whose identity made the call: the pool's credentials (default) or the user's own (provisioning, a registry login). */
  identity?: "pool" | "user";
  /** With the user's identity: the IAM action (`iam:CreateRole`) and what it was for, so the message names the permission. */
  action?: string;
  target?: string;
}

/** The fields of an AWS SDK v3 exception (or a Node network error) that classification reads. */
interface AwsErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: { code?: unknown };
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
}

export function awsErrorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as AwsErrorShape;
  const str = (v: unknown) => (typeof v === "string" && v !== "Error" && v !== "TypeError" ? v : "");
  // Query-protocol services (IAM, STS, EC2) put the wire code in `Code`; JSON ones name the exception.
  const name = str(e.name) || str(e.Code) || str(e.code);
  const code = str(e.Code) || str(e.code) || str(e.cause?.code);
  const message = (typeof e.message === "string" ? e.message.trim() : "") || name || "unknown error";
  const requestId = typeof e.$metadata?.requestId === "string" && e.$metadata.requestId ? e.$metadata.requestId : undefined;
  return { name, code, status: e.$metadata?.httpStatusCode, message, fault: e.$fault, throttling: e.$retryable?.throttling, requestId };
}

function isMissingThing(message: string): boolean {
  return /not (be )?found|does not exist|doesn't exist|could not be found|no .* (was|were) found|unable to (find|describe)/i.test(message);
}

const where = (c: AwsErrorContext) => (c.region ? ` in ${c.region}` : "");
const what = (c: AwsErrorContext) => `${c.action ?? "the call"}${c.target ? ` (${c.target})` : ""}`;
const user = (c: AwsErrorContext) => c.identity === "user";
const provision = (c: AwsErrorContext) => (c.pool ? `run 'ferry work-pool provision-infra ${c.pool}'` : "run 'ferry work-pool provision-infra POOL'");

/** The SDK could not read the reply: HTML or text from a proxy, a firewall or a wrong endpoint, not AWS's answer. */
const notAnAwsReply = (f: ErrorFacts) => /Deserialization error/i.test(f.message) || (f.name === "SyntaxError" && f.status !== undefined);
/** AWS (or what answered) gave a status and nothing else: the SDK names it "Unknown". */
const bareStatus = (f: ErrorFacts) => (f.name === "Unknown" || f.name === "UnknownError") && f.status !== undefined;
const status = (f: ErrorFacts) => (f.status !== undefined ? `HTTP ${f.status}` : "a reply");
const notAwsMessage = (f: ErrorFacts, c: AwsErrorContext) =>
  `${status(f)}${where(c)} was not an answer of AWS (the SDK could not read it): something between Ferry and AWS answered instead. ` +
  "Fix: check the proxy (HTTPS_PROXY), firewall or captive portal on the way, or the endpoint Ferry is configured with";
const bareMessage = (f: ErrorFacts, c: AwsErrorContext) => `AWS answered ${status(f)}${where(c)} without an error code or message${user(c) ? ` to ${what(c)}` : ""}`;

export const AWS_ERRORS: ErrorTable<AwsErrorContext> = {
  cloud: "AWS",
  detailsKey: "aws_error",
  facts: awsErrorFacts,
  special: [
    // Raw SDK text ("Unexpected token '<'… Deserialization error: inspect the hidden field…") says nothing to a user.
    { when: (f) => notAnAwsReply(f) && (f.status ?? 0) >= 500, kind: "server", message: notAwsMessage },
    { when: (f) => notAnAwsReply(f), kind: "refused", message: notAwsMessage },
    { when: (f) => bareStatus(f) && (f.status ?? 0) >= 500, kind: "server", message: bareMessage },
    { when: (f) => bareStatus(f) && f.status === 403, kind: "denied", message: (f, c) => `${bareMessage(f, c)}: the credentials may not do this, or a firewall refused it` },
    { when: (f) => bareStatus(f), kind: "refused", message: bareMessage },
    {
      pattern: /Region is missing/i,
      kind: "refused",
      code: "validation_failed",
      message: () => "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)",
    },
    {
      names: ["ClusterNotFoundException"],
      when: (f) => f.name === "ClientException" && /cluster.*not found/i.test(f.message),
      kind: "not_found",
      message: (_f, c) => `the ECS cluster '${c.cluster ?? "default"}' does not exist${where(c)}: ${provision(c)} or set the cluster job variable`,
    },
    {
      when: (f) => f.name === "ClientException" && /unable to describe task definition/i.test(f.message),
      kind: "not_found",
      message: (f, c) => `the task definition${c.family ? ` family '${c.family}'` : ""} does not exist${where(c)} (${f.message})`,
    },
    {
      when: (f) => f.name === "ClientException" && /execution role/i.test(f.message),
      kind: "refused",
      message: (f, c) => `${f.message}: set the execution_role_arn job variable (or ${provision(c)})`,
    },
  ],
  throttled: {
    names: [
      "ThrottlingException",
      "Throttling",
      "ThrottledException",
      "TooManyRequestsException",
      "RequestLimitExceeded",
      "RequestThrottled",
      "RequestThrottledException",
      "ProvisionedThroughputExceededException",
      "SlowDown",
    ],
    statuses: [429],
    pattern: /rate exceeded|throttl/i,
  },
  unauthenticated: {
    names: [
      "UnrecognizedClientException",
      "InvalidClientTokenId",
      "InvalidAccessKeyId",
      "ExpiredToken",
      "ExpiredTokenException",
      "RequestExpired",
      "InvalidSignatureException",
      "SignatureDoesNotMatch",
      "AuthFailure",
      "MissingAuthenticationToken",
      "IncompleteSignature",
      "CredentialsProviderError",
    ],
    statuses: [401],
    pattern: /security token included in the request is (invalid|expired)|could not load credentials|unable to locate credentials/i,
  },
  denied: { names: ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "UnauthorizedAccess", "OptInRequired"] },
  notFound: {
    names: [
      "NoSuchEntity",
      "NoSuchEntityException",
      "ResourceNotFoundException",
      "RepositoryNotFoundException",
      "ImageNotFoundException",
      "TaskSetNotFoundException",
      "ServiceNotFoundException",
      "InvalidGroupId.Malformed",
      "InvalidSubnetID.Malformed",
      "InvalidVpcID.Malformed",
    ],
    // EC2's `InvalidVpcID.NotFound` and the like; ECS says a thing is missing in an InvalidParameterException.
    when: (f) => /NotFound$/.test(f.name) || (f.name === "InvalidParameterException" && isMissingThing(f.message)),
  },
  quota: {
    names: [
      "LimitExceededException",
      "LimitExceeded",
      "ServiceQuotaExceededException",
      "QuotaExceededException",
      "VpcLimitExceeded",
      "SubnetLimitExceeded",
      "InternetGatewayLimitExceeded",
      "RulesPerSecurityGroupLimitExceeded",
      "AddressLimitExceeded",
      "LimitExceededFault",
    ],
    pattern: /quota|limit exceeded/i,
  },
  network: { names: [...(NETWORK_RULE.names ?? []), "RequestTimeoutException"] },
  server: {
    names: [
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
    ],
  },
  messages: {
    throttled: (f, c) =>
      user(c) ? `AWS throttled ${what(c)}; wait a moment and run again (AWS said: ${f.message})` : `AWS is throttling requests${where(c)} (${f.message}); Ferry retries with a backoff`,
    unauthenticated: (f, c) => {
      if (user(c)) {
        return `AWS did not accept your credentials (${f.name || "no credentials"}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with 'aws sso login' (AWS said: ${f.message})`;
      }
      return /expired/i.test(`${f.name} ${f.message}`)
        ? `the pool's AWS credentials have expired (${f.message}); update them with a fresh session token or a long-lived access key`
        : `AWS did not accept the pool's credentials (${f.message}); check the access key id and secret in the pool's AWS credentials`;
    },
    denied: (f, c) =>
      user(c)
        ? `your AWS identity lacks ${what(c)}; use an identity with administrator access for provisioning (AWS said: ${f.message})`
        : `the pool's AWS credentials are not allowed to do this (${f.message}); grant the permission to their IAM user or role, or ${provision(c)}`,
    not_found: (f, c) =>
      user(c) ? `${what(c)}: ${f.message}` : `${f.message}${where(c)}: check the job variables that name it (cluster, subnets, security_groups, vpc_id, roles) or ${provision(c)}`,
    quota: (f, c) =>
      `${user(c) ? `an AWS limit stops ${what(c)}` : `an AWS limit was reached${where(c)}`} (${f.message}); raise the quota in the Service Quotas console or free some resources`,
    network: (f, c) => `could not reach AWS${where(c)}${user(c) ? ` for ${what(c)}` : ""}: ${f.message}`,
    server: (f, c) => `AWS had an internal error${where(c)}${user(c) ? ` in ${what(c)}` : ""}: ${f.message}`,
    refused: (f, c) => (user(c) ? `AWS refused ${what(c)}: ${f.name ? `${f.name}: ` : ""}${f.message}` : `AWS refused the request${where(c)}: ${f.message}`),
    unknown: (f, c) => (user(c) ? `${what(c)} failed: ${f.message}` : f.message),
  },
};

/**
 * Turns whatever an AWS call threw into a FerryError with a stable code, whether retrying can help,
 * the original error as `cause`, and a message that says what to do. The one place AWS failures are
 * interpreted: nothing else inspects an SDK exception.
 */
export const classifyAwsError = defineErrorClassifier(AWS_ERRORS);

/** Whether AWS said the thing asked about does not exist (a Get/Describe of a missing resource). */
export function isAwsNotFound(error: unknown): boolean {
  return kindOf(AWS_ERRORS, awsErrorFacts(error)) === "not_found";
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
  const cluster = context.cluster ?? "default";
  const details = { ecs_failure: failure };
  if (/^RESOURCE:|capacity|no container instances|insufficient/i.test(text)) {
    return new FerryError(
      "provider_quota",
      `RunTask: ECS has no capacity for the task in cluster '${cluster}'${where(context)} right now (${text}); Ferry retries, or lower cpu/memory, add capacity or use another launch type`,
      { retryable: true, details },
    );
  }
  if (/^MISSING/i.test(text)) {
    return new FerryError("provider_not_found", `RunTask: ${text}: check the cluster '${cluster}'${where(context)} and the task definition`, { details });
  }
  if (/AGENT|ATTRIBUTE|DISCONNECTED/i.test(text)) {
    return new FerryError("provider_error", `RunTask: no container instance of cluster '${cluster}' can run the task (${text}); check the instances' ECS agent and attributes`, {
      retryable: true,
      details,
    });
  }
  return new FerryError("provider_error", `RunTask: ECS could not start the task (${text})`, { retryable: false, details });
}
