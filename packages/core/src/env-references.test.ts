import { describe, expect, it } from "vitest";
import { envReferences, resolveEnvReferences, runEnv } from "./env-references.js";
import { isFerryError } from "./errors.js";

describe("env references", () => {
  const env = { TOKEN: "{{ secret.api_token }}", URL: "https://{{var.HOST}}/v1?k={{ secret.api_token }}", PLAIN: "x", N: 3, BAD: "{{ other.X }}" };

  it("finds the names an env refers to, once each", () => {
    expect(envReferences(env)).toEqual({ variables: ["HOST"], secrets: ["api_token"] });
    expect(envReferences(null)).toEqual({ variables: [], secrets: [] });
  });

  it("resolves only the entries with references, inside longer values too", () => {
    const values = { variables: new Map([["HOST", "api.example.com"]]), secrets: new Map([["api_token", "s3cr3t-value"]]) };
    expect(resolveEnvReferences(env, values)).toEqual({ TOKEN: "s3cr3t-value", URL: "https://api.example.com/v1?k=s3cr3t-value" });
  });

  it("names every missing variable and secret, and how to set them", () => {
    let error: unknown;
    try {
      resolveEnvReferences(env, { variables: new Map(), secrets: new Map() });
    } catch (e) {
      error = e;
    }
    expect(isFerryError(error, "validation_failed")).toBe(true);
    expect((error as Error).message).toBe(
      "env refers to variable 'HOST', secret 'api_token', which do not exist in this workspace; set them with 'ferry variable set NAME VALUE' or 'ferry secret set NAME'",
    );
  });

  it("takes the run's own env entries over its deployment's", () => {
    expect(runEnv({ env: { A: "1", B: "2" } }, { env: { B: "3" } })).toEqual({ A: "1", B: "3" });
    expect(runEnv({}, {})).toEqual({});
  });
});
