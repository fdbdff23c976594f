import type { FerryClientPlugin, ProvisionInput, Provisioner, RemovalInput } from "@ferry/core";
import { ACI_POOL_TYPE } from "./aci-provider.js";
import { parseAzurePluginOptions } from "./options.js";
import { ACI_PROVISION_OPTIONS } from "./provisioning/names.js";
import type { AciProvisionerOptions } from "./provisioning/session.js";
import { acrRegistryLogin } from "./registry-login.js";

/**
 * `@ferry/provider-azure/client`: what the CLI, the GitHub Action and the VS Code extension load on a
 * user's machine. Importing it is cheap (reading the options schema for `--help`): the Azure SDK and
 * the provisioner's steps are imported on the first plan, apply or login.
 */
export function lazyAciProvisioner(options: AciProvisionerOptions = {}): Provisioner {
  let loaded: Promise<Provisioner> | undefined;
  const load = () => (loaded ??= import("./provisioning/aci-provisioner.js").then((m) => m.createAciProvisioner(options)));
  return {
    type: ACI_POOL_TYPE,
    optionsSchema: ACI_PROVISION_OPTIONS,
    plan: async (input: ProvisionInput) => (await load()).plan(input),
    apply: async (input, onProgress) => (await load()).apply(input, onProgress),
    planRemoval: async (input: RemovalInput) => (await load()).planRemoval(input),
    remove: async (input, onProgress) => (await load()).remove(input, onProgress),
  };
}

const clientPlugin: FerryClientPlugin = {
  name: "@ferry/provider-azure",
  create(raw) {
    const options = parseAzurePluginOptions(raw);
    // The client's edge: the subscription and tenant the Azure tools use when no flag names them.
    const env = globalThis.process?.env ?? {};
    const ambient = {
      ...(env.AZURE_SUBSCRIPTION_ID ? { subscriptionId: env.AZURE_SUBSCRIPTION_ID } : {}),
      ...(env.AZURE_TENANT_ID ? { tenantId: env.AZURE_TENANT_ID } : {}),
    };
    return { provisioners: [lazyAciProvisioner({ ...options, ...ambient })], registryLogins: [acrRegistryLogin({ ...options, ...ambient })] };
  },
};

export default clientPlugin;
