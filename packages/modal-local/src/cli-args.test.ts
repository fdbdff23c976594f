import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./cli-args.js";

describe("parseCliArgs", () => {
  it("takes the token from the environment, never the command line", () => {
    const options = parseCliArgs(["--port", "9000", "--image-layers", "record", "--no-docker", "--environment", "main", "--environment", "dev"], { MODAL_LOCAL_TOKEN_ID: "ak-abc", MODAL_LOCAL_TOKEN_SECRET: "as-def" });
    expect(options).toEqual({ port: 9000, imageLayers: "record", docker: null, environments: ["main", "dev"], token: { tokenId: "ak-abc", tokenSecret: "as-def" } });
  });

  it("refuses half a token and unknown flags", () => {
    expect(() => parseCliArgs([], { MODAL_LOCAL_TOKEN_ID: "ak-abc" })).toThrow(/both MODAL_LOCAL_TOKEN_ID and MODAL_LOCAL_TOKEN_SECRET/);
    expect(() => parseCliArgs(["--token-secret", "x"], {})).toThrow();
  });

  it("defaults to port 8989 and a token made at start", () => {
    expect(parseCliArgs([], {})).toEqual({ port: 8989 });
  });
});
