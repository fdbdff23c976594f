import type { Provisioner } from "@ferry/core";
import type { DeprovisionProgress, DeprovisionStep, ProvisionedCredentials } from "@ferry/provider-aws/provisioning";

export type { DeprovisionProgress, DeprovisionStep, ProvisionedCredentials };

export interface ProvisionerSettings {
  /** `--region`; unset, the AWS SDK resolves it (AWS_REGION, the profile). */
  region?: string;
  /** Stores a new access key the moment it is made, so a re-run never makes a second one. */
  saveCredentials: (credentials: ProvisionedCredentials) => Promise<void>;
}

export interface DeprovisionSettings {
  region?: string;
  names: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (event: DeprovisionProgress) => void;
}

/**
 * The cloud side of `work-pool create --provision-infra`, `provision-infra` and `deprovision`, behind
 * one narrow interface so the commands can be tested with a fake. The real one runs with the user's own
 * cloud credentials.
 */
export interface ProvisioningBackend {
  /** The provisioner of a pool type, or null when the type has none. */
  provisioner(type: string, settings: ProvisionerSettings): Provisioner | null;
  planDeprovision(type: string, poolName: string, settings: DeprovisionSettings): Promise<DeprovisionStep[]>;
  deprovision(type: string, poolName: string, settings: DeprovisionSettings): Promise<DeprovisionStep[]>;
}

export const PROVISIONABLE_TYPES = ["ecs:push"];

/** Loaded on demand: the AWS SDK is large, and only these commands need it. */
export async function loadProvisioningBackend(): Promise<ProvisioningBackend> {
  const aws = await import("@ferry/provider-aws/provisioning");
  const only = (type: string) => {
    if (type !== "ecs:push") throw new Error(`no deprovisioning for ${type}`);
  };
  return {
    provisioner: (type, settings) =>
      type === "ecs:push" ? new aws.EcsProvisioner({ ...(settings.region ? { region: settings.region } : {}), saveCredentials: settings.saveCredentials }) : null,
    planDeprovision: async (type, poolName, s) => {
      only(type);
      return aws.planDeprovision(poolName, { ...(s.region ? { region: s.region } : {}), names: s.names, ...(s.signal ? { signal: s.signal } : {}) });
    },
    deprovision: async (type, poolName, s) => {
      only(type);
      return aws.deprovision(poolName, {
        ...(s.region ? { region: s.region } : {}),
        names: s.names,
        ...(s.signal ? { signal: s.signal } : {}),
        ...(s.onProgress ? { onProgress: s.onProgress } : {}),
      });
    },
  };
}
