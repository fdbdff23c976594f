import { plainField, secretField, type CredentialType } from "@ferry/core";

/** The `modal` credentials type: a Modal token (`modal token new`, or Settings → API Tokens). */
export const MODAL_CREDENTIAL_TYPE: CredentialType = {
  type: "modal",
  description: "A Modal token (token id and secret), used by modal:push pools.",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["token_id", "token_secret"],
    properties: {
      token_id: plainField("Token id (ak-…)"),
      token_secret: secretField("Token secret (as-…)"),
    },
  },
};

/** A pool's `modal` credentials as the SDK takes them. */
export interface ModalToken {
  tokenId: string;
  tokenSecret: string;
}

export function modalTokenFrom(credentials: Record<string, string> | null): ModalToken | null {
  if (!credentials?.token_id || !credentials.token_secret) return null;
  return { tokenId: credentials.token_id, tokenSecret: credentials.token_secret };
}
