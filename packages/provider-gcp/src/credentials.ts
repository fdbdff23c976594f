import { FerryError, plainField, secretField, type CredentialType } from "@ferry/core";

/**
 * The `gcp` credentials type: a service account's key, field for field as Google's key file has it, so
 * `ferry credentials create NAME --type gcp --from-file key.json` stores a downloaded key as it is.
 * Only `private_key` is secret (the rest is in the account's public metadata).
 */
export const GCP_CREDENTIAL_TYPE: CredentialType = {
  type: "gcp",
  description: "A Google Cloud service-account key (the JSON key file's fields), used by cloud-run:push pools.",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["client_email", "private_key"],
    properties: {
      type: plainField("Key type: service_account"),
      project_id: plainField("Project the key belongs to (the default project of the pool's jobs)"),
      private_key_id: plainField("Id of the key"),
      private_key: secretField("The key's PEM private key"),
      client_email: plainField("Service account email, e.g. ferry-cloud-run@PROJECT.iam.gserviceaccount.com"),
      client_id: plainField("Numeric id of the service account"),
      auth_uri: plainField("OAuth authorization URI of the key file"),
      token_uri: plainField("OAuth token URI of the key file"),
      auth_provider_x509_cert_url: plainField("From the key file"),
      client_x509_cert_url: plainField("From the key file"),
      universe_domain: plainField("From the key file: googleapis.com"),
    },
  },
};

/** A service-account key, as google-auth-library reads one. */
export interface ServiceAccountKey {
  type: "service_account";
  project_id?: string;
  private_key_id?: string;
  private_key: string;
  client_email: string;
  token_uri?: string;
}

/** The pool's credentials as a key; a document that is not one is refused with the fix. */
export function serviceAccountKeyFrom(credentials: Record<string, string>): ServiceAccountKey {
  const { client_email, private_key } = credentials;
  if (!client_email || !private_key || (credentials.type && credentials.type !== "service_account")) {
    throw new FerryError(
      "provider_auth",
      "the pool's gcp credentials are not a service-account key: store the key file with 'ferry credentials create NAME --type gcp --from-file key.json'",
      { retryable: false },
    );
  }
  return {
    type: "service_account",
    client_email,
    // A key pasted through a shell often carries literal "\n" instead of newlines.
    private_key: private_key.includes("\\n") ? private_key.replace(/\\n/g, "\n") : private_key,
    ...(credentials.project_id ? { project_id: credentials.project_id } : {}),
    ...(credentials.private_key_id ? { private_key_id: credentials.private_key_id } : {}),
    ...(credentials.token_uri ? { token_uri: credentials.token_uri } : {}),
  };
}

/** The key as credentials of the `gcp` type (what provisioning stores). */
export function credentialsFromKey(key: Record<string, unknown>): Record<string, string> {
  const fields = Object.keys(GCP_CREDENTIAL_TYPE.schema.properties);
  return Object.fromEntries(fields.filter((f) => typeof key[f] === "string" && key[f] !== "").map((f) => [f, key[f] as string]));
}
