import { describe, expect, it } from "vitest";
import { findModalToken, type TokenSources } from "./modal-token.js";

const TOML = `
[work]
token_id = "ak-work"
token_secret = "as-work"
environment = "prod"

[home]
token_id = "ak-home"
token_secret = "as-home"
active = true
`;

const sources = (env: Record<string, string> = {}, text: string | null = TOML): TokenSources => ({ env, configPath: "/home/u/.modal.toml", readConfig: () => text });

describe("findModalToken", () => {
  it("takes MODAL_TOKEN_ID / MODAL_TOKEN_SECRET first", () => {
    expect(findModalToken(sources({ MODAL_TOKEN_ID: "ak-env", MODAL_TOKEN_SECRET: "as-env" }))).toEqual({
      token: { tokenId: "ak-env", tokenSecret: "as-env" },
      source: "MODAL_TOKEN_ID / MODAL_TOKEN_SECRET",
      environment: null,
    });
  });

  it("else the active profile of ~/.modal.toml", () => {
    expect(findModalToken(sources())).toEqual({ token: { tokenId: "ak-home", tokenSecret: "as-home" }, source: "profile 'home' of /home/u/.modal.toml", environment: null });
  });

  it("a named profile (option or MODAL_PROFILE), with its environment", () => {
    expect(findModalToken(sources(), "work")).toMatchObject({ token: { tokenId: "ak-work" }, environment: "prod" });
    expect(findModalToken(sources({ MODAL_PROFILE: "work" }))).toMatchObject({ token: { tokenId: "ak-work" } });
  });

  it("explains how to make a token when there is none, never echoing a secret", () => {
    expect(() => findModalToken(sources({}, null))).toThrow(/modal token new/);
    expect(() => findModalToken(sources({ MODAL_TOKEN_ID: "ak-x" }))).toThrow(/MODAL_TOKEN_SECRET is not set/);
    expect(() => findModalToken(sources({}, TOML), "nope")).toThrow(/no profile 'nope' \(profiles: work, home\)/);
    expect(() => findModalToken(sources({}, `[a]\ntoken_id = "x"\n`))).toThrow(/no token_id and token_secret/);
  });

  it("says which profile to activate when several are there and none is active", () => {
    expect(() => findModalToken(sources({}, `[a]\ntoken_id="1"\ntoken_secret="2"\n[b]\ntoken_id="3"\ntoken_secret="4"\n`))).toThrow(/modal profile activate/);
  });

  it("names a broken file", () => {
    expect(() => findModalToken(sources({}, "[a\n"))).toThrow(/not valid TOML/);
  });
});
