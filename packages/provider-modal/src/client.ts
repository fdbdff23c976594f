import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { FerryClientPlugin, ProvisionInput, Provisioner, RemovalInput } from "@ferry/core";
import type { ModalProvisionerOptions } from "./provisioning/modal-provisioner.js";
import type { TokenSources } from "./provisioning/modal-token.js";
import { MODAL_PROVISION_OPTIONS } from "./provisioning/options.js";
import { parseModalPluginOptions } from "./options.js";

/**
 * `@ferry/provider-modal/client`: what the CLI, the GitHub Action and the VS Code extension load on a
 * user's machine. Importing it is cheap (the options schema for `--help`): Modal's SDK and the
 * provisioner's steps are imported on the first plan or apply.
 */
export function lazyModalProvisioner(options: ModalProvisionerOptions): Provisioner {
  let loaded: Promise<Provisioner> | undefined;
  const load = () => (loaded ??= import("./provisioning/modal-provisioner.js").then((m) => m.createModalProvisioner(options)));
  return {
    type: "modal:push",
    optionsSchema: MODAL_PROVISION_OPTIONS,
    plan: async (input: ProvisionInput) => (await load()).plan(input),
    apply: async (input, onProgress) => (await load()).apply(input, onProgress),
    planRemoval: async (input: RemovalInput) => (await load()).planRemoval(input),
    remove: async (input, onProgress) => (await load()).remove(input, onProgress),
  };
}

/** Where Modal's own tools look for the user's token: the edge reads the environment once, here. */
export function userTokenSources(env: Record<string, string | undefined> = process.env): TokenSources {
  return {
    env: { ...env },
    configPath: env.MODAL_CONFIG_PATH?.trim() || join(homedir(), ".modal.toml"),
    readConfig: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    },
  };
}

const clientPlugin: FerryClientPlugin = {
  name: "@ferry/provider-modal",
  create(raw) {
    const options = parseModalPluginOptions(raw);
    return { provisioners: [lazyModalProvisioner({ sources: userTokenSources(), ...(options.server_url ? { serverUrl: options.server_url } : {}) })] };
  },
};

export default clientPlugin;
