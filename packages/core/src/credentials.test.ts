import { describe, expect, it } from "vitest";
import {
  CredentialTypeRegistry,
  assertGitCredentialsFor,
  gitHost,
  GIT_CREDENTIAL_TYPE,
  SECRET_MASK,
  maskCredentialData,
  plainField,
  secretField,
  secretFields,
  splitSecrets,
  validateCredentialData,
  type CredentialType,
} from "./credentials.js";
import { isFerryError, type FerryError, type ValidationIssue } from "./errors.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(isFerryError(error)).toBe(true);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

/** A cloud's key pair as a plugin would contribute it: one plain id, two secrets, one optional plain field. */
const KEYPAIR: CredentialType = {
  type: "keypair",
  description: "A key id and secret, for tests",
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["key_id", "key_secret"],
    properties: {
      key_id: plainField("Key id"),
      key_secret: secretField("Key secret"),
      session_token: secretField("Session token"),
      region: plainField("Default region"),
    },
  },
};

const VALID: Record<string, Record<string, string>> = {
  keypair: { key_id: "KID", key_secret: "keypair-secret-value", session_token: "keypair-session-value", region: "eu-west-1" },
  git: { token: "ghp_secretvalue", username: "bot" },
};

const SECRETS: Record<string, string[]> = { keypair: ["key_secret", "session_token"], git: ["token"] };

const types = new CredentialTypeRegistry([KEYPAIR]);
const typeOf = (name: string) => types.get(name);

describe("CredentialTypeRegistry", () => {
  it("has git built in, plus what plugins contribute", () => {
    expect(new CredentialTypeRegistry().names()).toEqual(["git"]);
    expect(types.names()).toEqual(["git", "keypair"]);
    expect(types.get("git")).toBe(GIT_CREDENTIAL_TYPE);
    expect(types.list().map((t) => t.type)).toEqual(["git", "keypair"]);
  });

  it.each(Object.entries(SECRETS))("marks the secret fields of %s", (type, fields) => {
    expect(secretFields(typeOf(type))).toEqual(fields);
  });

  it("refuses an unknown type, listing the known ones and where types come from", () => {
    const error = thrown(() => types.get("keypair-v2"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe(
      "credentials type 'keypair-v2' is not known on this server; use one of git, keypair (a cloud's type comes with its provider plugin, see FERRY_PROVIDERS)",
    );
    expect(thrown(() => types.get(undefined)).message).toMatch(/^credentials type 'undefined' is not known/);
  });

  // The type comes from a request body; an Object member must be refused like any unknown type,
  // not found on the prototype and crash later with a TypeError (a 500 instead of a 400).
  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])("refuses the type %s", (type) => {
    expect(thrown(() => types.get(type)).code).toBe("validation_failed");
    expect(thrown(() => types.validate(type, { a: "b" })).code).toBe("validation_failed");
  });

  it("takes the same type from two plugins, and refuses a different one of the same name", () => {
    const registry = new CredentialTypeRegistry();
    registry.register(KEYPAIR, "@acme/one");
    registry.register(structuredClone(KEYPAIR), "@acme/two");
    const other = { ...KEYPAIR, description: "another" };
    const error = thrown(() => registry.register(other, "@acme/three"));
    expect(error.code).toBe("conflict");
    expect(error.message).toBe("credentials type 'keypair' is registered twice with different fields (plugin @acme/three and @acme/one); remove one of the plugins");
    expect(thrown(() => registry.register({ ...GIT_CREDENTIAL_TYPE, description: "mine" }, "@acme/git")).message).toMatch(/and it is built in/);
  });

  it("refuses a malformed type, naming the plugin", () => {
    const registry = new CredentialTypeRegistry();
    expect(thrown(() => registry.register({ ...KEYPAIR, type: "Key Pair" }, "@acme/p")).message).toBe(
      "plugin @acme/p: credentials type 'Key Pair' must be lower-case letters, digits and hyphens, starting with a letter",
    );
    expect(thrown(() => registry.register({ ...KEYPAIR, schema: { type: "string" } as never }, "@acme/p")).message).toMatch(/needs a JSON Schema of type object/);
    const numericSecret = { ...KEYPAIR, schema: { ...KEYPAIR.schema, properties: { pin: { type: "integer", "x-ferry-secret": true } } } };
    expect(thrown(() => registry.register(numericSecret, "@acme/p")).message).toBe("plugin @acme/p: credentials type 'keypair': secret field 'pin' must be a string");
    expect(registry.has("keypair")).toBe(false);
  });
});

