import { plainField, secretField, type CredentialType } from "@ferry/core";

/** The `aws` credentials type: an access key of an IAM user (or temporary credentials with a session token). */
export const AWS_CREDENTIAL_TYPE: CredentialType = {
  type: "aws",
  description: "An AWS access key, used by ecs:push pools.",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["aws_access_key_id", "aws_secret_access_key"],
    properties: {
      aws_access_key_id: plainField("Access key id (AKIA…)"),
      aws_secret_access_key: secretField("Secret access key"),
      aws_session_token: secretField("Session token, for temporary credentials"),
      region_name: plainField("Default region, e.g. us-east-1"),
    },
  },
};
