import type { FerryClientPlugin, ProvisionInput, Provisioner, RemovalInput } from "@ferry/core";
import { ECS_PROVISION_OPTIONS } from "./provisioning/names.js";
import type { EcsProvisionerOptions } from "./provisioning/ecs-provisioner.js";
import { parseAwsPluginOptions } from "./options.js";
import { ecrRegistryLogin } from "./registry-login.js";

/**
 * `@ferry/provider-aws/client`: what the CLI, the GitHub Action and the VS Code extension load on a
 * user's machine. Importing it is cheap (reading the options schema for `--help`): the AWS SDK and the
 * provisioner's steps are imported on the first plan, apply or login.
 */
export function lazyEcsProvisioner(options: EcsProvisionerOptions = {}): Provisioner {
  let loaded: Promise<Provisioner> | undefined;
  const load = () => (loaded ??= import("./provisioning/ecs-provisioner.js").then((m) => m.createEcsProvisioner(options)));
  return {
    type: "ecs:push",
    optionsSchema: ECS_PROVISION_OPTIONS,
    plan: async (input: ProvisionInput) => (await load()).plan(input),
    apply: async (input, onProgress) => (await load()).apply(input, onProgress),
    planRemoval: async (input: RemovalInput) => (await load()).planRemoval(input),
    remove: async (input, onProgress) => (await load()).remove(input, onProgress),
  };
}

const clientPlugin: FerryClientPlugin = {
  name: "@ferry/provider-aws",
  create(raw) {
    const options = parseAwsPluginOptions(raw);
    const endpoint = options.endpoint ? { endpoint: options.endpoint } : {};
    return { provisioners: [lazyEcsProvisioner(endpoint)], registryLogins: [ecrRegistryLogin(endpoint)] };
  },
};

export default clientPlugin;
