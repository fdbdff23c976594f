import { plainField, secretField, type CredentialType } from "@ferry/core";

/** The `azure` credentials type: a service principal's client secret (what Prefect's ACI worker calls `aci_credentials`). */
export const AZURE_CREDENTIAL_TYPE: CredentialType = {
  type: "azure",
  description: "An Azure service principal (client secret), used by azure-container-instance:push pools.",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["tenant_id", "client_id", "client_secret"],
    properties: {
      tenant_id: plainField("Directory (tenant) id of the service principal"),
      client_id: plainField("Application (client) id of the app registration"),
      client_secret: secretField("Client secret of the app registration"),
      subscription_id: plainField("Default subscription id, when the subscription_id job variable is unset"),
    },
  },
};
