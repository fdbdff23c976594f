import type { FerryClientPlugin, ProvisionInput, Provisioner, RemovalInput } from "@ferry/core";
import { parseGcpPluginOptions } from "./options.js";
import { CLOUD_RUN_PROVISION_OPTIONS } from "./provisioning/names.js";
import type { CloudRunProvisionerOptions } from "./provisioning/cloud-run-provisioner.js";
import { artifactRegistryLogin } from "./registry-login.js";

/**
 * `@ferry/provider-gcp/client`: what the CLI, the GitHub Action and the VS Code extension load on a
 * user's machine. Importing it is cheap (reading the options schema for `--help`): Google's clients and
 * the provisioner's steps are imported on the first plan, apply or login.
 */
export function lazyCloudRunProvisioner(options: CloudRunProvisionerOptions = {}): Provisioner {
  let loaded: Promise<Provisioner> | undefined;
  const load = () => (loaded ??= import("./provisioning/cloud-run-provisioner.js").then((m) => m.createCloudRunProvisioner(options)));
  return {
    type: "cloud-run:push",
    optionsSchema: CLOUD_RUN_PROVISION_OPTIONS,
    plan: async (input: ProvisionInput) => (await load()).plan(input),
    apply: async (input, onProgress) => (await load()).apply(input, onProgress),
    planRemoval: async (input: RemovalInput) => (await load()).planRemoval(input),
    remove: async (input, onProgress) => (await load()).remove(input, onProgress),
  };
}

const clientPlugin: FerryClientPlugin = {
  name: "@ferry/provider-gcp",
  create(raw) {
    const options = parseGcpPluginOptions(raw);
    return { provisioners: [lazyCloudRunProvisioner(options)], registryLogins: [artifactRegistryLogin()] };
  },
};

export default clientPlugin;
