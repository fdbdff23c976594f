import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { Provisioner } from "@ferry/core";
import type { AwsPluginOptions } from "./plugin.js";
import { EcsProvisioner } from "./provisioning/index.js";

/**
 * The plugin's provisioners. The provisioner makes its own clients from the user's identity; when the
 * plugin has an endpoint (a local stand-in) its clients must go there too, never to AWS itself.
 */
export function awsProvisioners(options: AwsPluginOptions): Provisioner[] {
  if (!options.endpoint) return [new EcsProvisioner()];
  const config = { endpoint: options.endpoint, credentials: fromNodeProviderChain() };
  return [
    new EcsProvisioner({
      clients: { iam: new IAMClient(config), ec2: new EC2Client(config), ecs: new ECSClient(config), ecr: new ECRClient(config), sts: new STSClient(config) },
    }),
  ];
}