describe("validateCredentialData", () => {
  it.each(Object.entries(VALID))("accepts a complete %s document", (type, data) => {
    expect(validateCredentialData(typeOf(type), data)).toEqual(data);
    expect(types.validate(type, data)).toEqual(data);
  });

  it("accepts a document with only the required fields", () => {
    expect(types.validate("keypair", { key_id: "K", key_secret: "s" })).toEqual({ key_id: "K", key_secret: "s" });
  });

  it("lists every missing, unknown, empty and mistyped field", () => {
    const error = thrown(() => types.validate("keypair", { key_id: "", zone: "eu-west-1", session_token: 5 }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^keypair credentials fields are invalid: /);
    expect((error.details as { issues: ValidationIssue[] }).issues).toEqual(
      expect.arrayContaining([
        { path: "", message: "must have required property 'key_secret'" },
        { path: "/zone", message: "is not a known field" },
        { path: "/key_id", message: "must NOT have fewer than 1 characters" },
        { path: "/session_token", message: "must be string" },
      ]),
    );
  });

  it("refuses a document that is not an object", () => {
    expect(thrown(() => types.validate("git", "ghp_x")).message).toBe("git credentials fields are invalid: must be object");
    expect(thrown(() => types.validate("git", undefined)).code).toBe("validation_failed");
  });

  it("refuses an unknown type before looking at the data", () => {
    expect(thrown(() => types.validate("github", { token: "x" })).message).toMatch(/^credentials type 'github' is not known/);
  });

  it("returns a copy", () => {
    const data = { token: "t" };
    expect(types.validate("git", data)).not.toBe(data);
  });
});

describe("maskCredentialData", () => {
  it.each(Object.entries(VALID))("masks every secret of %s and nothing else", (type, data) => {
    const masked = maskCredentialData(typeOf(type), data);
    const secrets = SECRETS[type]!;
    for (const [k, v] of Object.entries(data)) expect(masked[k]).toBe(secrets.includes(k) ? SECRET_MASK : v);
    expect(Object.keys(masked)).toEqual(Object.keys(data));
  });

  it.each(Object.entries(VALID))("never lets a %s secret value out", (type, data) => {
    const text = JSON.stringify(maskCredentialData(typeOf(type), data));
    for (const field of SECRETS[type]!) expect(text).not.toContain(data[field]!);
  });

  it("gives away nothing of a secret's length", () => {
    expect(maskCredentialData(GIT_CREDENTIAL_TYPE, { token: "x" }).token).toBe("********");
    expect(maskCredentialData(GIT_CREDENTIAL_TYPE, { token: "x".repeat(500) }).token).toBe("********");
  });

  it("does not modify the document", () => {
    const data = { ...VALID.keypair! };
    maskCredentialData(KEYPAIR, data);
    expect(data).toEqual(VALID.keypair);
  });
});

describe("splitSecrets", () => {
  it("puts secret fields apart from the rest", () => {
    expect(splitSecrets(KEYPAIR, VALID.keypair!)).toEqual({
      plain: { key_id: "KID", region: "eu-west-1" },
      secrets: { key_secret: "keypair-secret-value", session_token: "keypair-session-value" },
    });
  });

  it("loses no field and puts none in both parts", () => {
    for (const [type, data] of Object.entries(VALID)) {
      const { plain, secrets } = splitSecrets(typeOf(type), data);
      expect({ ...plain, ...secrets }).toEqual(data);
      expect(Object.keys(plain).filter((k) => k in secrets)).toEqual([]);
      expect(JSON.stringify(plain)).not.toMatch(/secret-value|secretvalue|session-value/);
    }
  });

  it("gives an empty part when there is nothing for it", () => {
    expect(splitSecrets(GIT_CREDENTIAL_TYPE, { token: "t" })).toEqual({ plain: {}, secrets: { token: "t" } });
    expect(splitSecrets(GIT_CREDENTIAL_TYPE, { username: "u" })).toEqual({ plain: { username: "u" }, secrets: {} });
  });
});

describe("git credentials bound to a host", () => {
  it("reads the host of https, ssh and scp-like URLs", () => {
    expect(gitHost("https://GitHub.com/acme/flows.git")).toBe("github.com");
    expect(gitHost("http://127.0.0.1:8080/r.git")).toBe("127.0.0.1:8080");
    expect(gitHost("ssh://git@gitlab.example:2222/a/b.git")).toBe("gitlab.example:2222");
    expect(gitHost("git@github.com:acme/flows.git")).toBe("github.com");
    expect(gitHost("not a url")).toBe("");
  });

  it("sends bound credentials only to their host, whoever asks", () => {
    expect(() => assertGitCredentialsFor("https://github.com/a/b.git", { host: "GitHub.com" }, "gh", "deployer")).not.toThrow();
    expect(() => assertGitCredentialsFor("https://github.com:443/a/b.git", { host: "github.com" }, "gh", "deployer")).not.toThrow();
    const elsewhere = thrown(() => assertGitCredentialsFor("https://evil.example/a/b.git", { host: "github.com" }, "gh", "admin"));
    expect(elsewhere.code).toBe("validation_failed");
    expect(elsewhere.message).toMatch(/'gh' may only be sent to github\.com, and source\.git_url is on evil\.example/);
  });

  it("leaves unbound credentials to admins", () => {
    expect(() => assertGitCredentialsFor("https://anywhere.example/a.git", {}, "old", "admin")).not.toThrow();
    for (const role of ["deployer", "runner", "viewer"] as const) {
      const refused = thrown(() => assertGitCredentialsFor("https://github.com/a/b.git", {}, "old", role));
      expect(refused.code).toBe("forbidden");
      expect(refused.message).toMatch(/only an admin may use them/);
    }
  });
});
