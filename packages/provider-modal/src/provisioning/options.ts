import type { ProvisionOptionsSchema } from "@ferry/core";

/** The options of `modal:push` provisioning (CLI flags `--profile`, `--environment`, `--app-name`). */
export const MODAL_PROVISION_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    modal_profile: { type: "string", pattern: "^[A-Za-z0-9._-]{1,64}$", description: "profile of ~/.modal.toml whose token to use (default: MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, else the active profile)" },
    environment: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description: "Modal environment the pool's app lives in (default: the profile's, else the workspace's default)" },
    app_name: { type: "string", pattern: "^[A-Za-z0-9._-]{1,63}$", description: "Modal app the pool's sandboxes are created in (default: ferry)" },
  },
};

export const DEFAULT_APP_NAME = "ferry";
