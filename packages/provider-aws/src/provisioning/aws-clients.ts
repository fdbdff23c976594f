import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient, type IAMClientConfig } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { isFerryError } from "@ferry/core";
import { withRetries } from "@ferry/provider-kit";
import { classifyAwsError } from "../errors.js";

/** The SDK clients provisioning uses, all with the same region and credentials. */
export interface AwsClients {
  iam: IAMClient;
  ec2: EC2Client;
  ecs: ECSClient;
  ecr: ECRClient;
  sts: STSClient;
}

export interface AwsClientsOptions {
  /** Region; unset, the SDK resolves it (AWS_REGION, the profile). */
  region?: string;
  /** One endpoint for every service (a local stand-in); unset, AWS's (or AWS_ENDPOINT_URL, which the SDK reads). */
  endpoint?: string;
  /** Credentials; unset, the user's own through the SDK's default chain (environment, profile, SSO). */
  credentials?: IAMClientConfig["credentials"];
}

export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    credentials: options.credentials ?? fromNodeProviderChain(),
    // One attempt: `call` retries, the same way for every cloud.
    maxAttempts: 1,
  };
  return { iam: new IAMClient(config), ec2: new EC2Client(config), ecs: new ECSClient(config), ecr: new ECRClient(config), sts: new STSClient(config) };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}

/** What was being done when AWS refused, so the message names the permission that is missing. */
export interface AwsCallContext {
  /** The IAM action, e.g. `iam:CreateRole`. */
  action: string;
  /** What it was for, e.g. `the execution role FerryEcsTaskExecutionRole`. */
  target?: string;
}

export async function resolvedRegion(clients: AwsClients): Promise<string> {
  try {
    return await clients.sts.config.region();
  } catch (error) {
    throw classifyAwsError(error, { identity: "user", action: "resolve the AWS region" });
  }
}

export interface SendOptions {
  abortSignal?: AbortSignal;
}

/** Makes one AWS call with the user's identity: retried while retrying helps; a failure becomes a FerryError naming the action. */
export function call<T>(context: AwsCallContext, signal: AbortSignal | undefined, send: (options: SendOptions) => Promise<T>): Promise<T> {
  return withRetries(() => send(signal ? { abortSignal: signal } : {}), {
    signal,
    classify: (error) => classifyAwsError(error, { identity: "user", ...context }),
  });
}

/** Like `call`, for a Get/Describe whose "not found" answer means the resource is absent. */
export async function callOrNull<T>(context: AwsCallContext, signal: AbortSignal | undefined, send: (options: SendOptions) => Promise<T>): Promise<T | null> {
  try {
    return await call(context, signal, send);
  } catch (error) {
    if (isFerryError(error, "provider_not_found")) return null;
    throw error;
  }
}

/** Follows `NextToken`/`Marker`-style pages of a list call. */
export async function allPages<P, I>(first: (token: string | undefined) => Promise<P>, items: (page: P) => I[] | undefined, next: (page: P) => string | undefined): Promise<I[]> {
  const out: I[] = [];
  let token: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await first(token);
    out.push(...(items(page) ?? []));
    token = next(page);
    if (!token) break;
  }
  return out;
}

export function tagValue(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}
