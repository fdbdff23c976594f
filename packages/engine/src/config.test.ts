import { describe, expect, it } from "vitest";
import { parseEngineConfig } from "./config.js";
import { EngineError } from "./errors.js";

const paths = { scratchRoot: "/tmp", shimDir: "/opt/ferry/engine/shims" };
const RUN_ID = "0197a3b2-1c2d-7e8f-9a0b-1c2d3e4f5a6b";

describe("parseEngineConfig", () => {
  it("reads the engine's variables and keeps the whole environment for the flow", () => {
    const config = parseEngineConfig(
      { FERRY_API_URL: "http://10.0.0.5:4200/", FERRY_FLOW_RUN_ID: RUN_ID, FERRY_RUN_TOKEN: "frt_abc.def", FERRY_CACHE_DIR: "/ferry/cache", DB_URL: "x" },
      paths,
    );
    expect(config).toMatchObject({ apiUrl: "http://10.0.0.5:4200", flowRunId: RUN_ID, credential: { kind: "run-token", token: "frt_abc.def" }, cacheDir: "/ferry/cache", python: "python3" });
    expect(config.env.DB_URL).toBe("x");
  });

  it("has no cache when FERRY_CACHE_DIR is unset or empty", () => {
    const config = parseEngineConfig({ FERRY_API_URL: "http://h:1", FERRY_FLOW_RUN_ID: RUN_ID, FERRY_RUN_TOKEN: "t", FERRY_CACHE_DIR: "" }, paths);
    expect(config.cacheDir).toBeNull();
  });

  it("takes a bootstrap token to exchange when no run token is given", () => {
    const config = parseEngineConfig({ FERRY_API_URL: "http://h:1", FERRY_FLOW_RUN_ID: RUN_ID, FERRY_BOOTSTRAP_TOKEN: "frb_x" }, paths);
    expect(config.credential).toEqual({ kind: "bootstrap", token: "frb_x" });
  });

  it("names every problem at once, and never echoes the token", () => {
    let error: unknown;
    try {
      parseEngineConfig({ FERRY_API_URL: "ftp://h", FERRY_FLOW_RUN_ID: "42", FERRY_CACHE_DIR: "cache" }, paths);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    const message = (error as EngineError).message;
    expect((error as EngineError).code).toBe("invalid_config");
    expect(message).toContain("FERRY_API_URL 'ftp://h' is not an http(s) URL");
    expect(message).toContain("FERRY_FLOW_RUN_ID '42' is not a flow run id");
    expect(message).toContain("FERRY_BOOTSTRAP_TOKEN (or FERRY_RUN_TOKEN) is not set");
    expect(message).toContain("FERRY_CACHE_DIR 'cache' must be an absolute path");
  });
});
