import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient, type IAMClientConfig } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { classifyAwsError, isAwsNotFound, type AwsCallContext } from "./aws-errors.js";

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
  /** Credentials; unset, the user's own through the SDK's default chain (environment, profile, SSO). */
  credentials?: IAMClientConfig["credentials"];
}

export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    credentials: options.credentials ?? fromNodeProviderChain(),
  };
  return { iam: new IAMClient(config), ec2: new EC2Client(config), ecs: new ECSClient(config), ecr: new ECRClient(config), sts: new STSClient(config) };
}

export async function resolvedRegion(clients: AwsClients): Promise<string> {
  try {
    return await clients.sts.config.region();
  } catch (error) {
    throw classifyAwsError(error, { action: "resolve the AWS region" });
  }
}

export interface SendOptions {
  abortSignal?: AbortSignal;
}

/** Makes one AWS call; a failure becomes a classified FerryError naming the action. */
export async function call<T>(context: AwsCallContext, signal: AbortSignal | undefined, send: (options: SendOptions) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  try {
    return await send(signal ? { abortSignal: signal } : {});
  } catch (error) {
    throw classifyAwsError(error, context);
  }
}

/** Like `call`, for a Get/Describe whose "not found" answer means the resource is absent. */
export async function callOrNull<T>(context: AwsCallContext, signal: AbortSignal | undefined, send: (options: SendOptions) => Promise<T>): Promise<T | null> {
  signal?.throwIfAborted();
  try {
    return await send(signal ? { abortSignal: signal } : {});
  } catch (error) {
    if (isAwsNotFound(error)) return null;
    throw classifyAwsError(error, context);
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
