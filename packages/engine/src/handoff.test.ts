import { Readable } from "node:stream";
import { encodeEngineHandoff } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { isEngineError } from "./errors.js";
import { readHandoff } from "./handoff.js";

describe("readHandoff", () => {
  it("reads the run's environment from the first line", async () => {
    const env = { FERRY_FLOW_RUN_ID: "r", FERRY_BOOTSTRAP_TOKEN: "secret", USER_VAR: "x y\nz" };
    const input = Readable.from([encodeEngineHandoff(env).slice(0, 10), encodeEngineHandoff(env).slice(10), "ignored\n"]);
    expect(await readHandoff(input)).toEqual(env);
  });

  it("is null when stdin ends before any hand-off", async () => {
    expect(await readHandoff(Readable.from(["\n"]))).toBeNull();
  });

  it("refuses a line that is not a hand-off, without echoing it", async () => {
    const error = await readHandoff(Readable.from(['{"env": {"T": "secret-token"}}\n'])).then(() => null, (e: unknown) => e);
    expect(isEngineError(error, "invalid_config")).toBe(true);
    expect(String(error)).not.toContain("secret-token");
  });
});
