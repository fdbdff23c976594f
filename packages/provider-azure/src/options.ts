import { validateWithSchema } from "@ferry/core";

/** Options of both plugins, from FERRY_PROVIDER_OPTIONS["@ferry/provider-azure"] (the server's, or the client's environment). */
export interface AzurePluginOptions {
  /** Azure Resource Manager's URL; unset: https://management.azure.com. A local stand-in in tests. */
  endpoint?: string;
  /** Microsoft Entra ID's URL for tokens; unset: https://login.microsoftonline.com. */
  authorityHost?: string;
  /** Microsoft Graph's URL (app registrations, when provisioning); unset: https://graph.microsoft.com. */
  graphEndpoint?: string;
  /** A PEM CA certificate every client trusts besides the system's, for a local stand-in's TLS (NODE_EXTRA_CA_CERTS does the same for a whole process). */
  caPem?: string;
}

const URL_PATTERN = "^https://[^\\s/]+(/.*)?$";

const OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    endpoint: { type: "string", pattern: URL_PATTERN, description: "https URL of Azure Resource Manager" },
    authorityHost: { type: "string", pattern: URL_PATTERN, description: "https URL of the Microsoft Entra token endpoint's host" },
    graphEndpoint: { type: "string", pattern: URL_PATTERN, description: "https URL of Microsoft Graph" },
    caPem: { type: "string", pattern: "-----BEGIN CERTIFICATE-----", description: "PEM CA certificate to trust" },
  },
};

export function parseAzurePluginOptions(options: unknown): AzurePluginOptions {
  return validateWithSchema<AzurePluginOptions>(OPTIONS_SCHEMA, options ?? {}, "options of @ferry/provider-azure");
}
