import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsLocal } from "@ferry/aws-local";

export interface Clients {
  sts: STSClient;
  iam: IAMClient;
  ec2: EC2Client;
  ecs: ECSClient;
  ecr: ECRClient;
  logs: CloudWatchLogsClient;
}

/** The official clients, pointed at the server the way Ferry's tests do: `endpoint` and credentials. */
export function clientsFor(local: AwsLocal, credentials = local.credentials, region = "us-east-1"): Clients {
  // One attempt: a retried request would hide what the server answered first.
  const config = { endpoint: local.endpoint, region, credentials, maxAttempts: 1 };
  return {
    sts: new STSClient(config),
    iam: new IAMClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    ecr: new ECRClient(config),
    logs: new CloudWatchLogsClient(config),
  };
}

/** The rejection of a promise, for assertions on the SDK's exceptions. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { name: string; $metadata: { httpStatusCode?: number }; Code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error("expected the call to fail");
}

export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
