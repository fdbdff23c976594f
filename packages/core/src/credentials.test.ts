import { describe, expect, it } from "vitest";
import {
  CREDENTIAL_TYPES,
  CREDENTIAL_TYPE_NAMES,
  SECRET_MASK,
  credentialType,
  maskCredentialData,
  secretFields,
  splitSecrets,
  validateCredentialData,
} from "./credentials.js";
import { FerryError, type ValidationIssue } from "./errors.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

const VALID: Record<string, Record<string, string>> = {
  aws: { aws_access_key_id: "AKIAEXAMPLE", aws_secret_access_key: "aws-secret-value", aws_session_token: "aws-session-value", region_name: "eu-west-1" },
  gcp: { service_account_info: '{"type":"service_account","private_key":"gcp-secret-value"}', project: "acme-prod" },
  azure: { tenant_id: "tenant", client_id: "client", client_secret: "azure-secret-value", subscription_id: "sub" },
  modal: { token_id: "ak-123", token_secret: "as-secret-value" },
  git: { token: "ghp_secretvalue", username: "bot" },
};

const SECRETS: Record<string, string[]> = {
  aws: ["aws_secret_access_key", "aws_session_token"],
  gcp: ["service_account_info"],
  azure: ["client_secret"],
  modal: ["token_secret"],
  git: ["token"],
};

describe("credential types", () => {
  it("knows the five types", () => {
    expect(CREDENTIAL_TYPE_NAMES).toEqual(["aws", "gcp", "azure", "modal", "git"]);
    for (const name of CREDENTIAL_TYPE_NAMES) expect(CREDENTIAL_TYPES[name]!.type).toBe(name);
  });

  it.each(Object.entries(SECRETS))("marks the secret fields of %s", (type, fields) => {
    expect(secretFields(credentialType(type))).toEqual(fields);
  });

  it("refuses an unknown type, listing the known ones", () => {
    const error = thrown(() => credentialType("aws-keys"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("credentials type 'aws-keys' is not known; use one of aws, gcp, azure, modal, git");
    expect(thrown(() => credentialType(undefined)).message).toBe("credentials type 'undefined' is not known; use one of aws, gcp, azure, modal, git");
  });

  // The type comes from a request body; an Object member must be refused like any unknown type,
  // not found on the prototype and crash later with a TypeError (a 500 instead of a 400).
  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])("refuses the type %s", (type) => {
    expect(thrown(() => credentialType(type)).message).toBe(`credentials type '${type}' is not known; use one of aws, gcp, azure, modal, git`);
    expect(thrown(() => maskCredentialData(type, { a: "b" })).code).toBe("validation_failed");
    expect(thrown(() => validateCredentialData(type, { a: "b" })).code).toBe("validation_failed");
  });
});

describe("validateCredentialData", () => {
  it.each(Object.entries(VALID))("accepts a complete %s document", (type, data) => {
    expect(validateCredentialData(type, data)).toEqual(data);
  });

  it("accepts a document with only the required fields", () => {
    expect(validateCredentialData("aws", { aws_access_key_id: "AKIA", aws_secret_access_key: "s" })).toEqual({
      aws_access_key_id: "AKIA",
      aws_secret_access_key: "s",
    });
  });

  it("lists every missing, unknown, empty and mistyped field", () => {
    const error = thrown(() => validateCredentialData("aws", { aws_access_key_id: "", region: "eu-west-1", aws_session_token: 5 }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^aws credentials fields are invalid: /);
    expect((error.details as { issues: ValidationIssue[] }).issues).toEqual(
      expect.arrayContaining([
        { path: "", message: "must have required property 'aws_secret_access_key'" },
        { path: "/region", message: "is not a known field" },
        { path: "/aws_access_key_id", message: "must NOT have fewer than 1 characters" },
        { path: "/aws_session_token", message: "must be string" },
      ]),
    );
  });

  it("refuses a document that is not an object", () => {
    expect(thrown(() => validateCredentialData("git", "ghp_x")).message).toBe("git credentials fields are invalid: must be object");
    expect(thrown(() => validateCredentialData("git", undefined)).code).toBe("validation_failed");
  });

  it("refuses an unknown type before looking at the data", () => {
    expect(thrown(() => validateCredentialData("github", { token: "x" })).message).toMatch(/^credentials type 'github' is not known/);
  });

  it("returns a copy", () => {
    const data = { token: "t" };
    const out = validateCredentialData("git", data);
    expect(out).not.toBe(data);
  });
});

describe("maskCredentialData", () => {
  it.each(Object.entries(VALID))("masks every secret of %s and nothing else", (type, data) => {
    const masked = maskCredentialData(type, data);
    const secrets = SECRETS[type]!;
    for (const [k, v] of Object.entries(data)) expect(masked[k]).toBe(secrets.includes(k) ? SECRET_MASK : v);
    expect(Object.keys(masked)).toEqual(Object.keys(data));
  });

  it.each(Object.entries(VALID))("never lets a %s secret value out", (type, data) => {
    const text = JSON.stringify(maskCredentialData(type, data));
    for (const field of SECRETS[type]!) expect(text).not.toContain(data[field]!);
  });

  it("gives away nothing of a secret's length", () => {
    expect(maskCredentialData("git", { token: "x" }).token).toBe("********");
    expect(maskCredentialData("git", { token: "x".repeat(500) }).token).toBe("********");
  });

  it("does not modify the document", () => {
    const data = { ...VALID.modal! };
    maskCredentialData("modal", data);
    expect(data).toEqual(VALID.modal);
  });
});

describe("splitSecrets", () => {
  it("puts secret fields apart from the rest", () => {
    expect(splitSecrets("aws", VALID.aws!)).toEqual({
      plain: { aws_access_key_id: "AKIAEXAMPLE", region_name: "eu-west-1" },
      secrets: { aws_secret_access_key: "aws-secret-value", aws_session_token: "aws-session-value" },
    });
  });

  it("loses no field and puts none in both parts", () => {
    for (const [type, data] of Object.entries(VALID)) {
      const { plain, secrets } = splitSecrets(type, data);
      expect({ ...plain, ...secrets }).toEqual(data);
      expect(Object.keys(plain).filter((k) => k in secrets)).toEqual([]);
      expect(JSON.stringify(plain)).not.toMatch(/secret-value|secretvalue/);
    }
  });

  it("gives an empty part when there is nothing for it", () => {
    expect(splitSecrets("git", { token: "t" })).toEqual({ plain: {}, secrets: { token: "t" } });
    expect(splitSecrets("git", { username: "u" })).toEqual({ plain: { username: "u" }, secrets: {} });
  });
});
