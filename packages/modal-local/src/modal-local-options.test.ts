import { describe, expect, it } from "vitest";
import { ModalLocalOptionsError, resolveModalLocalOptions, type ModalLocalOptions } from "./modal-local-options.js";

describe("resolveModalLocalOptions", () => {
  it("fills in the defaults", () => {
    expect(resolveModalLocalOptions()).toMatchObject({ host: "127.0.0.1", port: 0, network: "host", imageLayers: "build", environments: ["main"], terminateGraceSeconds: 10, sandboxEnvironment: {} });
  });

  it("names the bad option", () => {
    const bad: [ModalLocalOptions, RegExp][] = [
      [{ port: 70000 }, /port must be/],
      [{ network: "overlay" as ModalLocalOptions["network"] }, /network must be/],
      [{ token: { tokenId: "abc", tokenSecret: "as-x" } }, /token.tokenId/],
      [{ token: { tokenId: "ak-x", tokenSecret: "secret" } }, /token.tokenSecret/],
      [{ environments: [] }, /at least one environment/],
      [{ environments: ["bad name"] }, /environment names/],
      [{ terminateGraceSeconds: -1 }, /terminateGraceSeconds/],
      [{ imageLayers: "skip" as ModalLocalOptions["imageLayers"] }, /imageLayers/],
    ];
    for (const [options, message] of bad) {
      expect(() => resolveModalLocalOptions(options)).toThrow(ModalLocalOptionsError);
      expect(() => resolveModalLocalOptions(options)).toThrow(message);
    }
  });
});
