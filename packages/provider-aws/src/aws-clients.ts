import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { FerryError } from "@ferry/core";

/** Static credentials in the SDK's form; undefined lets the SDK use its default chain (e.g. an instance role). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientSettings {
  region: string;
  credentials: AwsCredentials | undefined;
  /** One endpoint for every service (a local stand-in), from the plugin's options. */
  endpoint?: string;
}

/** The SDK clients the provider sends commands through; tests give hand-written fakes of `send`. */
export interface AwsClients {
  readonly ecs: Pick<ECSClient, "send">;
  readonly ec2: Pick<EC2Client, "send">;
  readonly logs: Pick<CloudWatchLogsClient, "send">;
  readonly ecr: Pick<ECRClient, "send">;
  /** Frees the clients' sockets. */
  destroy(): void;
}

export type AwsClientFactory = (settings: AwsClientSettings) => AwsClients;

/** The pool's credentials (the `aws` credentials type) in the SDK's form. */
export function awsCredentialsFrom(credentials: Record<string, string> | null): AwsCredentials | undefined {
  if (!credentials) return undefined;
  const accessKeyId = credentials.aws_access_key_id;
  const secretAccessKey = credentials.aws_secret_access_key;
  if (!accessKeyId || !secretAccessKey) {
    throw new FerryError("provider_auth", "the pool's AWS credentials lack aws_access_key_id or aws_secret_access_key: update them with 'ferry credentials create'");
  }
  return { accessKeyId, secretAccessKey, ...(credentials.aws_session_token ? { sessionToken: credentials.aws_session_token } : {}) };
}

/** Real SDK clients, each made on first use so a status check does not build four clients. */
export const sdkClientFactory: AwsClientFactory = (settings) => {
  const config = {
    region: settings.region,
    // One attempt: the provider retries each call itself (withRetries), the same way for every cloud.
    maxAttempts: 1,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
  };
  const made: { destroy(): void }[] = [];
  const lazy = <T extends { destroy(): void }>(make: () => T): (() => T) => {
    let client: T | undefined;
    return () => {
      if (!client) {
        client = make();
        made.push(client);
      }
      return client;
    };
  };
  const ecs = lazy(() => new ECSClient(config));
  const ec2 = lazy(() => new EC2Client(config));
  const logs = lazy(() => new CloudWatchLogsClient(config));
  const ecr = lazy(() => new ECRClient(config));
  return {
    get ecs() {
      return ecs();
    },
    get ec2() {
      return ec2();
    },
    get logs() {
      return logs();
    },
    get ecr() {
      return ecr();
    },
    destroy() {
      for (const client of made.splice(0)) client.destroy();
    },
  };
};
